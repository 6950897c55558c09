"""The signals found on a work, recorded at registration and read back, on SQLite and
PostgreSQL: every field kept, a record replaced as a whole, and only the work's owner
writing it (guarantee 7)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select

from consentry.crypto import KeyPair
from consentry.errors import NotFoundError, PermissionDeniedError
from consentry.fingerprint import fingerprint_bytes
from consentry.registry import FileFingerprint, PartyKind, Registry
from consentry.signals import Problem, Reservation, Signal, Source, Statement
from consentry.store import migrate
from consentry.store.engine import _alembic_config
from consentry.store.models import WorkSignalRow
from consentry.terms import Category, Permission, Price, PriceUnit
from tests.conftest import LICENSES, Actor

ROBOTS = Source(Signal.CONTENT_USAGE_ROBOTS, "https://example.org/robots.txt line 2")
META = Source(Signal.ROBOTS_META, '/essays/one.html <meta name="GPTBot"> line 4')
SAID = Reservation(
    (
        Statement(Category.TRAIN_AI, Permission.DENY, ROBOTS, "train-ai=n"),
        Statement(Category.TRAIN_OTHER, Permission.DENY, META, "noai", agent="GPTBot"),
        Statement(
            Category.DATA_MINING,
            Permission.LICENSE,
            Source(Signal.TDMREP_JSON, "https://example.org/.well-known/tdmrep.json rule 1"),
            "tdm-reservation: 1",
            licence="https://example.org/policy.json",
            price=Price(PriceUnit.THOUSAND_TOKENS, Decimal("0.05"), "EUR"),
        ),
        Statement(Category.TRAIN_AI, Permission.DENY, ROBOTS, "train-genai=n", outdated=True),
    ),
    (Problem(Source(Signal.AI_TXT, "https://example.org/ai.txt"), "line 3 cannot be read"),),
)


def _work(registry: Registry, owner: Actor, name: str = "GPL-3") -> str:
    printed = fingerprint_bytes(name, (LICENSES / name).read_bytes())
    (registered,) = registry.works.register(owner.id, owner.key, [FileFingerprint(name, printed)])
    return registered.work.id


def test_recorded_signals_read_back_as_they_were_found(registry: Registry, make_owner) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    work_id = _work(registry, owner)
    assert not registry.works.signals.get(work_id).reservation

    registry.works.signals.record(owner.id, owner.key, {work_id: SAID})

    recorded = registry.works.signals.get(work_id)
    assert recorded.reservation == SAID
    assert recorded.recorded_at is not None
    # Read back as the signals were: the deciding statement and the terms they state.
    assert recorded.reservation.deciding(Category.TRAIN_OTHER) == SAID.statements[1]
    assert recorded.reservation.to_terms() == SAID.to_terms()
    assert recorded.to_json()["statements"] == SAID.to_json()["statements"]


def test_a_record_is_replaced_as_a_whole(registry: Registry, make_owner) -> None:  # type: ignore[no-untyped-def]
    owner = make_owner()
    first, second = _work(registry, owner, "GPL-3"), _work(registry, owner, "MPL-2.0")
    signals = registry.works.signals
    signals.record(owner.id, owner.key, {first: SAID, second: SAID})

    fewer = Reservation(SAID.statements[:1])
    signals.record(owner.id, owner.key, {first: fewer})
    assert signals.get(first).reservation == fewer
    assert signals.get(second).reservation == SAID, "another work's record is kept"

    signals.record(owner.id, owner.key, {first: Reservation()})
    assert not signals.get(first).reservation
    assert set(signals.many([first, second])) == {second}


def test_only_the_works_owner_records_its_signals(registry: Registry, make_owner) -> None:  # type: ignore[no-untyped-def]
    ada, eve = make_owner("Ada"), make_owner("Eve")
    ada_work, eve_work = _work(registry, ada, "GPL-3"), _work(registry, eve, "MPL-2.0")
    signals = registry.works.signals

    with pytest.raises(PermissionDeniedError, match="only its owner"):
        signals.record(eve.id, eve.key, {eve_work: SAID, ada_work: Reservation()})
    with pytest.raises(PermissionDeniedError, match="does not belong"):
        signals.record(ada.id, eve.key, {ada_work: SAID})
    with pytest.raises(NotFoundError, match="register it before"):
        signals.record(ada.id, ada.key, {"wrk_nosuchwork000000": SAID})
    # Refused whole: not even the refusing owner's own work changed.
    assert not signals.get(eve_work).reservation
    with pytest.raises(NotFoundError, match="no work"):
        signals.get("wrk_nosuchwork000000")


def test_the_migration_adds_and_removes_the_table(engine: Engine) -> None:
    migrate(engine)
    assert "work_signals" in inspect(engine).get_table_names()
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    assert "work_signals" not in inspect(engine).get_table_names()
    migrate(engine)
    registry = Registry(engine)
    owner_key = KeyPair.generate()
    owner = registry.parties.create(PartyKind.OWNER, "Ada", owner_key)
    work_id = _work(registry, Actor(owner, owner_key))
    registry.works.signals.record(owner.id, owner_key, {work_id: SAID})
    with engine.connect() as connection:
        rows = connection.execute(select(WorkSignalRow.category, WorkSignalRow.label)).all()
    assert (None, "line 3 cannot be read") in rows and len(rows) == len(SAID.statements) + 1
