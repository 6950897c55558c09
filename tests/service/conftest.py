"""A registry served on loopback by a real uvicorn server in a thread, over SQLite or a
PostgreSQL schema of the test's own, and parties on "other machines": homes and key
folders of their own, that share nothing with the operator but the URL."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from consentry import app
from consentry.api import ServiceOptions, create_app
from consentry.api.protocol import NoDelayProtocol
from consentry.settings import Settings
from tests.conftest import BACKENDS, POSTGRES_URL, _drop_schema, _postgres_engine
from tests.e2e.conftest import Cli

_T = TypeVar("_T")


@dataclass
class Served:
    """A running registry: its URL and its operator's settings."""

    url: str
    settings: Settings
    home: Path

    def party(self, root: Path, name: str) -> Cli:
        """A party's machine: its own home and key folder, the registry only by URL."""
        return Cli(
            root / name / "home",
            keys=root / name / "keys",
            env={"CONSENTRY_REGISTRY": self.url},
        )

    def operator(self) -> Cli:
        """The operator, at the registry's home (its database is the served one)."""
        return Cli(self.home, keys=self.home / "operator-keys", env=self._database_env())

    def _database_env(self) -> dict[str, str]:
        return {"CONSENTRY_DATABASE_URL": self.settings.database_url}


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving(
    settings: Settings,
    options: ServiceOptions | None = None,
    *,
    factory: Callable[[Settings, ServiceOptions], FastAPI] = create_app,
) -> Iterator[str]:
    """Serve the registry ``settings`` name on a free loopback port until the block ends
    (``factory`` makes the application: the API alone, or with the pages)."""
    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        factory(settings, options or ServiceOptions(checkpoint_every=0.2)),
        log_level="warning",
        lifespan="on",
        http=NoDelayProtocol,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the registry did not start serving")
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _database_url(backend: str, home: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{home / 'registry.db'}", None
    assert POSTGRES_URL
    schema = f"consentry_test_{uuid.uuid4().hex[:12]}"
    _postgres_engine(schema).dispose()
    joiner = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{joiner}options={quote(f'-csearch_path={schema}')}", schema


@pytest.fixture(params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """An initialised registry, served; on SQLite, and on PostgreSQL when configured."""
    home = tmp_path / "operator"
    url, schema = _database_url(request.param, home)
    settings = Settings(home=home, database_url=url, keys_dir=home / "operator-keys")
    try:
        with app.Workspace(settings) as ws:
            app.init(ws)
        with serving(settings) as served_url:
            yield Served(served_url, settings, home)
    finally:
        if schema is not None:
            _drop_schema(schema)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def until_published(
    read: Callable[[], _T], done: Callable[[_T], bool], *, within: float = 20
) -> _T:
    """``read()`` once what it reads is published: the served log answers reads from its
    newest signed checkpoint, which the service signs a moment after each change."""
    deadline = time.monotonic() + within
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)
