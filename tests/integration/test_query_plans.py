"""The registry's hot reads use an index at scale, on SQLite and PostgreSQL.

The statements the registry really sends while registering a file, reading terms in
force, and reading a licensee's consent for a gate run are recorded from a small, real
registry; the tables are then grown with synthetic rows (copies of real ones under new
ids) to tens of thousands of works, statistics gathered, and each recorded SELECT is
asked for its plan. None may read a large table whole: a registry of a million works
would read every row of it at every lookup.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Engine, event, insert, select, text
from sqlalchemy.engine import Connection

from consentry.clock import utc_now
from consentry.fingerprint import fingerprint_bytes
from consentry.registry import FileFingerprint, Registry, Scope, ScopeKind
from consentry.store.models import (
    FingerprintRow,
    GrantRow,
    LicenseeRow,
    LicenseRequestRow,
    OwnerRow,
    PublicKeyRow,
    TermsRow,
    WorkRow,
)
from consentry.terms import Category, Terms
from tests.conftest import STDLIB, Actor

WORKS = 40_000
OWNERS = 400
IDLE = 20_000
LARGE = ("works", "fingerprints", "terms", "grants", "license_requests", "public_keys", "owners")


def _file(name: str) -> FileFingerprint:
    path = STDLIB / name
    return FileFingerprint(name, fingerprint_bytes(name, path.read_bytes()))


@contextmanager
def _recorded(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every SELECT sent on ``engine`` while inside, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def record(
        conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT") and not many:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _copies(row: dict[str, Any], count: int, vary: Any) -> list[dict[str, Any]]:
    return [{**row, **vary(n)} for n in range(count)]


def _hex(label: str, n: int) -> str:
    return hashlib.sha256(f"{label}{n}".encode()).hexdigest()


def _grow(engine: Engine) -> None:
    """Synthetic owners, works, fingerprints, terms and grants, copied from real rows."""
    with engine.begin() as db:
        key = dict(db.execute(select(PublicKeyRow)).mappings().first() or {})
        owner = dict(db.execute(select(OwnerRow)).mappings().first() or {})
        licensee = dict(db.execute(select(LicenseeRow)).mappings().first() or {})
        work = dict(db.execute(select(WorkRow)).mappings().first() or {})
        printed = [dict(r) for r in db.execute(select(FingerprintRow)).mappings()]
        printed = [p for p in printed if p["work_id"] == work["id"]]
        terms = dict(db.execute(select(TermsRow)).mappings().first() or {})
        request = dict(db.execute(select(LicenseRequestRow)).mappings().first() or {})
        grant = dict(db.execute(select(GrantRow)).mappings().first() or {})
        db.execute(
            insert(PublicKeyRow),
            _copies(key, OWNERS * 2, lambda n: {"key_id": f"k{n:015d}", "party_id": f"p{n}"}),
        )
        # Owners with no works here, so that a batch of some owners' keys is read from
        # among many, as in a registry of a million works.
        db.execute(
            insert(PublicKeyRow),
            _copies(key, IDLE, lambda n: {"key_id": f"x{n:015d}", "party_id": f"own_x{n}"}),
        )
        db.execute(
            insert(OwnerRow),
            _copies(owner, IDLE, lambda n: {"id": f"own_x{n:015d}", "key_id": f"x{n:015d}"}),
        )
        db.execute(
            insert(OwnerRow),
            _copies(owner, OWNERS, lambda n: {"id": f"own_s{n:015d}", "key_id": f"k{n:015d}"}),
        )
        db.execute(
            insert(LicenseeRow),
            _copies(
                licensee,
                OWNERS,
                lambda n: {"id": f"lic_s{n:015d}", "key_id": f"k{OWNERS + n:015d}"},
            ),
        )
        db.execute(
            insert(WorkRow),
            _copies(
                work,
                WORKS,
                lambda n: {
                    "id": f"wrk_s{n:015d}",
                    "owner_id": f"own_s{n % OWNERS:015d}",
                    "collection_id": None,
                    "digest": _hex("d", n),
                    "content": _hex("c", n),
                },
            ),
        )
        for fingerprint in printed:
            db.execute(
                insert(FingerprintRow),
                _copies(fingerprint, WORKS, lambda n: {"work_id": f"wrk_s{n:015d}"}),
            )
        db.execute(
            insert(TermsRow),
            _copies(
                terms,
                WORKS // 4,
                lambda n: {
                    "id": f"trm_s{n:015d}",
                    "target_id": f"wrk_s{n * 4:015d}",
                    "target_type": "work",
                    "owner_id": f"own_s{n * 4 % OWNERS:015d}",
                },
            ),
        )
        db.execute(
            insert(LicenseRequestRow),
            _copies(
                request,
                WORKS // 4,
                lambda n: {
                    "id": f"req_s{n:015d}",
                    "licensee_id": f"lic_s{n % OWNERS:015d}",
                    "owner_id": f"own_s{n % OWNERS:015d}",
                },
            ),
        )
        db.execute(
            insert(GrantRow),
            _copies(
                grant,
                WORKS // 4,
                lambda n: {
                    "id": f"grt_s{n:015d}",
                    "request_id": f"req_s{n:015d}",
                    "licensee_id": f"lic_s{n % OWNERS:015d}",
                    "owner_id": f"own_s{n % OWNERS:015d}",
                },
            ),
        )
        db.execute(text("ANALYZE"))


def _plan(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as db:
        if engine.dialect.name == "postgresql":
            rows = db.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
            return "\n".join(str(r[0]) for r in rows)
        rows = db.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        return "\n".join(str(r[-1]) for r in rows)


def _whole_table_reads(engine: Engine, plan: str) -> list[str]:
    """The large tables ``plan`` reads row by row, start to end."""
    if engine.dialect.name == "postgresql":
        read = re.findall(r"Seq Scan on (\w+)", plan)
    else:
        # "SCAN works" without an index; "SCAN works USING ... INDEX" walks an index.
        read = [
            m.group(1)
            for m in re.finditer(r"\bSCAN (\w+)(?: AS \w+)?(?P<rest>[^\n]*)", plan)
            if "INDEX" not in m.group("rest")
        ]
    return [table for table in read if table in LARGE]


def test_hot_reads_use_an_index_with_tens_of_thousands_of_works(
    registry: Registry,
    engine: Engine,
    make_owner,  # type: ignore[no-untyped-def]
    make_licensee,  # type: ignore[no-untyped-def]
) -> None:
    owner: Actor = make_owner()
    lab: Actor = make_licensee()
    registered = list(
        registry.works.register(owner.id, owner.key, [_file("textwrap.py"), _file("shlex.py")])
    )
    works = [r.work.id for r in registered]
    registry.terms.set(owner.id, owner.id, owner.key, Terms.from_json({"version": 1}))
    registry.terms.set(works[0], owner.id, owner.key, Terms.from_json({"version": 1}))
    request = registry.licensing.request(
        lab.id,
        lab.key,
        scope=Scope(ScopeKind.WORKS, (works[0],)),
        purposes=[Category.TRAIN_AI],
        not_after=utc_now() + timedelta(days=30),
    )
    registry.licensing.grant(request.id, owner.id, owner.key)
    _grow(engine)

    synthetic = [f"wrk_s{n:015d}" for n in range(0, WORKS, WORKS // 2000)]
    with _recorded(engine) as sent:
        # Registering: is this content, or this owner's digest, here already?
        list(registry.works.register(owner.id, owner.key, [_file("string.py")]))
        # A catalogue in bulk (COPY on PostgreSQL, whose sequence is drawn from first).
        bulk = ("glob.py", "fnmatch.py", "getopt.py", "bisect.py", "colorsys.py")
        list(registry.works.register(owner.id, owner.key, [_file(n) for n in bulk]))
        # Terms in force, one target and a batch (what a sketch export reads).
        registry.terms.effective(works[0])
        registry.terms.effective_for_works(works)
        # A gate run's consent: the licensee's grants, then the works' owners and terms.
        registry.licensing.consent(lab.actor, Category.TRAIN_AI).decide(works)
        registry.works.many(works)
        # The same for a batch of two thousand works of twenty owners: their keys and
        # terms read together (the copies fail verification, after being read).
        registry.licensing.consent(lab.actor, Category.TRAIN_AI).decide(synthetic)
        registry.terms.effective_for(
            [(w, f"own_s{int(w[5:]) % OWNERS:015d}", None) for w in synthetic], refused={}
        )
        # Building the match index: works a page at a time, by id.
        list(islice(registry.works.index_records(batch=500), 600))
    assert len(sent) >= 12
    offending = {
        statement: tables
        for statement, parameters in sent
        if (tables := _whole_table_reads(engine, _plan(engine, statement, parameters)))
    }
    assert not offending, offending
