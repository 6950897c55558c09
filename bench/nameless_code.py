"""Recall for code items that carry no file name, and precision of telling code by content.

    python bench/nameless_code.py [--works 600] [--prose 1500]

Registers standard-library modules under their file names, then queries each one with
its identifiers renamed and its comments stripped, as a nameless JSON Lines item (an id,
no path, no language), through the index the gate uses. Recall is the share of items
whose matches name the module they copy; the baseline is the same lookup with the
item's plain-text prints only, which is all a nameless item got before code was told by
its content. ``told_as_code_crlf``: the share told as code when their lines end in CRLF.
Precision is the share of prose (manual pages, the licence texts in
/usr/share/common-licenses, Debian READMEs and changelogs) that stays prose. One JSON
line per figure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

from _measure import emit
from consentry.fingerprint import code_views, fingerprint_bytes, language_for, text_prints
from consentry.fingerprint._rolling import codepoints, kgram_hashes
from consentry.fingerprint.content import code_language
from consentry.gate.readers import read_jsonl
from consentry.index import IndexedWork, MatchIndex
from consentry.warmup import warm_up
from gate import modules, rename  # the gate bench's registered modules and renaming

STDLIB = Path(os.__file__).parent


def _text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
        return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
        return None


def prose(limit: int) -> list[tuple[str, str]]:
    """Manual pages (roff source), every licence text, then READMEs and changelogs."""
    out = [(p.name, t) for p in sorted(Path("/usr/share/common-licenses").glob("*"))
           if p.is_file() and (t := _text(p))]  # fmt: skip
    for path in sorted(Path("/usr/share/man/man1").glob("*.gz"))[: limit // 2]:
        if (text := _text(path)) is not None:
            out.append((path.name, text))
    for path in sorted(Path("/usr/share/doc").rglob("*")):
        if len(out) >= limit:
            break
        named = path.name.startswith(("README", "changelog", "NEWS"))
        if named and path.is_file() and (text := _text(path)) is not None and len(text) > 500:
            out.append((path.name, text))
    return out


def twins(works: list[tuple[str, str]], limit: int = 8) -> set[int]:
    """Modules whose renaming-resistant token stream is near-identical (exact Jaccard of
    24-character shingles >= 0.8) to more than ``limit`` others: generated codec tables.
    By design no copy of one names it (it cannot say which was copied), so recall is
    also reported without them, as ``bench/gate.py`` reports attributable recall."""
    grams = []
    for name, text in works:
        language = language_for(name)
        assert language is not None
        grams.append(np.unique(kgram_hashes(codepoints(code_views(text, language)[1]), 24)))
    out = set()
    for k, mine in enumerate(grams):
        alike = sum(
            len(np.intersect1d(mine, other, assume_unique=True))
            >= 0.8 * len(np.union1d(mine, other))
            for other in grams
        )
        if alike > limit:
            out.add(k)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=600)
    parser.add_argument("--prose", type=int, default=1500)
    args = parser.parse_args()
    warm_up()
    works = modules(args.works)
    index = MatchIndex()
    records = []
    for number, (name, text) in enumerate(works):
        printed = fingerprint_bytes(name, text.encode("utf-8"))
        view = printed.text_view
        records.append(
            IndexedWork(
                f"wrk_{number}", "own_bench", printed.kind.value, printed.digest,
                printed.minhash, printed.excerpts,
                text_digest=view.digest if view else None,
                text_minhash=view.minhash if view else b"",
                text_excerpts=view.excerpts if view else b"",
            )
        )  # fmt: skip
    index.add(records)
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "nameless.jsonl"
        expected: list[tuple[str, bool]] = []
        unattributable = twins(works)
        with corpus.open("w", encoding="utf-8") as out:
            for number, (_, text) in enumerate(works):
                if (renamed := rename(text)) is not None:
                    out.write(json.dumps({"id": f"doc-{number}", "text": renamed}) + "\n")
                    expected.append((f"wrk_{number}", number not in unattributable))
        items = list(read_jsonl(corpus))
    hits = base = told = 0
    attributable = [0, 0, 0]  # items, hits, baseline hits
    started = time.perf_counter()
    for item, (work_id, specific) in zip(items, expected, strict=True):
        assert item.text is not None
        prints = text_prints(item.name, item.text)
        told += len(prints) > 1
        hit = any(m.work_id == work_id for m in index.match_prints(prints))
        was = any(m.work_id == work_id for m in index.match_prints(prints[-1:]))
        hits, base = hits + hit, base + was
        if specific:
            attributable = [attributable[0] + 1, attributable[1] + hit, attributable[2] + was]
    elapsed = time.perf_counter() - started
    # The same items with CRLF line ends, as text saved on some systems comes.
    crlf = sum(
        code_language(item.name, (item.text or "").replace("\n", "\r\n")) is not None
        for item in items
    )
    emit(
        "nameless_code_recall",
        items=len(items),
        recall=round(hits / len(items), 4),
        baseline_recall=round(base / len(items), 4),
        ratio=round(hits / max(1, base), 3),
        attributable_items=attributable[0],
        recall_attributable=round(attributable[1] / max(1, attributable[0]), 4),
        baseline_recall_attributable=round(attributable[2] / max(1, attributable[0]), 4),
        told_as_code=round(told / len(items), 4),
        told_as_code_crlf=round(crlf / len(items), 4),
        ms_per_item=round(elapsed / len(items) * 1000, 3),
    )
    texts = prose(args.prose)
    started = time.perf_counter()
    as_code = [name for number, (name, text) in enumerate(texts)
               if code_language(f"doc-{number}", text) is not None]  # fmt: skip
    elapsed = time.perf_counter() - started
    emit(
        "prose_stays_prose",
        documents=len(texts),
        precision=round(1 - len(as_code) / len(texts), 4),
        told_as_code=as_code[:20],
        us_per_document=round(elapsed / len(texts) * 1e6, 1),
    )


if __name__ == "__main__":
    main()
