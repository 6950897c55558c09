"""Publication-check figures: latency from the sketch and from the database, sketch
size, precision and false positives under the one evidence rule, recall by excerpt
length and for renamed code given as a nameless output.

    python bench/check.py [--works 10000 100000] [--unrelated 10000] [--queries 300]

Registers real text from this machine (standard-library and installed Python modules,
man pages) cut into works of 2,000-4,000 characters, keeps other files out as unrelated
text, and checks 4 KB outputs on one core. The baseline in the same run is a plain
substring search of every 100-character piece of the output in all registered text,
normalised (what a check without an index would do).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import emit
from consentry.check import Checker, RegistryNotices, SketchNotices, WorkNotice, notice_records
from consentry.check.spans import evidence_floor
from consentry.crypto import KeyPair
from consentry.fingerprint import FingerprintParams, fingerprint_bytes, normalize_text
from consentry.fingerprint.content import MIN_CONTENT
from consentry.index import MatchIndex, Sketch
from consentry.log import NoteVerifier
from consentry.registry import FileFingerprint, PartyKind, Registry
from consentry.terms import DEFAULT_TERMS
from gate import Attribution, rename, streams  # the gate bench's oracle and renaming

STDLIB = Path(os.__file__).parent
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
MAN = Path("/usr/share/man")
ORIGIN = "bench.test/log"
OUTPUT = 4096


def real_files() -> list[tuple[str, str]]:
    """Every distinct readable text file: Python modules, then man pages."""
    seen: set[bytes] = set()
    found: list[tuple[str, str]] = []
    paths = [*STDLIB.rglob("*.py"), *(SITE / "site-packages").rglob("*.py")]
    for path in sorted(set(paths)):
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found.append((path.name, text))
    for path in sorted(MAN.rglob("*.gz")):
        try:
            found.append((path.name[:-3] + ".txt", gzip.decompress(path.read_bytes()).decode()))
        except (OSError, UnicodeDecodeError, EOFError):
            continue
    out = []
    for name, text in found:
        digest = hashlib.sha256(normalize_text(text).encode()).digest()
        if len(text) >= 2000 and digest not in seen:
            seen.add(digest)
            out.append((name, text))
    return out


def pieces(name: str, text: str, rng: random.Random) -> list[tuple[str, str]]:
    """The file cut at line ends into works of 2,000 to 4,000 characters."""
    out, start = [], 0
    while len(text) - start >= 2000:
        end = text.find("\n", start + rng.randrange(2000, 4000))
        end = len(text) if end < 0 else end + 1
        out.append((f"{len(out)}-{name}", text[start:end]))
        start = end
    return out


def output_around(rng: random.Random, filler: str, excerpt: str) -> tuple[str, int]:
    """A 4 KB output: unrelated text with ``excerpt`` at a random place in it."""
    room = OUTPUT - len(excerpt)
    start = rng.randrange(0, max(1, len(filler) - room))
    before = rng.randrange(0, room + 1)
    text = filler[start : start + room]
    return text[:before] + excerpt + text[before:], before


def percentile(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100)[q - 1] * 1000, 3)


def timed(checker: Checker, outputs: list[str]) -> list[float]:
    times = []
    for output in outputs:
        started = time.perf_counter()
        checker.check_text(output)
        times.append(time.perf_counter() - started)
    return times


def genuine(output: str, work_name: str, work: str) -> bool:
    """Whether the output really shares a run of 100 characters (one fingerprint
    window) with the work, in one of the streams both are fingerprinted in (normalised
    text, and for code the renaming-resistant tokens): shared text, not a spurious hit."""
    mine, theirs = streams("output.txt", output), streams(work_name, work)
    for query, stream in zip(mine, theirs, strict=False):
        runs = {stream[i : i + 100] for i in range(max(1, len(stream) - 99))}
        if any(query[i : i + 100] in runs for i in range(max(1, len(query) - 99))):
            return True
    return False


def latency(
    size: int, offline: Checker, database: Checker, outputs: list[str], normalised: list[str]
) -> None:
    timed(offline, outputs[:20])  # compile and warm
    sketch_times = timed(offline, outputs)
    database_times = timed(database, outputs)
    corpus = "\x00".join(normalised[:size])
    base_times = []
    for output in outputs[:10]:
        started = time.perf_counter()
        query = normalize_text(output)
        any(query[i : i + 100] in corpus for i in range(0, len(query) - 100, 100))
        base_times.append(time.perf_counter() - started)
    emit(
        "check_latency",
        works=size,
        output_bytes=OUTPUT,
        sketch_p50_ms=percentile(sketch_times, 50),
        sketch_p99_ms=percentile(sketch_times, 99),
        database_p50_ms=percentile(database_times, 50),
        database_p99_ms=percentile(database_times, 99),
        target_p99_ms=10,
        baseline_substring_p50_ms=round(statistics.median(base_times) * 1000, 1),
        ratio=round(statistics.median(base_times) / statistics.median(sketch_times), 1),
    )


def quality(
    rng: random.Random,
    size: int,
    offline: Checker,
    index: MatchIndex,
    works: list[tuple[str, str]],
    ids: list[str],
    normalised: list[str],
    filler: str,
    args: argparse.Namespace,
) -> None:
    # A piece whose content was registered already (status "existing") got the first
    # piece's id: judge findings against the text that id was registered with.
    number_of: dict[str, int] = {}
    for n, work_id in enumerate(ids):
        number_of.setdefault(work_id, n)
    false_positives = shared = planted_found = 0
    spurious: list[dict[str, object]] = []
    for _ in range(args.unrelated):
        output, _ = output_around(rng, filler, "")
        for finding in offline.check_text(output).findings:
            real = genuine(output, *works[number_of[finding.work_id]])
            shared += real
            false_positives += not real
            if not real:
                spurious.append(
                    {"match": finding.kind.value, "score": finding.score, "length": finding.length}
                )
    recall: dict[str, float] = {}
    recall_attributable: dict[str, float] = {}
    # Independent of the index: whether an excerpt's text is specific enough to name
    # its work (the gate bench's exact k-gram tables).
    attribution = Attribution(
        [(ids[n], *works[n]) for n in range(size)], limit=index.params.max_works_per_fingerprint
    )
    for length in (150, 200, 300, 1000):
        hits = held = held_hits = 0
        for _ in range(args.recall_items):
            number = rng.randrange(size)
            text = works[number][1]
            start = rng.randrange(0, max(1, len(text) - length))
            excerpt = text[start : start + length]
            output, _ = output_around(rng, filler, excerpt)
            findings = offline.check_text(output).findings
            found = ids[number] in {f.work_id for f in findings}
            hits += found
            planted_found += found
            for finding in findings:
                if finding.work_id != ids[number]:
                    real = genuine(output, *works[number_of[finding.work_id]])
                    shared += real
                    false_positives += not real
            if attribution.excerpt_attributable(excerpt):
                held += 1
                held_hits += found
        recall[str(length)] = round(hits / args.recall_items, 4)
        recall_attributable[str(length)] = round(held_hits / max(1, held), 4)
    # Registered modules renamed and stripped of comments, checked as a nameless output
    # (told code by its content): the renaming-resistant stream must still find them.
    code = [n for n in range(size) if works[n][0].endswith(".py")]
    code_hits = code_held = 0
    for number in rng.sample(code, min(len(code), args.recall_items)):
        renamed = rename(works[number][1])
        if renamed is None:
            continue  # a piece cut inside a string does not tokenise
        code_held += 1
        code_hits += ids[number] in {f.work_id for f in offline.check_text(renamed).findings}
    emit(
        "check_quality",
        works=size,
        unrelated_outputs=args.unrelated,
        # Over every finding, on unrelated outputs and on those holding an excerpt: the
        # planted work, or a work the output really shares 100 characters with.
        precision=round(
            (planted_found + shared) / max(1, planted_found + shared + false_positives), 5
        ),
        false_positives=false_positives,
        false_positive_rate=round(len(spurious) / args.unrelated, 6),
        spurious=spurious,
        target_rate=0.0001,
        shared_text_findings=shared,
        recall_by_excerpt_chars=recall,
        recall_attributable=recall_attributable,
        recall_items=args.recall_items,
        recall_nameless_code=round(code_hits / max(1, code_held), 4),
        nameless_code_items=code_held,
    )


def register(
    works: list[tuple[str, str]],
) -> tuple[Registry, str, list[str], list[tuple[str, str]]]:
    """The registry of ``works``, their ids, and the works registered: a piece that is
    all comments is refused, as ``work register`` refuses it."""
    home = Path(tempfile.mkdtemp(prefix="consentry-check-bench-"))
    registry = Registry.create(f"sqlite:///{home / 'registry.db'}")
    key = KeyPair.generate()
    owner = registry.parties.create(PartyKind.OWNER, "Bench owner", key)
    started = time.perf_counter()
    printed = [FileFingerprint(n, fingerprint_bytes(n, t.encode())) for n, t in works]
    kept = [
        k
        for k, p in enumerate(printed)
        if p.fingerprint.content_length is None or p.fingerprint.content_length >= MIN_CONTENT
    ]
    registered = registry.works.register(owner.id, key, [printed[k] for k in kept])
    ids = [r.work.id for r in registered]
    emit("check_registered", works=len(ids), seconds=round(time.perf_counter() - started, 1))
    return registry, owner.id, ids, [works[k] for k in kept]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--unrelated", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--recall-items", type=int, default=500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--min-span",
        type=int,
        default=200,
        help="The one evidence rule of the gate and the check, in normalised characters.",
    )
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    rng = random.Random(args.seed)
    files = real_files()
    rng.shuffle(files)
    # Unrelated text: whole files kept out of the registry, 30 MB of them.
    held, total = [], 0
    while total < 30_000_000 and files:
        text = files.pop()[1]
        held.append(text)
        total += len(text)
    filler = "\n".join(held)
    works: list[tuple[str, str]] = []
    while len(works) < max(args.works) and files:
        works += pieces(*files.pop(), rng)
    works = works[: max(args.works)]
    emit("check_setup", works=len(works), unrelated_mb=round(total / 1e6, 1))

    registry, owner_id, ids, works = register(works)
    log_key = KeyPair.generate()
    by_id = {r.work_id: r for r in registry.works.index_records()}
    signed = registry.log.checkpoint(log_key, ORIGIN)
    normalised = [normalize_text(t) for _, t in works]
    # A size past what registered (pieces all comments are refused) is all of it.
    for size in sorted({min(s, len(ids)) for s in args.works}):
        subset = [by_id[w] for w in ids[:size]]
        notices = notice_records(
            WorkNotice(w, owner_id, "Bench owner", DEFAULT_TERMS) for w in ids[:size]
        )
        index = MatchIndex.build(subset)
        started = time.perf_counter()
        data = Sketch.build(subset, notices, checkpoint=signed.note).to_bytes(log_key, ORIGIN)
        export_s = time.perf_counter() - started
        started = time.perf_counter()
        sketch = Sketch.from_bytes(data, NoteVerifier(ORIGIN, log_key.public))
        # Reading the notices (their terms validated) is part of loading, as before.
        sketch_notices = SketchNotices(sketch)
        load_s = time.perf_counter() - started
        text_mb = sum(len(t.encode()) for _, t in works[:size]) / 1e6
        emit(
            "check_sketch",
            works=size,
            bytes=len(data),
            bytes_per_work=round(len(data) / size, 1),
            bytes_per_registered_mb=round(len(data) / text_mb),
            export_s=round(export_s, 2),
            load_s=round(load_s, 3),
            # Findings below are under the one evidence rule the gate applies too.
            min_span=args.min_span,
            evidence_floor=evidence_floor(args.min_span, FingerprintParams().winnow),
        )
        offline = Checker(sketch, sketch_notices, min_span=args.min_span)
        database = Checker(index, RegistryNotices(registry), min_span=args.min_span)
        outputs = []
        for _ in range(args.queries):
            excerpt = ""
            if rng.random() < 0.5:
                text = works[rng.randrange(size)][1]
                start = rng.randrange(0, max(1, len(text) - 1000))
                excerpt = text[start : start + 1000]
            outputs.append(output_around(rng, filler, excerpt)[0])
        latency(size, offline, database, outputs, normalised)
        quality(rng, size, offline, index, works, ids, normalised, filler, args)
    registry.close()


if __name__ == "__main__":
    main()
