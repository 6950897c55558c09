"""Index lookups compiled by numba: the per-item work of ``MatchIndex.match`` with no
Python loop per band, per hash or per posting."""

from __future__ import annotations

from typing import Any

import numpy as np

from consentry._jit import jit

__all__ = ["band_keys", "bloom_contains", "excerpt_evidence", "near_matches", "probe_postings"]

_ONE = np.uint64(1)
_LOW = np.uint64(0xFFFFFFFF)
_HALF = np.uint64(32)
_WORD = np.uint64(6)
_BIT = np.uint64(63)


@jit
def bloom_contains(bits: Any, probes: int, hashes: Any) -> Any:
    """For each hash: False when certainly absent from the filter, True otherwise.
    Probes are ``h1 + i * h2`` (Kirsch and Mitzenmacher) over the hash's two halves."""
    m = np.uint64(bits.shape[0] * 64)
    out = np.empty(hashes.shape[0], dtype=np.bool_)
    for j in range(hashes.shape[0]):
        h = hashes[j]
        low = h & _LOW
        high = (h >> _HALF) | _ONE
        present = True
        for i in range(probes):
            position = (low + np.uint64(i) * high) % m
            if not (bits[position >> _WORD] >> (position & _BIT)) & _ONE:
                present = False
                break
        out[j] = present
    return out


@jit
def probe_postings(
    bits: Any, probes: int, posting_hashes: Any, posting_spread: Any, hashes: Any, spread: Any
) -> tuple[Any, Any, Any]:
    """For each query hash the Bloom filter lets through and the postings hold: its
    position in the query, and its posting range. Adds to ``spread`` (per query hash)
    how many of this segment's works hold it."""
    maybe = bloom_contains(bits, probes, hashes)
    count = 0
    for j in range(hashes.shape[0]):
        count += maybe[j]
    queries = np.empty(count, dtype=np.int64)
    lefts = np.empty(count, dtype=np.int64)
    rights = np.empty(count, dtype=np.int64)
    n = posting_hashes.shape[0]
    k = 0
    for j in range(hashes.shape[0]):
        if not maybe[j]:
            continue
        left = np.searchsorted(posting_hashes, hashes[j], side="left")
        if left == n or posting_hashes[left] != hashes[j]:
            continue  # a Bloom false positive
        right = left + 1
        while right < n and posting_hashes[right] == hashes[j]:
            right += 1
        queries[k] = j
        lefts[k] = left
        rights[k] = right
        spread[j] += posting_spread[left]
        k += 1
    return queries[:k], lefts[:k], rights[:k]


@jit
def near_matches(
    band_keys_sorted: Any,
    band_rows: Any,
    keys: Any,
    signatures: Any,
    signature: Any,
    threshold: float,
) -> tuple[Any, Any]:
    """Rows that share a band key with the query and whose signatures agree with it in
    at least ``threshold`` of their positions (the estimated Jaccard similarity), each
    once, ascending; and those similarities."""
    found = []
    for band in range(keys.shape[0]):
        column = band_keys_sorted[band]
        left = np.searchsorted(column, keys[band], side="left")
        right = np.searchsorted(column, keys[band], side="right")
        for k in range(left, right):
            found.append(band_rows[band, k])
    rows = np.unique(np.array(found, dtype=np.int64))
    scores = np.empty(rows.shape[0], dtype=np.float64)
    kept = 0
    for row in rows:
        equal = 0
        for j in range(signature.shape[0]):
            if signatures[row, j] == signature[j]:
                equal += 1
        score = equal / signature.shape[0]
        if score >= threshold:
            rows[kept] = row
            scores[kept] = score
            kept += 1
    return rows[:kept], scores[:kept]


@jit
def excerpt_evidence(
    queries: Any, left: Any, right: Any, posting_works: Any, offsets: Any, noise: int
) -> tuple[Any, Any, Any, Any, Any]:
    """Group the postings of the query hashes (``left``/``right``: each hash's posting
    range) by the row that holds them.

    Returns, per row holding any (ascending): the row, how many distinct query hashes
    it holds, and where its spans are in the flat span arrays; then the spans: the
    query's k-grams ``[offset, offset + noise)`` merged where they overlap or touch.
    """
    total = 0
    for j in range(queries.shape[0]):
        total += right[j] - left[j]
    keys = np.empty(total, dtype=np.int64)
    width = np.int64(offsets.shape[0])
    k = 0
    for j in range(queries.shape[0]):
        for p in range(left[j], right[j]):
            keys[k] = np.int64(posting_works[p]) * width + queries[j]
            k += 1
    keys = np.unique(keys)  # sorted by row, then query
    rows = np.empty(keys.shape[0], dtype=np.int64)
    counts = np.empty(keys.shape[0], dtype=np.int64)
    first = np.empty(keys.shape[0] + 1, dtype=np.int64)
    starts = np.empty(keys.shape[0], dtype=np.int64)
    ends = np.empty(keys.shape[0], dtype=np.int64)
    n_rows = 0
    n_spans = 0
    i = 0
    while i < keys.shape[0]:
        row = keys[i] // width
        j = i
        while j < keys.shape[0] and keys[j] // width == row:
            j += 1
        at = np.sort(offsets[keys[i:j] % width].astype(np.int64))
        rows[n_rows] = row
        counts[n_rows] = j - i
        first[n_rows] = n_spans
        for o in at:
            if n_spans > first[n_rows] and o <= ends[n_spans - 1]:
                ends[n_spans - 1] = max(ends[n_spans - 1], o + noise)
            else:
                starts[n_spans] = o
                ends[n_spans] = o + noise
                n_spans += 1
        n_rows += 1
        i = j
    first[n_rows] = n_spans
    return rows[:n_rows], counts[:n_rows], first[: n_rows + 1], starts[:n_spans], ends[:n_spans]


_BASE = np.uint64(0x100000001B3)
_MIX = np.uint64(0xFF51AFD7ED558CCD)
_SHIFT = np.uint64(33)


@jit
def band_keys(signatures: Any, bands: int, rows: int) -> Any:
    """One 64-bit key per band of ``rows`` minima per signature: shape (n, bands). A
    polynomial over the band's values, then half of MurmurHash3's finaliser."""
    n = signatures.shape[0]
    keys = np.empty((n, bands), dtype=np.uint64)
    for i in range(n):
        for band in range(bands):
            key = np.uint64(0)
            for r in range(rows):
                key = key * _BASE + np.uint64(signatures[i, band * rows + r]) + _ONE
            key ^= key >> _SHIFT
            key *= _MIX
            key ^= key >> _SHIFT
            keys[i, band] = key
    return keys
