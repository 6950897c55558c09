"""Registering a catalogue in bulk: on PostgreSQL the works, fingerprints and events go
in with ``COPY``, on SQLite row by row; the registry a creator ends with is the same,
and a bad file is refused in one sentence with nothing of its batch written."""

from __future__ import annotations

import dataclasses
import random
import re
import uuid
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from consentry.crypto import KeyPair
from consentry.errors import InputError
from consentry.fingerprint import fingerprint_bytes
from consentry.log import NoteVerifier
from consentry.registry import FileFingerprint, PartyKind, Registration, Registry
from consentry.store import migrate, open_engine
from consentry.store.models import (
    CollectionRow,
    DisputeRow,
    EventRow,
    FingerprintRow,
    LogEntryRow,
    LogSaltRow,
    OwnerRow,
    WorkRow,
)
from tests.conftest import POSTGRES_URL, STDLIB

MODULES = (
    "textwrap.py", "shlex.py", "fnmatch.py", "glob.py", "getopt.py", "bisect.py",
    "colorsys.py", "sched.py", "heapq.py", "keyword.py", "graphlib.py", "stringprep.py",
)  # fmt: skip
ORIGIN = "consentry.test/bulk"


@cache
def _printed(name: str) -> FileFingerprint:
    return FileFingerprint(name, fingerprint_bytes(name, (STDLIB / name).read_bytes()))


def _texts(count: int, seed: int) -> list[FileFingerprint]:
    """``count`` distinct documents of made-up words."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(letters, k=rng.randint(2, 9))) for _ in range(3000)]
    out = []
    for n in range(count):
        body = f"document {seed}-{n}\n" + " ".join(rng.choices(words, k=120))
        out.append(
            FileFingerprint(f"docs/{n:05d}.txt", fingerprint_bytes(f"{n}.txt", body.encode()))
        )
    return out


def _counts(engine: Engine) -> dict[str, int]:
    tables = (WorkRow, FingerprintRow, DisputeRow, EventRow, LogEntryRow, LogSaltRow)
    with engine.connect() as connection:
        return {
            t.__tablename__: int(connection.scalar(select(func.count()).select_from(t)) or 0)
            for t in tables
        }


def _view(engine: Engine) -> dict[str, Any]:
    """The registry's works, fingerprints, disputes and log, with every id (made at
    random) replaced by what it names, so two registries can be compared."""
    with engine.connect() as db:
        owners = {str(i): str(n) for i, n in db.execute(select(OwnerRow.id, OwnerRow.name))}
        works = db.execute(select(WorkRow)).mappings().all()
        names: dict[str, str] = dict(owners)
        names |= {str(w["id"]): f"{owners[w['owner_id']]}:{w['path']}" for w in works}
        collections = db.execute(select(CollectionRow)).mappings().all()
        names |= {str(c["id"]): f"{owners[c['owner_id']]}/{c['name']}" for c in collections}
        disputes = db.execute(select(DisputeRow)).mappings().all()
        names |= {str(d["id"]): f"{owners[d['claimant_id']]}?{d['path']}" for d in disputes}
        prints = db.execute(select(FingerprintRow)).mappings().all()
        events = db.execute(
            select(EventRow.kind, EventRow.actor_id, EventRow.subject_id).order_by(EventRow.seq)
        ).all()
        logged = db.execute(
            select(EventRow.kind)
            .join(LogEntryRow, LogEntryRow.event_seq == EventRow.seq)
            .order_by(LogEntryRow.idx)
        ).all()
    return {
        "works": sorted(
            (
                names[w["id"]],
                w["digest"],
                w["content"],
                w["kind"],
                w["media_type"],
                w["title"],
                w["size"],
                w["spdx"],
                names.get(w["collection_id"] or "", None),
            )
            for w in works
        ),
        "fingerprints": sorted(
            (names[p["work_id"]], p["kind"], p["params_version"], bytes(p["value"]), p["quality"])
            for p in prints
        ),
        "disputes": sorted((names[d["id"]], names[d["work_id"]], d["digest"]) for d in disputes),
        "events": [
            (kind, names[actor], names.get(subject, "?")) for kind, actor, subject in events
        ],
        "log": [kind for (kind,) in logged],
    }


def _outcome(registrations: list[Registration], registry: Registry) -> list[tuple[Any, ...]]:
    owners = {w.owner_id for w in (r.work for r in registrations)}
    names = {o: registry.parties.get(o, PartyKind.OWNER).name for o in owners}
    return [
        (r.status.value, r.path, names[r.work.owner_id], r.work.path, r.dispute_id is not None)
        for r in registrations
    ]


@pytest.fixture
def postgres() -> Iterator[Engine]:
    """A fresh PostgreSQL schema, migrated; skipped where none is configured."""
    if POSTGRES_URL is None:
        pytest.skip("needs CONSENTRY_TEST_DATABASE_URL (CI sets it)")
    schema = f"consentry_bulk_{uuid.uuid4().hex[:12]}"
    admin = open_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    made = open_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        migrate(made)
        yield made
    finally:
        made.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


_catalogue = st.lists(
    st.tuples(st.integers(0, len(MODULES) - 1), st.sampled_from(["lib", "src", "copy"])),
    max_size=10,
)


def test_a_catalogue_registers_on_postgresql_as_it_does_on_sqlite(
    postgres: Engine, tmp_path: Any
) -> None:
    """The same registrations, in the same order, by the same owners, into a SQLite
    registry (rows) and a PostgreSQL one (COPY): the same outcomes, works, fingerprints,
    disputes and events, every log entry verifying."""
    lite = open_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    migrate(lite)
    registries = (Registry(lite), Registry(postgres))
    keys = {name: KeyPair.generate() for name in ("Ada", "Grace")}
    owners = [
        {n: r.parties.create(PartyKind.OWNER, n, k).id for n, k in keys.items()} for r in registries
    ]

    @settings(max_examples=25)
    @given(
        catalogue=_catalogue,
        who=st.sampled_from(sorted(keys)),
        collection=st.sampled_from([None, "poems", "code"]),
    )
    def register(catalogue: list[tuple[int, str]], who: str, collection: str | None) -> None:
        files = [
            dataclasses.replace(_printed(MODULES[m]), path=f"{folder}/{MODULES[m]}")
            for m, folder in catalogue
        ]
        outcomes = [
            _outcome(list(r.works.register(o[who], keys[who], files, collection=collection)), r)
            for r, o in zip(registries, owners, strict=True)
        ]
        assert outcomes[0] == outcomes[1]
        assert _view(lite) == _view(postgres)

    try:
        register()
        # What was compared: another owner's content disputed, as well as works new.
        assert _view(postgres)["disputes"]
        for registry in registries:
            log_key = KeyPair.generate()
            registry.log.checkpoint(log_key, ORIGIN)
            registry.log.audit(NoteVerifier(ORIGIN, log_key.public))
    finally:
        lite.dispose()


def test_many_batches_register_whole_and_again_as_existing(
    registry: Registry,
    make_owner,  # type: ignore[no-untyped-def]
    engine: Engine,
) -> None:
    owner = make_owner()
    files = _texts(1_100, seed=1)  # three batches of a registration
    first = list(registry.works.register(owner.id, owner.key, files))
    assert [r.status.value for r in first] == ["registered"] * len(files)
    assert [r.path for r in first] == [f.path for f in files]
    counts = _counts(engine)
    assert counts["works"] == len(files)
    assert counts["fingerprints"] == 2 * len(files)  # a text's MinHash and excerpts
    assert counts["log_entries"] == counts["events"]
    # Every work reads back verified against its owner's signature and fingerprints.
    assert {w.id for w in registry.works.many([r.work.id for r in first])} == {
        r.work.id for r in first
    }
    again = list(registry.works.register(owner.id, owner.key, files))
    assert [r.status.value for r in again] == ["existing"] * len(files)
    assert _counts(engine) == counts


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"title": "t" * 201}, "docs/00002.txt has a title of 201 characters, over the 200"),
        ({"media_type": "m" * 101}, "has a media type of 101 characters, over the 100"),
        ({"spdx": "MIT OR " * 40}, "has a licence expression of 280 characters"),
        ({"digest": "not a digest"}, "has a digest that is not 64 lowercase hexadecimal"),
        ({"digest": "A" * 64}, "has a digest that is not 64 lowercase hexadecimal"),
    ],
)
def test_a_bad_file_is_refused_in_one_sentence_and_nothing_of_its_batch_is_written(
    registry: Registry,
    make_owner,  # type: ignore[no-untyped-def]
    engine: Engine,
    change: dict[str, str],
    says: str,
) -> None:
    owner = make_owner()
    files = _texts(4, seed=2)
    list(registry.works.register(owner.id, owner.key, files[:1]))
    before = _counts(engine)
    files[2] = dataclasses.replace(
        files[2], fingerprint=dataclasses.replace(files[2].fingerprint, **change)
    )
    with pytest.raises(InputError) as refused:
        list(registry.works.register(owner.id, owner.key, files[1:]))
    message = str(refused.value)
    assert says in message
    assert message.count(";") == 1 and "\n" not in message
    assert _counts(engine) == before
    # The rest register once the file is fixed or left out.
    kept = list(registry.works.register(owner.id, owner.key, [files[1], files[3]]))
    assert [r.status.value for r in kept] == ["registered", "registered"]


def test_a_large_registration_on_postgresql_keeps_the_planner_informed(
    postgres: Engine,
) -> None:
    """A bulk load leaves the planner's statistics describing empty tables: it then takes
    each of a batch's 500 digests to match half a percent of the works, and reads the
    table whole for every batch. The registration refreshes them as it grows, so the
    lookup is estimated at what it finds and stays on the index as the table grows."""
    registry = Registry(postgres)
    key = KeyPair.generate()
    owner = registry.parties.create(PartyKind.OWNER, "Ada", key)
    files = _texts(5_000, seed=3)
    assert len(list(registry.works.register(owner.id, key, files))) == len(files)
    digests = [f.fingerprint.digest for f in files[:500]]
    with postgres.connect() as db:
        analysed = db.scalar(
            text("SELECT last_analyze FROM pg_stat_user_tables WHERE relid = 'works'::regclass")
        )
        plan = db.scalar(
            text("EXPLAIN SELECT * FROM works WHERE digest = ANY(:digests)"),
            {"digests": digests},
        )
    assert analysed is not None
    estimated = int(re.search(r"rows=(\d+)", str(plan)).group(1))  # type: ignore[union-attr]
    assert estimated <= 2 * len(digests)
