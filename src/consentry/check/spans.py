"""Where a match is in the output as the user wrote it.

Fingerprints are taken over a normalised stream (whitespace collapsed, case folded,
NFKC, invisible characters dropped; for code, canonical tokens), so matches come back in
that stream's coordinates. These maps give, for each character of the stream, the index
of the output character it came from.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from consentry.errors import InputError
from consentry.fingerprint import normalize_text
from consentry.fingerprint.normalize import _DEFAULT_IGNORABLE
from consentry.fingerprint.winnow import WinnowParams

__all__ = [
    "Origins",
    "evidence_floor",
    "evidence_gap",
    "merge_evidence",
    "merge_spans",
    "output_spans",
    "plain_origins",
]

Origins = npt.NDArray[np.int64]


def _ascii_origins(text: str) -> Origins:
    cps = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    space = (cps == 32) | ((cps >= 9) & (cps <= 13)) | ((cps >= 28) & (cps <= 31))
    kept = np.flatnonzero(~space)
    if len(kept) == 0:
        return np.zeros(0, dtype=np.int64)
    # A run of whitespace between two kept characters becomes one space, which stands
    # for the run's first character.
    gaps = np.flatnonzero(np.diff(kept) > 1)
    out = np.empty(len(kept) + len(gaps), dtype=np.int64)
    at_kept = np.arange(len(kept)) + np.searchsorted(gaps, np.arange(len(kept)), "left")
    out[at_kept] = kept
    out[at_kept[gaps + 1] - 1] = kept[gaps] + 1
    return out


def _general_origins(text: str) -> list[int]:
    out: list[int] = []
    pending_space = -1
    for i, char in enumerate(text):
        if _DEFAULT_IGNORABLE.match(char):
            continue
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", char).casefold())
        for piece in folded:
            if piece.isspace():
                if out and pending_space < 0:
                    pending_space = i
                continue
            if pending_space >= 0:
                out.append(pending_space)
                pending_space = -1
            out.append(i)
    return out


def plain_origins(text: str) -> Origins:
    """For each character of ``normalize_text(text)``, the index in ``text`` it came
    from. Exact for ASCII and for text that normalises character by character; where
    normalisation composes characters across others (rare), spread evenly."""
    if text.isascii():
        return _ascii_origins(text)
    origins = _general_origins(text)
    length = len(normalize_text(text))
    if len(origins) == length:
        return np.asarray(origins, dtype=np.int64)
    return np.linspace(0, max(len(text) - 1, 0), num=length).astype(np.int64)


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans sorted, with those that overlap or touch merged."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def output_spans(spans: Iterable[tuple[int, int]], origins: Origins) -> list[tuple[int, int]]:
    """Stream spans ``[start, end)`` as ``[start, end)`` in the output."""
    if len(origins) == 0:
        return []
    last = len(origins) - 1
    out = []
    for start, end in merge_spans(spans):
        first, final = min(start, last), min(max(end - 1, start), last)
        out.append((int(origins[first]), int(origins[final]) + 1))
    return merge_spans(out)


def evidence_gap(winnow: WinnowParams) -> int:
    """How far apart two windows of one contiguous copy can be reported.

    Winnowing keeps one k-gram in every window of ``w = T - k + 1`` consecutive ones, so
    the k-grams kept along a shared run start at most ``w`` characters apart: the
    ``[o, o + k)`` spans they leave may have a gap of ``w - k`` characters between them
    (one, with the default k = 100, T = 200) though nothing between them differs.
    """
    return max(0, winnow.window - winnow.noise)


def merge_evidence(spans: Iterable[tuple[int, int]], winnow: WinnowParams) -> list[tuple[int, int]]:
    """Spans sorted and merged where they overlap, touch, or sit no further apart than
    one contiguous copy can leave them (``evidence_gap``): one copy is one span."""
    given = list(spans)
    if len(given) < 2:
        return given  # most excerpts are one run: nothing to merge
    gap = evidence_gap(winnow)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(given):
        if merged and start <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def evidence_floor(min_span: int, winnow: WinnowParams) -> int:
    """The longest merged evidence span an excerpt needs, for a minimum span of
    ``min_span`` normalised characters: the one evidence rule of the gate and the check.

    A shared run of ``L >= T`` characters always shares a kept k-gram, and its kept
    k-grams, merged (``merge_evidence``), cover at least ``L - 2(T - k)`` of it. One
    shared window (exactly ``k`` characters) is what unrelated texts with a common
    header or table leave, so it is never enough: the floor is at least ``k + 1``
    (two kept windows of one run). Every copy of at least ``max(min_span, T + w)``
    characters is therefore found, and nothing sharing less than ``k + 1`` characters.
    """
    if min_span < 1:
        raise InputError(f"--min-span {min_span} must be a positive number of characters")
    k, t = winnow.noise, winnow.guarantee
    return max(k + 1, min_span - 2 * (t - k))
