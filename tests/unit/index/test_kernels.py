"""The index kernels against plain Python statements of what they compute."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.index import BloomFilter, _kernels


def _evidence_by_hand(
    queries: list[int],
    left: list[int],
    right: list[int],
    spread: list[int],
    max_works: int,
    posting_works: list[int],
    offsets: list[int],
    noise: int,
) -> tuple[list[int], list[int], list[list[tuple[int, int]]]]:
    held: dict[int, set[int]] = {}
    for q, a, b in zip(queries, left, right, strict=True):
        if 0 < spread[q] <= max_works:
            for p in range(a, b):
                held.setdefault(posting_works[p], set()).add(q)
    rows = sorted(held)
    spans = []
    for row in rows:
        merged: list[tuple[int, int]] = []
        for o in sorted(offsets[q] for q in held[row]):
            if merged and o <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], o + noise))
            else:
                merged.append((o, o + noise))
        spans.append(merged)
    return rows, [len(held[r]) for r in rows], spans


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_excerpt_evidence_groups_hits_by_work_and_merges_their_spans(
    data: st.DataObject,
) -> None:
    count = data.draw(st.integers(0, 30))
    offsets = data.draw(st.lists(st.integers(0, 3000), min_size=count, max_size=count))
    # Any range of sorted rows is in ascending row order, as a hash's postings are;
    # runs of one row stand for a hash held at many offsets of one work.
    postings = sorted(data.draw(st.lists(st.integers(0, 9), min_size=1, max_size=120)))
    queries = sorted(data.draw(st.sets(st.integers(0, max(0, count - 1)), max_size=count)))
    queries = [q for q in queries if q < count]
    left = [data.draw(st.integers(0, len(postings) - 1)) for _ in queries]
    right = [min(len(postings), a + data.draw(st.integers(1, 40))) for a in left]
    spread = data.draw(st.lists(st.integers(0, 12), min_size=count, max_size=count))
    rows, counts, first, starts, ends = _kernels.excerpt_evidence(
        np.array(queries, dtype=np.int64),
        np.array(left, dtype=np.int64),
        np.array(right, dtype=np.int64),
        np.array(spread, dtype=np.int64),
        8,
        np.array(postings, dtype=np.uint32),
        np.array(offsets, dtype=np.uint32),
        100,
    )
    want_rows, want_counts, want_spans = _evidence_by_hand(
        queries, left, right, spread, 8, postings, offsets, 100
    )
    assert rows.tolist() == want_rows
    assert counts.tolist() == want_counts
    bounds = first.tolist()
    got = [
        list(zip(starts[a:b].tolist(), ends[a:b].tolist(), strict=True))
        for a, b in pairwise(bounds)
    ]
    assert got == want_spans


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=300),
    st.lists(st.integers(0, 2**64 - 1), max_size=50),
)
def test_probing_finds_exactly_the_posting_range_of_every_held_hash(
    held: list[int], others: list[int]
) -> None:
    hashes = np.array(held + held[: len(held) // 3], dtype=np.uint64)
    keys = np.sort(_kernels.posting_keys(hashes))
    blocks = BloomFilter.build(np.unique(keys))
    buckets = _kernels.posting_buckets(keys, _kernels.bucket_bits(len(keys)))
    query = np.array(held[::2] + others, dtype=np.uint64)
    spread = np.zeros(len(query), dtype=np.int64)
    found, left, right = _kernels.probe_postings(
        blocks.blocks, keys, buckets, np.ones(len(keys), dtype=np.uint32), query, spread
    )
    present = set(held)
    assert found.tolist() == [j for j, h in enumerate(query.tolist()) if h in present]
    wanted = _kernels.posting_keys(query)
    for j, a, b in zip(found.tolist(), left.tolist(), right.tolist(), strict=True):
        assert a == int(np.searchsorted(keys, wanted[j], "left"))
        assert b == int(np.searchsorted(keys, wanted[j], "right"))
        assert set(_kernels.posting_hashes(keys[a:b]).tolist()) == {int(query[j])}
    assert spread.tolist() == [int(h in present) for h in query.tolist()]


@given(st.lists(st.integers(0, 2**64 - 1), max_size=200))
def test_a_posting_key_gives_back_its_hash(values: list[int]) -> None:
    hashes = np.array(values, dtype=np.uint64)
    assert _kernels.posting_hashes(_kernels.posting_keys(hashes)).tolist() == values


def test_posting_keys_spread_winnowed_hashes_over_every_bucket() -> None:
    """Winnowed hashes are window minima, mostly below 2**64 / 50: filed by their own
    leading bits they would crowd a few buckets (and Bloom blocks); their keys fill
    them evenly."""
    rng = np.random.default_rng(11)
    minima = rng.integers(0, 2**64 - 1, size=(20_000, 101), dtype=np.uint64).min(axis=1)
    shift = np.uint64(64 - _kernels.bucket_bits(len(minima)))  # about 2.4 a bucket

    def fullest(values: np.ndarray) -> int:
        return int(np.bincount((values >> shift).astype(np.int64)).max())

    assert fullest(minima) > 50
    assert fullest(_kernels.posting_keys(minima)) <= 15


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_near_matches_are_the_rows_sharing_a_band_and_similar_enough(
    data: st.DataObject,
) -> None:
    bands, rows_per_band = 4, 2
    width = bands * rows_per_band
    count = data.draw(st.integers(1, 30))
    # A tiny alphabet makes shared bands (and equal keys across rows) common.
    values = st.lists(st.integers(0, 2), min_size=width, max_size=width)
    stored = np.array([data.draw(values) for _ in range(count)], dtype=np.uint32).reshape(
        count, width
    )
    queries = np.array(
        [data.draw(values) for _ in range(data.draw(st.integers(1, 4)))], dtype=np.uint32
    )
    threshold = data.draw(st.sampled_from([0.0, 0.5, 0.75, 1.0]))
    keys = _kernels.band_keys(stored, bands, rows_per_band)
    order = np.argsort(keys, axis=0, kind="stable")
    keys_sorted = np.take_along_axis(keys, order, axis=0).T.copy()
    found, rows, scores = _kernels.near_matches(
        keys_sorted,
        order.T.copy(),
        _kernels.band_buckets(keys_sorted, _kernels.bucket_bits(count)),
        stored,
        queries,
        rows_per_band,
        threshold,
    )
    want = []
    for q, query in enumerate(queries):
        mine = _kernels.band_keys(query.reshape(1, -1), bands, rows_per_band)[0]
        want += [
            (q, row, float((stored[row] == query).mean()))
            for row in range(count)
            if (keys[row] == mine).any() and (stored[row] == query).mean() >= threshold
        ]
    assert list(zip(found.tolist(), rows.tolist(), scores.tolist(), strict=True)) == want


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40),
    st.lists(st.binary(min_size=32, max_size=32), max_size=5),
)
def test_digest_rows_are_every_row_with_each_query_digest(
    stored: list[bytes], others: list[bytes]
) -> None:
    # Repeated digests: a work registered twice, a code work's text view.
    stored = stored + stored[: len(stored) // 2]
    order = sorted(range(len(stored)), key=lambda row: stored[row])
    table = np.frombuffer(b"".join(stored[row] for row in order), dtype=np.uint8).reshape(-1, 32)
    queries = stored[::3] + others
    found, rows = _kernels.digest_rows(
        table,
        np.array(order, dtype=np.int64),
        np.frombuffer(b"".join(queries), dtype=np.uint8).reshape(-1, 32),
    )
    want = [(q, row) for q, digest in enumerate(queries) for row in order if stored[row] == digest]
    assert list(zip(found.tolist(), rows.tolist(), strict=True)) == want


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_evidence_for_several_streams_is_each_streams_evidence_in_turn(
    data: st.DataObject,
) -> None:
    count = data.draw(st.integers(0, 40))
    offsets = np.array(
        data.draw(st.lists(st.integers(0, 3000), min_size=count, max_size=count)), np.uint32
    )
    postings = np.array(data.draw(st.lists(st.integers(0, 9), min_size=1, max_size=120)), np.uint32)
    spread = np.array(
        data.draw(st.lists(st.integers(0, 12), min_size=count, max_size=count)), np.int64
    )
    queries = np.array(sorted(data.draw(st.sets(st.integers(0, max(0, count - 1))))), np.int64)
    queries = queries[queries < count]
    left = np.array([data.draw(st.integers(0, len(postings) - 1)) for _ in queries], np.int64)
    right = np.minimum(len(postings), left + 3)
    # Stream boundaries over the query positions, as a chunk of items makes them.
    cuts = np.array(sorted(data.draw(st.lists(st.integers(0, len(queries)), max_size=5))), np.int64)
    cuts = np.concatenate(([0], cuts, [len(queries)]))
    row_cuts, rows, counts, first, starts, ends = _kernels.excerpt_evidence_many(
        queries, left, right, spread, 8, postings, offsets, 100, cuts
    )
    got, want = [], []
    for s, (a, b) in enumerate(pairwise(cuts.tolist())):
        r, c, f, st_, en = _kernels.excerpt_evidence(
            queries[a:b], left[a:b], right[a:b], spread, 8, postings, offsets, 100
        )
        want.append(_grouped(r, c, f, st_, en, 0, len(r)))
        got.append(_grouped(rows, counts, first, starts, ends, row_cuts[s], row_cuts[s + 1]))
    assert got == want
    assert first[-1] == len(starts) == len(ends)


def _grouped(
    rows: np.ndarray,
    counts: np.ndarray,
    first: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    low: int,
    high: int,
) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Rows ``low:high`` of evidence arrays as (row, count, spans)."""
    return [
        (
            int(rows[i]),
            int(counts[i]),
            list(
                zip(
                    starts[first[i] : first[i + 1]].tolist(),
                    ends[first[i] : first[i + 1]].tolist(),
                    strict=True,
                )
            ),
        )
        for i in range(low, high)
    ]


@given(
    st.lists(st.lists(st.integers(0, 20), max_size=30), min_size=1, max_size=5),
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 21)), max_size=40),
)
def test_group_ranges_finds_each_key_within_its_group(
    groups: list[list[int]], queries: list[tuple[int, int]]
) -> None:
    runs = [sorted(group) for group in groups]
    starts = np.cumsum([0, *map(len, runs)])
    keys = np.array([key for run in runs for key in run], dtype=np.uint64)
    asked = [(g % len(runs), key) for g, key in queries]
    lefts, rights = _kernels.group_ranges(
        starts,
        keys,
        np.array([g for g, _ in asked], dtype=np.int64),
        np.array([key for _, key in asked], dtype=np.uint64),
    )
    for (g, key), left, right in zip(asked, lefts.tolist(), rights.tolist(), strict=True):
        run = runs[g]
        start = int(starts[g])
        held = [start + i for i, k in enumerate(run) if k == key]
        expected = (held[0], held[-1] + 1) if held else (start + sum(k < key for k in run),) * 2
        assert (left, right) == expected


def _fmix64_by_hand(h: int) -> int:
    mask = (1 << 64) - 1
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & mask
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & mask
    return h ^ (h >> 33)


@given(st.lists(st.integers(0, 2**64 - 1), max_size=50), st.integers(1, 64))
def test_shard_routes_mixes_then_scales_into_the_shards(values: list[int], shards: int) -> None:
    routes = _kernels.shard_routes(np.array(values, dtype=np.uint64), shards).tolist()
    assert routes == [((_fmix64_by_hand(v) >> 32) * shards) >> 32 for v in values]
    assert all(0 <= route < shards for route in routes)
