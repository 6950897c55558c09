"""Index lookups compiled by numba: the per-item work of ``MatchIndex.match`` with no
Python loop per band, per hash or per posting."""

from __future__ import annotations

from typing import Any

import numpy as np

from consentry._jit import inline, jit
from consentry.fingerprint._native import _fmix64

__all__ = [
    "band_buckets",
    "band_keys",
    "bloom_blocks",
    "bloom_contains",
    "bloom_masks",
    "bucket_bits",
    "digest_rows",
    "excerpt_evidence",
    "excerpt_evidence_many",
    "group_ranges",
    "near_matches",
    "posting_buckets",
    "posting_hashes",
    "posting_keys",
    "probe_postings",
    "shard_routes",
]

_ONE = np.uint64(1)
_LOW = np.uint64(0xFFFFFFFF)
_HALF = np.uint64(32)


# The Parquet split-block Bloom filter's salts: one odd multiplier per word of a block.
_SALTS = np.array(
    [
        0x47B6137B,
        0x44974D91,
        0x8824AD5B,
        0xA2B7289D,
        0x705495C7,
        0x2DF1424B,
        0x9EFC4947,
        0x5C6BFB31,
    ],
    dtype=np.uint64,
)
_FIVE = np.uint64(27)


@inline
def _block_of(h: np.uint64, blocks: np.uint64) -> np.uint64:
    # Lemire's multiply-shift on the high half: a block without a division.
    return ((h >> _HALF) * blocks) >> _HALF


@inline
def _word_bit(h: np.uint64, word: int) -> np.uint32:
    return np.uint32(_ONE << ((((h & _LOW) * _SALTS[word]) & _LOW) >> _FIVE))


@jit
def bloom_blocks(hashes: Any, blocks: int) -> Any:
    """The block each hash belongs to."""
    out = np.empty(hashes.shape[0], dtype=np.int64)
    for j in range(hashes.shape[0]):
        out[j] = _block_of(hashes[j], np.uint64(blocks))
    return out


@jit
def bloom_masks(hashes: Any) -> Any:
    """The bit each hash sets in each of its block's eight words: shape (n, 8)."""
    out = np.empty((hashes.shape[0], 8), dtype=np.uint32)
    for j in range(hashes.shape[0]):
        for word in range(8):
            out[j, word] = _word_bit(hashes[j], word)
    return out


@inline
def _bloom_has(blocks: Any, h: np.uint64) -> bool:
    b = _block_of(h, np.uint64(blocks.shape[0]))
    # Branch-free: the eight words of one cache line, tested together.
    missing = np.uint32(0)
    for word in range(8):
        bit = _word_bit(h, word)
        missing |= (blocks[b, word] & bit) ^ bit
    return bool(missing == 0)


@jit
def bloom_contains(blocks: Any, hashes: Any) -> Any:
    """For each hash: False when certainly absent from the filter, True otherwise."""
    out = np.empty(hashes.shape[0], dtype=np.bool_)
    for j in range(hashes.shape[0]):
        out[j] = _bloom_has(blocks, hashes[j])
    return out


# Winnowed hashes are minima of windows of hashes: their leading bits are mostly zero,
# and the Bloom filter's blocks and the posting buckets are chosen by leading bits. A
# posting's key is its hash times an odd constant, a bijection modulo 2**64 whose
# leading bits depend on every bit of the hash.
_KEY = np.uint64(0x9E3779B97F4A7C15)
_KEY_INVERSE = np.uint64(pow(0x9E3779B97F4A7C15, -1, 1 << 64))


@jit
def posting_keys(hashes: Any) -> Any:
    """The key each excerpt hash is filed under."""
    return hashes * _KEY


@jit
def posting_hashes(keys: Any) -> Any:
    """The excerpt hash each key was made from (``posting_keys`` undone)."""
    return keys * _KEY_INVERSE


def bucket_bits(postings: int) -> int:
    """How many leading bits of a hash name its bucket: about four postings per bucket,
    at least two buckets."""
    return max(1, (max(1, postings // 4) - 1).bit_length())


@jit
def posting_buckets(keys: Any, bits: int) -> Any:
    """For sorted keys: where each bucket (the key's top ``bits`` bits) starts, and the
    end after the last, so a lookup reads one short run instead of binary-searching the
    whole array."""
    buckets = 1 << bits
    shift = np.uint64(64 - bits)
    out = np.empty(buckets + 1, dtype=np.int64)
    b = 0
    for i in range(keys.shape[0]):
        mine = np.int64(keys[i] >> shift)
        while b <= mine:
            out[b] = i
            b += 1
    while b <= buckets:
        out[b] = keys.shape[0]
        b += 1
    return out


@inline
def _first_not_below(values: Any, low: int, high: int, key: Any) -> int:
    """The first position in ``values[low:high]`` (ascending) not below ``key``:
    searched in place, where a slice and ``np.searchsorted`` cost a reference count."""
    while low < high:
        middle = (low + high) >> 1
        if values[middle] < key:
            low = middle + 1
        else:
            high = middle
    return low


@inline
def _first_above(values: Any, low: int, high: int, key: Any) -> int:
    """The first position in ``values[low:high]`` (ascending) above ``key``."""
    while low < high:
        middle = (low + high) >> 1
        if values[middle] <= key:
            low = middle + 1
        else:
            high = middle
    return low


@jit
def probe_postings(
    blocks: Any,
    keys: Any,
    buckets: Any,
    posting_spread: Any,
    hashes: Any,
    spread: Any,
) -> tuple[Any, Any, Any]:
    """For each query hash the Bloom filter lets through and the postings hold: its
    position in the query, and its posting range (in ``keys``, sorted). Adds to
    ``spread`` (per query hash) how many of this segment's works hold it."""
    bits = 0
    while (1 << bits) < buckets.shape[0] - 1:
        bits += 1
    shift = np.uint64(64 - bits)
    wanted = posting_keys(hashes)
    # The filter first, for every key: independent loads the processor overlaps.
    maybe = bloom_contains(blocks, wanted)
    queries = np.empty(hashes.shape[0], dtype=np.int64)
    lefts = np.empty(hashes.shape[0], dtype=np.int64)
    rights = np.empty(hashes.shape[0], dtype=np.int64)
    k = 0
    for j in range(hashes.shape[0]):
        if not maybe[j]:
            continue
        key = wanted[j]
        b = np.int64(key >> shift)
        # A bucket holds about four postings, but one hash held by thousands of works
        # (a common code idiom) fills its bucket: binary search, never a scan.
        end = buckets[b + 1]
        left = _first_not_below(keys, buckets[b], end, key)
        if left == end or keys[left] != key:
            continue  # a Bloom false positive
        queries[k] = j
        lefts[k] = left
        rights[k] = _first_above(keys, left + 1, end, key)
        spread[j] += posting_spread[left]
        k += 1
    return queries[:k], lefts[:k], rights[:k]


@jit
def shard_routes(values: Any, shards: int) -> Any:
    """The shard of ``shards`` each 64-bit value routes to: the value mixed by
    MurmurHash3's finaliser, then Lemire's multiply-shift on the high half. Mixed,
    because inside a shard the Bloom filter and the buckets pick by a key's leading
    bits: a shard chosen by those same bits would hold one narrow range of keys."""
    out = np.empty(values.shape[0], dtype=np.int64)
    count = np.uint64(shards)
    for i in range(values.shape[0]):
        out[i] = np.int64(((_fmix64(np.uint64(values[i])) >> _HALF) * count) >> _HALF)
    return out


@jit
def group_ranges(starts: Any, keys: Any, groups: Any, queries: Any) -> tuple[Any, Any]:
    """For each query key and its group: the range of that key in the group's run of
    ``keys`` (group ``g`` owns ``keys[starts[g]:starts[g + 1]]``, ascending), as two
    arrays of positions, ``[left, right)``."""
    lefts = np.empty(queries.shape[0], dtype=np.int64)
    rights = np.empty(queries.shape[0], dtype=np.int64)
    for j in range(queries.shape[0]):
        low, high = starts[groups[j]], starts[groups[j] + 1]
        lefts[j] = _first_not_below(keys, low, high, queries[j])
        rights[j] = _first_above(keys, lefts[j], high, queries[j])
    return lefts, rights


@inline
def _compare_digest(digests_sorted: Any, at: int, digests: Any, q: int) -> int:
    """-1, 0 or 1 as stored digest ``at`` is below, equal to or above query ``q``."""
    for j in range(32):
        if digests_sorted[at, j] != digests[q, j]:
            return -1 if digests_sorted[at, j] < digests[q, j] else 1
    return 0


@inline
def _grown(values: Any, kept: int, needed: int) -> Any:
    """``values`` with room for ``needed`` entries, its first ``kept`` kept."""
    if needed <= values.shape[0]:
        return values
    more = np.empty(2 * needed, dtype=values.dtype)
    more[:kept] = values[:kept]
    return more


@jit
def digest_rows(digests_sorted: Any, order: Any, digests: Any) -> tuple[Any, Any]:
    """For each query digest (rows of ``digests``, shape (q, 32)), the rows whose digest
    equals it: pairs (query, row), queries ascending. ``digests_sorted`` holds every
    row's digest as bytes, shape (n, 32), ascending; ``order`` its rows."""
    n = digests_sorted.shape[0]
    queries = np.empty(digests.shape[0], dtype=np.int64)
    rows = np.empty(digests.shape[0], dtype=np.int64)
    found = 0
    for q in range(digests.shape[0]):
        low, high = 0, n
        while low < high:  # the first digest not below the query
            middle = (low + high) // 2
            if _compare_digest(digests_sorted, middle, digests, q) < 0:
                low = middle + 1
            else:
                high = middle
        stop = low
        while stop < n and _compare_digest(digests_sorted, stop, digests, q) == 0:
            stop += 1
        queries = _grown(queries, found, found + stop - low)
        rows = _grown(rows, found, found + stop - low)
        for at in range(low, stop):
            queries[found] = q
            rows[found] = order[at]
            found += 1
    return queries[:found], rows[:found]


@jit
def band_buckets(band_keys_sorted: Any, bits: int) -> Any:
    """Per band, ``posting_buckets`` over its sorted keys (``bucket_bits`` of a band's
    width): a query's band key is then found in one short run, where a binary search
    over the band is a dozen dependent loads (most of a near lookup's time)."""
    bands = band_keys_sorted.shape[0]
    out = np.empty((bands, (1 << bits) + 1), dtype=np.int64)
    for band in range(bands):
        out[band] = posting_buckets(band_keys_sorted[band], bits)
    return out


@inline
def _band_candidates(
    band_keys_sorted: Any,
    band_rows: Any,
    buckets: Any,
    keys: Any,
    q: int,
    lefts: Any,
    rights: Any,
    found: Any,
) -> tuple[Any, int]:
    """The rows sharing a band key with query ``q``, each once, ascending: the first
    of the returned count in ``found`` (grown and returned when too small)."""
    bands = band_keys_sorted.shape[0]
    bits = 0
    while (1 << bits) < buckets.shape[1] - 1:
        bits += 1
    shift = np.uint64(64 - bits)
    total = 0
    for band in range(bands):
        key = keys[q, band]
        b = np.int64(key >> shift)
        # Binary search within the bucket: identical works (generated pages) can fill
        # one with a single key.
        end = buckets[band, b + 1]
        low, high = buckets[band, b], end
        while low < high:
            middle = (low + high) >> 1
            if band_keys_sorted[band, middle] < key:
                low = middle + 1
            else:
                high = middle
        # A key is shared by a few rows at most: the end of its run is stepped to.
        right = low
        while right < end and band_keys_sorted[band, right] == key:
            right += 1
        lefts[band] = low
        rights[band] = right
        total += right - low
    if total > found.shape[0]:
        found = np.empty(2 * total, dtype=np.int64)
    # Few rows: each is inserted in order into the distinct ones so far, where sorting
    # a new array per query cost more than the lookup.
    k = 0
    for band in range(bands):
        for at in range(lefts[band], rights[band]):
            row = band_rows[band, at]
            j = k
            while j > 0 and found[j - 1] > row:
                j -= 1
            if j > 0 and found[j - 1] == row:
                continue
            for m in range(k, j, -1):
                found[m] = found[m - 1]
            found[j] = row
            k += 1
    return found, k


@jit
def near_matches(
    band_keys_sorted: Any,
    band_rows: Any,
    buckets: Any,
    signatures: Any,
    queries: Any,
    rows_per_band: int,
    threshold: float,
) -> tuple[Any, Any, Any]:
    """For each query signature (rows of ``queries``): the rows that share a band key
    with it and whose signatures agree with it in at least ``threshold`` of their
    positions (the estimated Jaccard similarity), each once, ascending; as triples
    (query, row, similarity), queries ascending. ``buckets``: ``band_buckets`` of the
    sorted band keys."""
    bands = band_keys_sorted.shape[0]
    permutations = queries.shape[1]
    keys = band_keys(queries, bands, rows_per_band)
    lefts = np.empty(bands, dtype=np.int64)
    rights = np.empty(bands, dtype=np.int64)
    out_queries = np.empty(0, dtype=np.int64)
    out_rows = np.empty(0, dtype=np.int64)
    out_scores = np.empty(0, dtype=np.float64)
    kept = 0
    candidates = np.empty(64, dtype=np.int64)
    for q in range(queries.shape[0]):
        candidates, many = _band_candidates(
            band_keys_sorted, band_rows, buckets, keys, q, lefts, rights, candidates
        )
        out_queries = _grown(out_queries, kept, kept + many)
        out_rows = _grown(out_rows, kept, kept + many)
        out_scores = _grown(out_scores, kept, kept + many)
        for c in range(many):
            row = candidates[c]
            equal = 0
            for j in range(permutations):
                equal += int(signatures[row, j] == queries[q, j])
            score = equal / permutations
            if score >= threshold:
                out_queries[kept] = q
                out_rows[kept] = row
                out_scores[kept] = score
                kept += 1
    return out_queries[:kept], out_rows[:kept], out_scores[:kept]


@inline
def _is_evidence(held: Any, max_works: int) -> bool:
    # Held by no work of any segment: not found; by more than max_works: boilerplate,
    # not evidence of copying any one work.
    return bool(0 < held <= max_works)


@inline
def _next_row(posting_works: Any, p: int, end: int) -> int:
    """Where the postings of the next row begin after posting ``p``, within a hash's
    range ending at ``end``. A hash's postings are in ascending row order, and
    repetitive code holds one hash at hundreds of offsets of one work: only its row
    matters here, so a run of one row is skipped by binary search."""
    row = posting_works[p]
    if p + 1 >= end or posting_works[p + 1] != row:
        return p + 1
    return _first_above(posting_works, p + 1, end, row)


@jit
def _number_rows(
    queries: Any, left: Any, right: Any, spread: Any, max_works: int, posting_works: Any
) -> tuple[Any, Any, Any]:
    """For each evidence posting in query order (the first of each row in each hash's
    range: see ``_next_row``), the number of its row in the order rows are first seen;
    those rows; and how many postings each holds. The rows hit are few, so a small
    open-addressing table numbers them."""
    total = 0
    for j in range(queries.shape[0]):
        if _is_evidence(spread[queries[j]], max_works):
            p = left[j]
            while p < right[j]:
                total += 1
                p = _next_row(posting_works, p, right[j])
    size = 16
    while size < 2 * total:
        size *= 2
    table = np.full(size, -1, dtype=np.int64)
    slot_of = np.empty(total, dtype=np.int64)
    seen_rows = np.empty(total, dtype=np.int64)
    sizes = np.zeros(total, dtype=np.int64)
    distinct = 0
    k = 0
    for j in range(queries.shape[0]):
        if not _is_evidence(spread[queries[j]], max_works):
            continue
        p = left[j]
        while p < right[j]:
            row = np.int64(posting_works[p])
            p = _next_row(posting_works, p, right[j])
            probe = (row * 0x9E3779B1) & (size - 1)
            while table[probe] != -1 and seen_rows[table[probe]] != row:
                probe = (probe + 1) & (size - 1)
            if table[probe] == -1:
                table[probe] = distinct
                seen_rows[distinct] = row
                distinct += 1
            slot_of[k] = table[probe]
            sizes[table[probe]] += 1
            k += 1
    return slot_of, seen_rows[:distinct], sizes[:distinct]


@jit
def _queries_by_row(
    queries: Any,
    left: Any,
    right: Any,
    spread: Any,
    max_works: int,
    posting_works: Any,
    slot_of: Any,
    seen_rows: Any,
    sizes: Any,
) -> tuple[Any, Any, Any]:
    """Rows ascending; where each row's query hashes start in the flat array; and that
    array, each row's query hashes in query order (a counting sort)."""
    distinct = seen_rows.shape[0]
    order = np.argsort(seen_rows)
    start = np.zeros(distinct + 1, dtype=np.int64)
    rank = np.empty(distinct, dtype=np.int64)
    for r in range(distinct):
        rank[order[r]] = r
        start[r + 1] = start[r] + sizes[order[r]]
    fill = start[:distinct].copy()
    at_query = np.empty(slot_of.shape[0], dtype=np.int64)
    k = 0
    for j in range(queries.shape[0]):
        if not _is_evidence(spread[queries[j]], max_works):
            continue
        p = left[j]
        while p < right[j]:
            p = _next_row(posting_works, p, right[j])
            r = rank[slot_of[k]]
            at_query[fill[r]] = queries[j]
            fill[r] += 1
            k += 1
    return seen_rows[order], start, at_query


@jit
def _row_spans(
    rows: Any, start: Any, at_query: Any, offsets: Any, noise: int
) -> tuple[Any, Any, Any, Any]:
    """Per row, how many distinct query hashes it holds, and its spans: their k-grams
    ``[offset, offset + noise)`` merged where they overlap or touch."""
    distinct = rows.shape[0]
    counts = np.empty(distinct, dtype=np.int64)
    first = np.empty(distinct + 1, dtype=np.int64)
    starts = np.empty(at_query.shape[0], dtype=np.int64)
    ends = np.empty(at_query.shape[0], dtype=np.int64)
    at = np.empty(at_query.shape[0], dtype=np.int64)
    n_spans = 0
    for r in range(distinct):
        first[r] = n_spans
        count = 0
        previous = -1
        ascending = True
        for i in range(start[r], start[r + 1]):
            q = at_query[i]
            if q == previous:
                continue  # one hash at two offsets of the same work counts once
            previous = q
            at[count] = offsets[q]
            ascending = ascending and (count == 0 or at[count] >= at[count - 1])
            count += 1
        if not ascending:  # offsets not in stream order (never from the winnower)
            at[:count].sort()
        for i in range(count):
            o = at[i]
            if n_spans > first[r] and o <= ends[n_spans - 1]:
                ends[n_spans - 1] = max(ends[n_spans - 1], o + noise)
            else:
                starts[n_spans] = o
                ends[n_spans] = o + noise
                n_spans += 1
        counts[r] = count
    first[distinct] = n_spans
    return counts, first, starts[:n_spans], ends[:n_spans]


@jit
def excerpt_evidence(
    queries: Any,
    left: Any,
    right: Any,
    spread: Any,
    max_works: int,
    posting_works: Any,
    offsets: Any,
    noise: int,
) -> tuple[Any, Any, Any, Any, Any]:
    """Group the postings of the query hashes that are evidence (``left``/``right``:
    each hash's posting range; ``spread``: per query hash, how many works hold it, at
    most ``max_works`` for evidence) by the row that holds them.

    Returns, per row holding any (ascending): the row, how many distinct query hashes
    it holds, and where its spans are in the flat span arrays; then the spans: the
    query's k-grams ``[offset, offset + noise)`` merged where they overlap or touch.
    """
    slot_of, seen_rows, sizes = _number_rows(queries, left, right, spread, max_works, posting_works)
    rows, start, at_query = _queries_by_row(
        queries, left, right, spread, max_works, posting_works, slot_of, seen_rows, sizes
    )
    counts, first, starts, ends = _row_spans(rows, start, at_query, offsets, noise)
    return rows, counts, first, starts, ends


@jit
def excerpt_evidence_many(
    queries: Any,
    left: Any,
    right: Any,
    spread: Any,
    max_works: int,
    posting_works: Any,
    offsets: Any,
    noise: int,
    cuts: Any,
) -> tuple[Any, Any, Any, Any, Any, Any]:
    """``excerpt_evidence`` for several streams at once: stream ``s`` owns the probed
    hashes ``cuts[s]:cuts[s + 1]`` (query positions in one array of every stream's
    hashes, so ``spread`` and ``offsets`` are shared). Returns the streams' results
    one after the other, where each stream's rows begin (``row_cuts``), and ``first``
    pointing into the one array of spans."""
    streams = cuts.shape[0] - 1
    row_cuts = np.zeros(streams + 1, dtype=np.int64)
    rows = np.empty(64, dtype=np.int64)
    counts = np.empty(64, dtype=np.int64)
    first = np.zeros(65, dtype=np.int64)
    starts = np.empty(64, dtype=np.int64)
    ends = np.empty(64, dtype=np.int64)
    kept = spans = 0
    for s in range(streams):
        a, b = cuts[s], cuts[s + 1]
        if a < b:
            r, c, f, st, en = excerpt_evidence(
                queries[a:b], left[a:b], right[a:b], spread, max_works, posting_works,
                offsets, noise,
            )  # fmt: skip
            more, more_spans = r.shape[0], st.shape[0]
            rows = _grown(rows, kept, kept + more)
            counts = _grown(counts, kept, kept + more)
            first = _grown(first, kept + 1, kept + more + 1)
            starts = _grown(starts, spans, spans + more_spans)
            ends = _grown(ends, spans, spans + more_spans)
            rows[kept : kept + more] = r
            counts[kept : kept + more] = c
            first[kept + 1 : kept + more + 1] = f[1:] + spans
            starts[spans : spans + more_spans] = st
            ends[spans : spans + more_spans] = en
            kept += more
            spans += more_spans
        row_cuts[s + 1] = kept
    rows, counts, first = rows[:kept], counts[:kept], first[: kept + 1]
    starts, ends = starts[:spans], ends[:spans]
    return row_cuts, rows, counts, first, starts, ends


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
