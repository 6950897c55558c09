"""What keeps the registry usable at a million works: a gate run's consent read in a
number of queries that does not grow with the works' owners, grants found by owner and
by a search in their scope, and the match index built from the registry a segment at a
time with the same answers as one built at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from consentry.app import current_index
from consentry.app.index import MAX_SEGMENTS, compact_index
from consentry.clock import utc_now
from consentry.fingerprint import ContentFingerprint, fingerprint_bytes
from consentry.index import MatchIndex
from consentry.registry import FileFingerprint, Registry, Scope, ScopeKind, Work
from consentry.terms import Category, Terms
from tests.conftest import STDLIB, Actor

MODULES = (
    "textwrap.py", "shlex.py", "fnmatch.py", "glob.py", "getopt.py", "bisect.py",
    "colorsys.py", "sched.py", "heapq.py", "keyword.py", "graphlib.py", "stringprep.py",
    "calendar.py", "difflib.py", "pprint.py", "argparse.py", "tokenize.py", "string.py",
    "dataclasses.py", "enum.py", "csv.py", "base64.py", "uuid.py", "random.py",
    "fractions.py", "statistics.py", "ipaddress.py", "gettext.py", "operator.py",
    "codecs.py", "locale.py", "numbers.py",
)  # fmt: skip
ALLOW = Terms.from_json({"version": 1, "categories": {"train-ai": "allow"}}, source="test")


def _file(name: str) -> FileFingerprint:
    return FileFingerprint(f"lib/{name}", fingerprint_bytes(name, (STDLIB / name).read_bytes()))


@contextmanager
def _selects(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_consent_for_many_owners_works_takes_as_many_queries_as_for_one(
    registry: Registry,
    engine: Engine,
    make_owner,  # type: ignore[no-untyped-def]
    make_licensee,  # type: ignore[no-untyped-def]
) -> None:
    lab: Actor = make_licensee()
    works: list[str] = []
    for n, name in enumerate(MODULES[:10]):
        owner: Actor = make_owner(f"Owner {n}")
        (registered,) = registry.works.register(owner.id, owner.key, [_file(name)])
        works.append(registered.work.id)
        registry.terms.set(owner.id, owner.id, owner.key, ALLOW)
        if n % 2 == 0:
            request = registry.licensing.request(
                lab.id,
                lab.key,
                scope=Scope(ScopeKind.OWNER, (owner.id,)),
                purposes=[Category.TRAIN_AI],
                not_after=utc_now() + timedelta(days=30),
            )
            registry.licensing.grant(request.id, owner.id, owner.key)

    def decide(chosen: list[str]) -> tuple[int, dict[str, bool]]:
        consent = registry.licensing.consent(lab.actor, Category.TRAIN_AI)
        with _selects(engine) as sent:
            decided = consent.decide(chosen)
        return len(sent), {w: d.allowed for w, d in decided.items()}

    one, _ = decide(works[:1])
    many, decided = decide(works)
    assert many == one
    # Terms allow training and grants add permits: every work is allowed, each
    # weighed against its own owner's grants only.
    assert decided == dict.fromkeys(works, True)


def test_a_grant_covers_exactly_the_works_its_scope_names() -> None:
    named = tuple(f"wrk_{n:06d}" for n in range(0, 20_000, 2))
    scope = Scope(ScopeKind.WORKS, tuple(reversed(named)))

    def work(work_id: str) -> Work:
        at = utc_now()
        return Work(work_id, "own_a", None, "0" * 64, "text", "text/plain", "p", "t", 1, None, at)

    for n in (0, 1, 2, 9_999, 10_000, 19_998, 19_999, 20_000, 40_000):
        assert scope.covers(work(f"wrk_{n:06d}")) is (n % 2 == 0 and n < 20_000)
    assert not scope.covers(work("wrk_"))
    assert not scope.covers(work("wrk_9"))


def _probes() -> list[ContentFingerprint]:
    """Whole works, halves of works (excerpts and near copies) and unrelated text."""
    probes = []
    for name in MODULES:
        text = (STDLIB / name).read_text("utf-8")
        probes.append(fingerprint_bytes(name, text.encode()))
        probes.append(fingerprint_bytes(f"half-{name}.txt", text[len(text) // 2 :].encode()))
    probes.append(fingerprint_bytes("other.txt", (STDLIB / "this.py").read_bytes()))
    return probes


def _works(segment: Any) -> int:
    return MatchIndex(segments=[segment]).size


def _answers(index: MatchIndex, probes: list[ContentFingerprint]) -> list[list[tuple[Any, ...]]]:
    return [
        sorted((m.work_id, m.kind.value, m.score, m.spans) for m in index.match(p)) for p in probes
    ]


def test_an_index_built_a_segment_at_a_time_answers_as_one_built_at_once(
    registry: Registry,
    make_owner,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    owner: Actor = make_owner()
    list(registry.works.register(owner.id, owner.key, [_file(n) for n in MODULES]))
    probes = _probes()
    whole = MatchIndex.build(registry.works.index_records())
    expected = _answers(whole, probes)
    assert sum(map(len, expected)) > len(MODULES)  # exact, near and excerpt matches

    streamed = MatchIndex()
    assert registry.works.refresh_index(streamed, segment_works=3) == len(MODULES)
    assert [_works(s) for s in streamed.segments] == [3] * 10 + [2]
    assert _answers(streamed, probes) == expected

    assert len(streamed.segments) > MAX_SEGMENTS
    assert compact_index(streamed, segment_works=7)
    assert [_works(s) for s in streamed.segments] == [6] * 5 + [2]
    assert _answers(streamed, probes) == expected
    assert not compact_index(streamed, segment_works=7)  # nothing left to merge

    # Built and saved by a run, loaded by the next: the same answers again.
    folder = tmp_path / "index"
    built = current_index(registry, folder)
    assert built.size == len(MODULES)
    assert _answers(MatchIndex.load(folder), probes) == expected
