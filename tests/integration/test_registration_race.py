"""One owner per content, even at once, on SQLite and PostgreSQL.

Regression: two owners registering the same 1,500 files at the same moment both got
nearly all of them (1,498 on SQLite, 1,497 on PostgreSQL), with 2 and 3 disputes: each
read which contents were registered, then inserted its own works. The database now
holds one work per content, and a registration that loses the race reports each file
it lost as the dispute it would have been had it come second.
"""

from __future__ import annotations

import hashlib
import logging
import random
import string
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import Engine, func, select, text

from consentry.crypto import KeyPair
from consentry.fingerprint import fingerprint_bytes
from consentry.registry import (
    FileFingerprint,
    PartyKind,
    Registration,
    RegistrationStatus,
    Registry,
)
from consentry.registry import works as works_module
from consentry.store import current_revision, head_revision, migrate
from consentry.store.engine import _alembic_config
from consentry.store.models import DisputeRow, WorkRow
from tests.conftest import Actor


def _texts(count: int, *, seed: int) -> list[FileFingerprint]:
    """``count`` distinct small texts of about 400 characters (the least registrable
    is 200 normalised characters)."""
    chooser = random.Random(seed)
    files = []
    for n in range(count):
        words = " ".join(
            "".join(chooser.choices(string.ascii_lowercase, k=chooser.randint(2, 9)))
            for _ in range(70)
        )
        data = f"Text {seed}-{n}. {words}.\n".encode()
        files.append(FileFingerprint(f"texts/{seed}-{n}.txt", fingerprint_bytes(f"{n}.txt", data)))
    return files


def _race(registry: Registry, racers: list[tuple[Actor, list[FileFingerprint]]]) -> list[object]:
    """Each racer registers its files in a thread of its own, all let go at once;
    what each got back (its registrations, or what it raised)."""
    barrier = threading.Barrier(len(racers))
    outcomes: list[object] = [None] * len(racers)

    def run(n: int, owner: Actor, files: list[FileFingerprint]) -> None:
        barrier.wait()
        try:
            outcomes[n] = list(registry.works.register(owner.id, owner.key, files))
        except Exception as exc:  # reported to the test, in its own thread
            outcomes[n] = exc

    threads = [
        threading.Thread(target=run, args=(n, owner, files))
        for n, (owner, files) in enumerate(racers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


@pytest.mark.parametrize("order", ["same order", "opposite orders"])
def test_two_owners_racing_for_the_same_content_get_one_owner_and_disputes(
    registry: Registry, make_owner: Callable[[str], Actor], order: str
) -> None:
    ada, bob = make_owner("Ada"), make_owner("Bob")
    shared = _texts(300, seed=1)
    # Each also registers files of its own in the same batch: losing the race for the
    # shared ones loses none of these.
    own = {ada.id: _texts(10, seed=2), bob.id: _texts(10, seed=3)}
    files = {owner.id: [*shared[:150], *own[owner.id], *shared[150:]] for owner in (ada, bob)}
    if order == "opposite orders":
        files[bob.id].reverse()

    outcomes = _race(registry, [(ada, files[ada.id]), (bob, files[bob.id])])

    got: dict[str, dict[str, Registration]] = {}
    for owner, outcome in zip((ada, bob), outcomes, strict=True):
        assert isinstance(outcome, list), f"{owner.id} failed: {outcome!r}"
        assert [r.path for r in outcome] == [f.path for f in files[owner.id]]
        got[owner.id] = {r.path: r for r in outcome}
    for owner in (ada, bob):
        for item in own[owner.id]:
            assert got[owner.id][item.path].status is RegistrationStatus.REGISTERED
    for item in shared:
        first, second = got[ada.id][item.path], got[bob.id][item.path]
        statuses = {first.status, second.status}
        assert statuses == {RegistrationStatus.REGISTERED, RegistrationStatus.DISPUTED}, item.path
        assert first.work.id == second.work.id
        loser = bob if first.status is RegistrationStatus.REGISTERED else ada
        assert got[loser.id][item.path].dispute_id is not None
        assert first.work.owner_id != loser.id
    with registry.engine.connect() as connection:
        works = Counter(connection.scalars(select(WorkRow.digest)))
        disputes = connection.execute(
            select(DisputeRow.digest, DisputeRow.claimant_id, WorkRow.owner_id).join(
                WorkRow, WorkRow.id == DisputeRow.work_id
            )
        ).all()
    assert len(works) == 320 and set(works.values()) == {1}
    assert len(disputes) == 300
    assert {d for d, _, _ in disputes} == {f.fingerprint.digest for f in shared}
    assert all(claimant != owner for _, claimant, owner in disputes)


def _owner(registry: Registry, name: str) -> Actor:
    key = KeyPair.generate()
    return Actor(registry.parties.create(PartyKind.OWNER, name, key), key)


def test_a_registry_holding_content_raced_before_the_rule_upgrades_with_the_first_holding_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A registry made before revision 0004 may hold two owners' works of one content,
    and works whose content normalises to nothing (registered before that was refused).
    Upgraded, every signed work is still there and verifies; the first registered holds
    each content, and a new claim on it is a dispute against that work."""
    migrate(engine)
    registry = Registry(engine)
    ada, bob, cai = (_owner(registry, name) for name in ("Ada", "Bob", "Cai"))
    clashing = _texts(1, seed=4)[0]
    empty = FileFingerprint("empty.txt", fingerprint_bytes("empty.txt", b"\n"))
    # Build what the race left, with the registry of now: Ada's works are registered
    # first and hidden (the old race read before the other's commit), then Bob's.
    monkeypatch.setattr(works_module, "_NOTHING", "refused before, not then")
    ada_works = [r.work for r in registry.works.register(ada.id, ada.key, [clashing, empty])]
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE works SET digest = id, content = NULL WHERE owner_id = :o"),
            {"o": ada.id},
        )
    bob_works = [r.work for r in registry.works.register(bob.id, bob.key, [clashing, empty])]
    assert {r.digest for r in bob_works} == {w.digest for w in ada_works}
    monkeypatch.undo()
    engine.dispose()
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
        for work in ada_works:
            connection.execute(
                text("UPDATE works SET digest = :d WHERE id = :w"),
                {"d": work.digest, "w": work.id},
            )

    with caplog.at_level(logging.WARNING, logger="consentry.store"):
        migrate(engine)
    engine.dispose()

    assert current_revision(engine) == head_revision()
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "consentry.store"]
    assert warning.startswith("1 contents were registered by two owners at once")
    assert f"held by {ada_works[0].id} (owner {ada.id}), not by {bob_works[0].id}" in warning
    with engine.connect() as connection:
        held = dict(connection.execute(select(WorkRow.id, WorkRow.content)).all())
    nothing = hashlib.sha256(b"").hexdigest()
    assert ada_works[1].digest == nothing
    assert held == {
        ada_works[0].id: clashing.fingerprint.digest,
        bob_works[0].id: None,
        ada_works[1].id: None,
        bob_works[1].id: None,
    }
    # Nothing signed was changed: every work loads with its owner's signature.
    assert [w.id for w in registry.works.many([w.id for w in ada_works + bob_works])]
    for work in ada_works + bob_works:
        assert registry.works.get(work.id) == work
    # From now on the rule holds: a third owner's claim is a dispute with the first;
    # each of the two sees its own work; empty content is refused.
    (claim,) = registry.works.register(cai.id, cai.key, [clashing])
    assert claim.status is RegistrationStatus.DISPUTED
    assert claim.work.id == ada_works[0].id
    for owner, works in ((ada, ada_works), (bob, bob_works)):
        (again,) = registry.works.register(owner.id, owner.key, [clashing])
        assert (again.status, again.work.id) == (RegistrationStatus.EXISTING, works[0].id)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(WorkRow)) == 4
