"""Shared fixtures: a registry on SQLite always, and on PostgreSQL when
CONSENTRY_TEST_DATABASE_URL names one (CI sets it). Each test gets its own database or
schema and drops it afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, text

from consentry.crypto import KeyPair
from consentry.registry import Actor as RegistryActor
from consentry.registry import Party, PartyKind, Registry
from consentry.store import migrate, open_engine

settings.register_profile(
    "consentry", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("consentry")

POSTGRES_URL = os.environ.get("CONSENTRY_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


def _postgres_engine(schema: str) -> Engine:
    assert POSTGRES_URL
    admin = open_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return open_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})


def _drop_schema(schema: str) -> None:
    assert POSTGRES_URL
    admin = open_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        made = open_engine(f"sqlite:///{tmp_path / 'registry.db'}")
        yield made
        made.dispose()
        return
    schema = f"consentry_test_{uuid.uuid4().hex[:12]}"
    made = _postgres_engine(schema)
    try:
        yield made
    finally:
        made.dispose()
        _drop_schema(schema)


@pytest.fixture
def registry(engine: Engine) -> Registry:
    migrate(engine)
    return Registry(engine)


class Actor:
    """A party and its private key, for tests that act as someone."""

    def __init__(self, party: Party, key: KeyPair) -> None:
        self.party = party
        self.key = key

    @property
    def id(self) -> str:
        return self.party.id

    @property
    def actor(self) -> RegistryActor:
        """Who the services see: the party and the public key it holds."""
        return RegistryActor(self.party.id, self.party.kind, self.key.public)


@pytest.fixture
def make_owner(registry: Registry):  # type: ignore[no-untyped-def]
    def make(name: str = "Ada") -> Actor:
        key = KeyPair.generate()
        return Actor(registry.parties.create(PartyKind.OWNER, name, key), key)

    return make


@pytest.fixture
def make_licensee(registry: Registry):  # type: ignore[no-untyped-def]
    def make(name: str = "Lab") -> Actor:
        key = KeyPair.generate()
        return Actor(registry.parties.create(PartyKind.LICENSEE, name, key), key)

    return make


STDLIB = Path(os.__file__).parent
LICENSES = Path("/usr/share/common-licenses")


def real_text(name: str = "GPL-3") -> str:
    """A real document from this machine: a licence text, else a stdlib module."""
    path = LICENSES / name
    if path.is_file():
        return path.read_text("utf-8")
    return (STDLIB / "json" / "decoder.py").read_text("utf-8")
