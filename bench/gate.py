"""Gate matching quality and throughput, against a datasketch MinHashLSH baseline.

    python bench/gate.py [--works 1000] [--items 10000] [--baseline-items 1000]

Registers real files from this machine (man pages, standard-library modules), builds a
corpus of unrelated documents and perturbed copies with known ground truth, runs the real
gate (registry, index, consent) on one core, and prints one JSON line per figure.
Throughput through the command and the API, beside an exact-digest filter, zstd,
``json.loads``, datasketch and rensa in the same run, and the fixed cost of a process:
``bench/throughput.py``, over this bench's corpus.
"""

from __future__ import annotations

import argparse
import builtins
import gc
import gzip
import io
import keyword
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tokenize
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import numpy.typing as npt

from _measure import emit
from consentry.check.spans import evidence_floor
from consentry.clock import utc_now
from consentry.crypto import KeyPair
from consentry.fingerprint import (
    code_views,
    fingerprint_bytes,
    language_for,
    normalize_text,
    text_digest,
)
from consentry.fingerprint._rolling import codepoints, kgram_hashes
from consentry.fingerprint.content import code_language
from consentry.gate import Decision, Gate, GateMode, GatePolicy, Item, RegistryConsent
from consentry.gate.run import CHUNK
from consentry.index import MatchIndex
from consentry.registry import Actor, FileFingerprint, PartyKind, Registry
from consentry.terms import Category
from consentry.warmup import warm_up

STDLIB = Path(os.__file__).parent
MAN = Path("/usr/share/man/man1")
KINDS = [
    "unrelated",
    "exact",
    "normalised",
    "near",
    "excerpt300",
    "excerpt1000",
    "renamed_code",
    "nameless_code",
]
WEIGHTS = [40, 10, 10, 10, 10, 10, 10, 10]
# The code kinds: a registered module renamed and stripped of its comments, named as a
# Python file, or nameless (a JSON Lines id, told code by its content).
CODE_KINDS = ("renamed_code", "nameless_code")
# Excerpts judged by their length once normalised, the unit of the evidence rule: under
# min_span by design no evidence, from there on the winnowing guarantee applies.
EXCERPT_BUCKETS = ((0, "<200"), (200, "200-249"), (250, "250-299"), (300, ">=300"))


def man_pages(limit: int) -> list[tuple[str, str]]:
    out = []
    for path in sorted(MAN.glob("*.gz")):
        try:
            text = gzip.decompress(path.read_bytes()).decode("utf-8")
        except (OSError, UnicodeDecodeError, EOFError):
            continue
        if 3000 <= len(text) <= 60000:
            out.append((path.name, text))
        if len(out) >= limit:
            break
    return out


def modules(limit: int) -> list[tuple[str, str]]:
    out = []
    for path in sorted(STDLIB.rglob("*.py")):
        if "site-packages" in path.parts or "test" in path.parts:
            continue
        text = path.read_text("utf-8", errors="replace")
        if 3000 <= len(text) <= 60000:
            out.append((path.relative_to(STDLIB).as_posix(), text))
        if len(out) >= limit:
            break
    return out


def rename(source: str) -> str | None:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    names = {t.string for t in tokens if t.type == tokenize.NAME}
    names -= set(keyword.kwlist) | set(dir(builtins)) | {"self", "cls"}
    mapping = {n: f"r{i}_{n[::-1]}" for i, n in enumerate(sorted(names))}
    kept = [
        (t.type, mapping.get(t.string, t.string) if t.type == tokenize.NAME else t.string)
        for t in tokens
        if t.type != tokenize.COMMENT
    ]
    try:
        return tokenize.untokenize(kept)
    except ValueError:
        return None


ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060"]


def normalised_variant(rng: random.Random, text: str) -> str:
    choice = rng.randrange(4)
    if choice == 0:
        return text.upper().replace("\n", "\r\n")
    if choice == 1:
        return "".join(
            chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and rng.random() < 0.3 else c for c in text
        )
    if choice == 2:
        return "".join(c + (rng.choice(ZERO_WIDTH) if rng.random() < 0.05 else "") for c in text)
    return "  ".join(text.split())


def near_variant(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), max(1, len(words) * 3 // 100)):
        words[i] = rng.choice(["alpha", "beta", "gamma", "delta", "omega"])
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class Planted:
    """One corpus item and its ground truth: the work it copies (None for unrelated
    documents) and the copied content (an excerpt, or the whole work)."""

    kind: str
    item: Item
    expected: str | None
    content: str


def build_corpus(
    rng: random.Random, count: int, works: list[tuple[str, str, str]], unrelated: list[str]
) -> list[Planted]:
    code_works = [w for w in works if w[1].endswith(".py")]
    corpus = []
    for number in range(count):
        kind = rng.choices(KINDS, WEIGHTS)[0]
        host = rng.choice(unrelated)
        work_id, _, text = rng.choice(code_works if kind in CODE_KINDS else works)
        path, content = f"item{number}.txt", text
        if kind == "unrelated":
            body, expected, content = host, None, ""
        elif kind == "exact":
            body, expected = text, work_id
        elif kind == "normalised":
            body, expected = normalised_variant(rng, text), work_id
        elif kind == "near":
            body, expected = near_variant(rng, text), work_id
        elif kind in ("excerpt300", "excerpt1000"):
            length = 300 if kind == "excerpt300" else 1000
            start = rng.randrange(0, max(1, len(text) - length))
            cut = rng.randrange(0, max(1, len(host) - 1))
            content = text[start : start + length]
            body, expected = host[:cut] + " " + content + " " + host[cut : cut + 2000], work_id
        else:
            renamed = rename(text)
            if renamed is None:
                body, expected, kind = text, work_id, "exact"
            else:
                body, expected = renamed, work_id
                path = f"item{number}.py" if kind == "renamed_code" else path
        item = Item(
            f"i{number}", "bench", text=body, metadata={"path": path}, size=len(body.encode())
        )
        corpus.append(Planted(kind, item, expected, content))
    return corpus


class Attribution:
    """Independent of the index: is planted content specific enough to name its work?

    A passage that occurs verbatim in more than ``limit`` registered works (generated
    man pages share whole sections; codec modules share their code) is, by design, not
    evidence of copying any one of them, and neither is code whose renaming-resistant
    token stream is near-identical (exact Jaccard >= 0.8) to that of more than ``limit``
    works. Exact tables over every 100-character k-gram of every work decide it."""

    def __init__(self, works: list[tuple[str, str, str]], limit: int = 8) -> None:
        self.limit = limit
        hashes = []
        for _, _, text in works:
            grams = np.unique(kgram_hashes(codepoints(normalize_text(text)), 100))
            hashes.append(grams)
        self._hashes, self._spread = np.unique(np.concatenate(hashes), return_counts=True)
        self._code: dict[str, npt.NDArray[np.uint64]] = {}
        for work_id, name, text in works:
            language = language_for(name)
            if language is not None and name.endswith(".py"):
                stream = code_views(text, language)[1]
                self._code[work_id] = np.unique(kgram_hashes(codepoints(stream), 24))
        self._twins: dict[str, int] = {}

    def excerpt_attributable(self, excerpt: str) -> bool:
        grams = kgram_hashes(codepoints(normalize_text(excerpt)), 100)
        if not len(grams):
            return False
        at = np.clip(np.searchsorted(self._hashes, grams), 0, len(self._hashes) - 1)
        held = np.where(self._hashes[at] == grams, self._spread[at], 0)
        return bool(((held > 0) & (held <= self.limit)).any())

    def code_attributable(self, work_id: str) -> bool:
        if work_id not in self._twins:
            mine = self._code[work_id]
            self._twins[work_id] = sum(
                len(np.intersect1d(mine, other, assume_unique=True))
                / max(1, len(np.union1d(mine, other)))
                >= 0.8
                for other in self._code.values()
            )
        return self._twins[work_id] <= self.limit

    def attributable(self, planted: Planted) -> bool:
        if planted.expected is None:
            return True
        if planted.kind.startswith("excerpt"):
            return self.excerpt_attributable(planted.content)
        if planted.kind in CODE_KINDS:
            return self.code_attributable(planted.expected)
        return True


def streams(name: str, text: str) -> list[str]:
    """Every stream a text is fingerprinted in: normalised text, and code tokens."""
    out = [normalize_text(text)]
    language = code_language(name, text)  # by name, else by shebang: as the gate reads it
    if language is not None and language.family is not None:
        out.append(code_views(text, language)[1])
    return out


def really_copied(
    match_spans: tuple[tuple[int, int], ...],
    kind: str,
    item_streams: list[str],
    work_streams: list[str],
    noise: int = 100,
) -> bool:
    """The content oracle: does the item really share text with the work? Each excerpt
    span starts at a hit, a k-gram of ``noise`` characters that must occur verbatim in
    the work (adjacent hits may come from different places in it, so the merged span
    need not). Exact and near matches must share at least half their 9-character
    shingles."""
    if kind == "excerpt":
        return any(
            len(stream[start : start + noise]) == noise
            and any(stream[start : start + noise] in w for w in work_streams)
            for stream in item_streams
            for start, _ in match_spans
        )
    a = {item_streams[0][i : i + 9] for i in range(len(item_streams[0]) - 8)}
    b = {work_streams[0][i : i + 9] for i in range(len(work_streams[0]) - 8)}
    return bool(a) and len(a & b) / len(a | b) >= 0.5


def decide_as_a_run(gate: Gate, items: list[Item], chunk: int = CHUNK) -> list[Decision]:
    """Decide ``items`` as ``consentry gate run`` does on one core: each chunk's
    matches found, their consent loaded together, then each item concluded."""
    decisions = []
    for first in range(0, len(items), chunk):
        decisions += gate.decide_many(items[first : first + chunk])
    return decisions


@dataclass
class Timed:
    """The timed run: its seconds, and its rate (MB/s) in each slice."""

    elapsed: float
    slice_rates: list[float]


def run_ours(
    gate: Gate,
    corpus: list[Planted],
    quality_items: int,
    slices: int,
    between: Callable[[int, int], None],
) -> tuple[list[Decision], Timed]:
    """Decide every item (timed) in ``slices`` slices, calling ``between`` (untimed)
    with each slice's bounds after it; the first ``quality_items`` decisions are kept
    for judging."""
    items = [planted.item for planted in corpus]
    step = max(CHUNK, -(-len(items) // slices // CHUNK) * CHUNK)
    # A run writes each chunk's decisions out and lets them go; holding all 100,000
    # (a million objects for the collector to walk) would slow it by a seventh.
    decisions: list[Decision] = []
    elapsed, rates = 0.0, []
    for cut in range(0, len(items), step):
        part = items[cut : cut + step]
        started = time.perf_counter()
        for first in range(0, len(part), CHUNK):
            chunk = decide_as_a_run(gate, part[first : first + CHUNK])
            if cut + first < quality_items:
                decisions += chunk
        took = time.perf_counter() - started
        elapsed += took
        rates.append(sum(item.size for item in part) / 1e6 / took)
        between(cut, cut + len(part))
    return decisions, Timed(elapsed, rates)


@dataclass
class Judgement:
    """Recall per kind (over all planted copies, and over the attributable ones), and
    the findings that were right and wrong."""

    hits: dict[str, list[bool]]
    attributable: dict[str, list[bool]]
    # Attributable excerpts (both lengths) by their normalised length.
    excerpts_by_length: dict[str, list[bool]] = field(
        default_factory=lambda: {name: [] for _, name in EXCERPT_BUCKETS}
    )
    false_positive: int = 0
    true_positive: int = 0
    unplanned: int = 0

    def emit(self, items: int) -> None:
        emit(
            "gate_quality",
            items=items,
            judged_items=sum(len(v) for v in self.hits.values()),
            recall=_rates(self.hits),
            # Planted content held by at most max_works_per_fingerprint works: what the
            # index can attribute. The rest is boilerplate by design (see Attribution).
            recall_attributable=_rates(self.attributable),
            excerpt_recall_by_normalised_chars=_rates(self.excerpts_by_length),
            excerpts_by_normalised_chars={k: len(v) for k, v in self.excerpts_by_length.items()},
            not_attributable={
                k: len(self.hits[k]) - len(self.attributable[k]) for k in KINDS if k != "unrelated"
            },
            precision=round(
                self.true_positive / max(1, self.true_positive + self.false_positive), 5
            ),
            true_findings=self.true_positive,
            of_which_unplanned=self.unplanned,
            false_positives=self.false_positive,
            unrelated_items=len(self.hits["unrelated"]),
        )


def judge(
    corpus: list[Planted],
    decisions: list[Decision],
    work_streams: dict[str, list[str]],
    attribution: Attribution,
) -> Judgement:
    """Each decision against what the bench planted in its item."""
    judged = Judgement({k: [] for k in KINDS}, {k: [] for k in KINDS})
    for planted, decision in zip(corpus, decisions, strict=False):
        matched = {r.work_id: r for r in decision.reasons if r.work_id}
        found = planted.expected is None or planted.expected in matched
        judged.hits[planted.kind].append(found)
        if attribution.attributable(planted):
            judged.attributable[planted.kind].append(found)
            if planted.kind.startswith("excerpt"):
                length = len(normalize_text(planted.content))
                bucket = [name for low, name in EXCERPT_BUCKETS if length >= low][-1]
                judged.excerpts_by_length[bucket].append(found)
        item = planted.item
        item_streams = streams(str(item.metadata["path"]), item.text or "")
        for work_id, reason in matched.items():
            if work_id == planted.expected:
                judged.true_positive += 1
            elif really_copied(reason.spans, reason.match, item_streams, work_streams[work_id]):
                # Not planted by the bench, yet truly there (generated man pages share
                # long passages): a correct finding.
                judged.true_positive += 1
                judged.unplanned += 1
            else:
                judged.false_positive += 1
    return judged


def baseline_filter(works: list[tuple[str, str, str]]) -> tuple[Any, Callable[[str], Any]]:
    """A datasketch MinHashLSH filter (threshold 0.8, 128 permutations, word 5-grams)
    holding every work: the near-duplicate filter dataset builders typically run."""
    from datasketch import MinHash, MinHashLSH

    def sketch(text: str) -> MinHash:
        words = text.lower().split()
        grams = {" ".join(words[i : i + 5]).encode() for i in range(max(1, len(words) - 4))}
        minhash = MinHash(num_perm=128)
        minhash.update_batch(list(grams))
        return minhash

    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    for work_id, _, text in works:
        lsh.insert(work_id, sketch(text))
    return lsh, sketch


def run_baseline(
    lsh: Any, sketch: Callable[[str], Any], corpus: list[Planted]
) -> tuple[dict[str, list[bool]], float]:
    """Every item through the baseline filter (timed), and what it found."""
    hits: dict[str, list[bool]] = {k: [] for k in KINDS}
    started = time.perf_counter()
    for planted in corpus:
        found = set(lsh.query(sketch(planted.item.text or "")))
        expected = planted.expected
        hits[planted.kind].append(not found if expected is None else expected in found)
    return hits, time.perf_counter() - started


@dataclass
class BaselineTurns:
    """The baseline deciding, after each slice of the timed run, the sample's items
    from that slice (the sample is every ``stride``-th item): both rates then come
    from the same minutes of a machine whose speed drifts."""

    lsh: Any
    sketch: Callable[[str], Any]
    sample: list[Planted]
    stride: int
    elapsed: float = 0.0
    rates: list[float] = field(default_factory=list)

    def __call__(self, start: int, stop: int) -> None:
        mine = self.sample[-(-start // self.stride) : -(-stop // self.stride)]
        took = run_baseline(self.lsh, self.sketch, mine)[1]
        self.elapsed += took
        self.rates.append(sum(p.item.size for p in mine) / 1e6 / took)

    @property
    def mb_per_s(self) -> float:
        return sum(p.item.size for p in self.sample) / 1e6 / self.elapsed


def against_baseline(
    gate: Gate, lsh: Any, sketch: Callable[[str], Any], sample: list[Planted], rounds: int
) -> tuple[list[float], list[float], list[float], dict[str, list[bool]]]:
    """The engine and the baseline on the same sample, a chunk at a time in turns: the
    baseline decides a chunk, then the engine decides that chunk as many times as makes
    the two last about as long, so both meet the same moments of a shared machine whose
    speed drifts within seconds. Consent answers and kernels are loaded by now: the
    engine's own rate, as the baseline has no consent. Returns each one's rate (MB/s)
    per round over the whole sample, the ratio of each adjacent pair, and what the
    baseline found."""
    chunks = [sample[first : first + CHUNK] for first in range(0, len(sample), CHUNK)]
    items = [[planted.item for planted in chunk] for chunk in chunks]
    sizes = [sum(item.size for item in mine) / 1e6 for mine in items]
    started = time.perf_counter()
    gate.decide_many(items[0])
    engine_once = time.perf_counter() - started
    base_once = run_baseline(lsh, sketch, chunks[0])[1]
    repeats = max(1, round(base_once / engine_once))
    engine_rates, base_rates, pair_ratios = [], [], []
    base_hits: dict[str, list[bool]] = {}
    for _ in range(rounds):
        engine_elapsed = base_elapsed = 0.0
        base_hits = {k: [] for k in KINDS}
        for chunk, mine in zip(chunks, items, strict=True):
            hits, base = run_baseline(lsh, sketch, chunk)
            for kind, found in hits.items():
                base_hits[kind] += found
            started = time.perf_counter()
            for _ in range(repeats):
                gate.decide_many(mine)
            engine = (time.perf_counter() - started) / repeats
            pair_ratios.append(base / engine)
            engine_elapsed += engine
            base_elapsed += base
        megabytes = sum(sizes)
        engine_rates.append(megabytes / engine_elapsed)
        base_rates.append(megabytes / base_elapsed)
    return engine_rates, base_rates, pair_ratios, base_hits


def _rates(hits: dict[str, list[bool]]) -> dict[str, float]:
    return {k: round(sum(v) / len(v), 4) for k, v in hits.items() if v and k != "unrelated"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=1000)
    parser.add_argument("--items", type=int, nargs="+", default=[10_000])
    parser.add_argument(
        "--baseline-items",
        type=int,
        default=1000,
        help="Items, spread over the corpus, that the baseline and the engine both decide.",
    )
    parser.add_argument(
        "--quality-items", type=int, default=10_000, help="Items judged for recall/precision."
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="Rounds over the sample, the baseline and the engine taking each chunk in turns.",
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=10,
        help="Slices of the timed run, the baseline deciding its share of the sample after each.",
    )
    parser.add_argument(
        "--min-span",
        type=int,
        default=200,
        help="The one evidence rule of the gate and the check, in normalised characters.",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pages, code = man_pages(args.works), modules(args.works)
    half = args.works // 2
    registered = pages[:half] + code[:half]
    # Aliased man pages are byte-identical: an "unrelated" document that is an exact
    # copy of a registered one is not unrelated, so such copies leave the pool.
    registered_digests = {text_digest(normalize_text(t)) for _, t in registered}
    unrelated = [
        t
        for _, t in pages[half:] + code[half:]
        if text_digest(normalize_text(t)) not in registered_digests
    ]
    home = Path(tempfile.mkdtemp(prefix="consentry-gate-bench-"))
    registry = Registry.create(f"sqlite:///{home / 'registry.db'}")
    owner_key, lab_key = KeyPair.generate(), KeyPair.generate()
    owner = registry.parties.create(PartyKind.OWNER, "Bench owner", owner_key)
    lab = registry.parties.create(PartyKind.LICENSEE, "Bench lab", lab_key)
    files = [
        FileFingerprint(name, fingerprint_bytes(name, text.encode())) for name, text in registered
    ]
    results = list(registry.works.register(owner.id, owner_key, files))
    works = [
        (r.work.id, name, text)
        for r, (name, text) in zip(results, registered, strict=True)
        if r.status.value == "registered"
    ]
    work_streams = {work_id: streams(name, text) for work_id, name, text in works}
    index = MatchIndex()
    registry.works.refresh_index(index)
    consent = RegistryConsent(
        registry,
        licensee=Actor(lab.id, PartyKind.LICENSEE, lab_key.public),
        purpose=Category.TRAIN_AI,
        at=utc_now(),
    )
    gate = Gate(
        index=index,
        consent=consent,
        policy=GatePolicy(mode=GateMode.OPT_OUT),
        min_span=args.min_span,
    )
    # Precision and recall below are under the one evidence rule the check applies.
    emit(
        "gate_evidence_rule",
        min_span=args.min_span,
        evidence_floor=evidence_floor(args.min_span, gate.params.winnow),
    )
    warm_up()  # as a run does before its first item: compiling is not deciding
    lsh, sketch = baseline_filter(works)
    attribution = Attribution(works, limit=index.params.max_works_per_fingerprint)
    emit(
        "gate_setup",
        registered_works=len(works),
        unrelated_pool=len(unrelated),
        index_segments=len(index.segments),
    )
    for count in args.items:
        corpus = build_corpus(rng, count, works, unrelated)
        size = sum(p.item.size for p in corpus)
        # A run streams its items; this bench holds its whole corpus in memory. Set
        # aside, those objects are not rescanned by the collector while timing, as a
        # run never has them to rescan.
        gc.freeze()
        # Spread over the whole corpus: its kinds and sizes as the run met them, not
        # whatever its first items happen to be.
        stride = max(1, len(corpus) // args.baseline_items)
        sample = corpus[::stride][: args.baseline_items]
        turns = BaselineTurns(lsh, sketch, sample, stride)
        decisions, timed = run_ours(gate, corpus, args.quality_items, args.slices, turns)
        judged = corpus[: args.quality_items]
        judge(judged, decisions, work_streams, attribution).emit(count)
        ours_mb_s = size / 1e6 / timed.elapsed
        engine_rates, base_rates, pair_ratios, base_hits = against_baseline(
            gate, lsh, sketch, sample, args.rounds
        )
        ratios = sorted(pair_ratios)
        emit(
            "gate_throughput",
            items=count,
            mb=round(size / 1e6, 1),
            seconds=round(timed.elapsed, 1),
            mb_per_s_per_core=round(ours_mb_s, 2),
            mb_per_s_per_slice=[round(r, 1) for r in timed.slice_rates],
            docs_per_s_per_core=round(count / timed.elapsed, 1),
            peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            baseline_mb_per_s=round(turns.mb_per_s, 2),
            baseline_mb_per_s_per_slice=[round(r, 2) for r in turns.rates],
            baseline_mb_per_s_rounds=[round(b, 2) for b in base_rates],
            baseline_items=len(sample),
            ratio=round(ours_mb_s / turns.mb_per_s, 2),
            engine_mb_per_s_rounds=[round(e, 2) for e in engine_rates],
            # Per adjacent pair of chunk turns: the median, and the middle half's range.
            engine_ratio=round(statistics.median(ratios), 2),
            engine_ratio_quartiles=[round(q, 2) for q in statistics.quantiles(ratios, n=4)[::2]],
            engine_ratio_pairs=len(ratios),
            baseline_recall=_rates(base_hits),
            kinds=dict(Counter(p.kind for p in corpus)),
        )
    registry.close()


if __name__ == "__main__":
    main()
