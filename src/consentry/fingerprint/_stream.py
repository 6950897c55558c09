"""A stream's prints in one kernel, block by block: its MinHash bins and its winnowed
excerpt fingerprints, the same values as ``shingle_minima`` and ``winnowed_kgrams``.

Those roll one hash per k-gram, a chain of multiplications from each character to the
next that the processor cannot run side by side. Here each block of characters gets
prefix sums of ``(c + 1) * BASE**-t`` first (the base is odd, so it has an inverse
modulo 2**64): a chain of additions only. Every k-gram hash of the block is then
``BASE**(t + k - 1) * (prefix[t + k] - prefix[t])``, independent of the others, so
the compiler hashes several at once in vector registers. Only the two steps that
depend on what came before stay one at a time: the bins each keep their least value,
and the winnower follows its window's minimum, skipping eight hashes at once while
none of them is a new minimum, and rescanning a window (when its minimum leaves) from
the minima of its groups of eight.

``stream_prints_many`` does this for many streams laid end to end in one call, with
one set of scratch arrays: a call costs a few microseconds however short its stream
(each array it returns is made into a Python object), as much as hashing a thousand
characters, so a chunk's streams go together.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from consentry._jit import inline as _inline
from consentry._jit import jit as _jit
from consentry.fingerprint._native import (
    _BASE,
    _EMPTY,
    _LOW32,
    _bin_of,
    _densify,
    _fmix64,
)

__all__ = ["BLOCK", "block_powers", "stream_prints", "stream_prints_many"]

# Hashes per block: their arrays stay in the processor's second-level cache.
BLOCK = 4096
_ONE = np.uint64(1)
_MODULUS = 1 << 64
_BASE_INVERSE = pow(int(_BASE), -1, _MODULUS)


@cache
def block_powers(length: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """``BASE**j`` and ``BASE**-j`` modulo 2**64 for ``j < length``."""
    powers = np.empty(length, dtype=np.uint64)
    inverses = np.empty(length, dtype=np.uint64)
    power = inverse = 1
    for j in range(length):
        powers[j], inverses[j] = power, inverse
        power = power * int(_BASE) % _MODULUS
        inverse = inverse * _BASE_INVERSE % _MODULUS
    powers.flags.writeable = inverses.flags.writeable = False
    return powers, inverses


def stream_prints(
    cps: Any, shingle: int, bins: int, seed: int, noise: int, window: int, *, block: int = BLOCK
) -> tuple[Any, Any, Any]:
    """Everything hashed over one normalised stream: the MinHash signature of its
    ``shingle``-grams in ``bins`` bins (empty for a stream shorter than a shingle), and
    the winnowed ``noise``-gram hashes with their offsets (uint32). ``block``:
    characters hashed at a time (at least a window's worth, rounded up to a power of
    two)."""
    bounds = np.array([0, cps.shape[0]], dtype=np.int64)
    signatures, signed, hashes, offsets, _ = stream_prints_many(
        cps, bounds, shingle, bins, seed, noise, window, block=block
    )
    return signatures[0] if signed[0] else signatures[0, :0], hashes, offsets


def stream_prints_many(
    cps: Any,
    bounds: Any,
    shingle: int,
    bins: int,
    seed: int,
    noise: int,
    window: int,
    *,
    block: int = BLOCK,
) -> tuple[Any, Any, Any, Any, Any]:
    """``stream_prints`` for each stream ``cps[bounds[i]:bounds[i + 1]]``, in one call
    (returning arrays costs about a microsecond each, as much as hashing a thousand
    characters): the signatures as rows (``bins`` wide), whether each stream has one
    (a stream shorter than a shingle has none), every stream's winnowed hashes and
    offsets one after another, and where each stream's begin (``len(bounds)`` cuts)."""
    block = 1 << (max(block, window, 1) - 1).bit_length()
    powers, inverses = block_powers(block + max(shingle, noise))
    return _stream_prints_many(
        cps, bounds, shingle, bins, seed, noise, window, block, powers, inverses
    )


@_inline
def _grown(values: Any, kept: int, size: int) -> Any:
    """``values`` in a new array of ``size``, its first ``kept`` kept."""
    grown = np.empty(size, dtype=values.dtype)
    grown[:kept] = values[:kept]
    return grown


@_jit
def _hash_block(prefix: Any, powers: Any, k: int, count: int, out: Any) -> None:
    """``out[t]``: the hash of the k-gram starting at block position ``t``, for
    ``t < count``. No step depends on another, and slices taken first leave the
    compiler nothing to check per step: it vectorises the loop."""
    scale, ends, starts = powers[k - 1 : k - 1 + count], prefix[k : k + count], prefix[:count]
    for t in range(count):
        out[t] = _fmix64(scale[t] * (ends[t] - starts[t]))


@_jit
def _prefix_sums(cps: Any, first: int, stop: int, inverses: Any, prefix: Any) -> None:
    """``prefix[t]``: the sum of ``(c + 1) * BASE**-j`` over the block's first ``t``
    characters ``cps[first:stop]``."""
    # Slices first: indexing ``cps[first + t]`` would check each index for wrapping.
    count = stop - first
    chars, scales, sums = cps[first:stop], inverses[:count], prefix[1 : count + 1]
    acc = np.uint64(0)
    prefix[0] = acc
    for t in range(count):
        acc += (np.uint64(chars[t]) + _ONE) * scales[t]
        sums[t] = acc


@_jit
def _fill_bins(shingles: Any, count: int, mins: Any, mixed: np.uint64) -> None:
    """Each of the first ``count`` shingle hashes into its bin, which keeps the least."""
    bins = np.uint64(mins.shape[0])
    for t in range(count):
        x = shingles[t] ^ mixed
        b = _bin_of(x, bins)
        mins[b] = min(np.uint32(x & _LOW32), mins[b])


@_inline
def _least(values: Any, low_at: int, high_at: int) -> tuple[Any, int, bool]:
    """The least of ``values[low_at..high_at]``, its rightmost position, and whether
    it occurs more than once: two passes without a branch, which the compiler
    vectorises."""
    low = values[low_at]
    for j in range(low_at + 1, high_at + 1):
        low = min(low, values[j])
    where = low_at
    ties = 0
    for j in range(low_at, high_at + 1):
        equal = values[j] == low
        ties += int(equal)
        where = max(where, j if equal else low_at)
    return low, where, ties > 1


@_inline
def _least_of_eight(values: Any, at: int) -> Any:
    """The least of ``values[at..at + 7]``, as a tree the processor runs side by side."""
    a = min(values[at], values[at + 1])
    b = min(values[at + 2], values[at + 3])
    c = min(values[at + 4], values[at + 5])
    d = min(values[at + 6], values[at + 7])
    return min(a, b, c, d)


@_jit
def _group_minima(values: Any, stop: int, groups: Any) -> None:
    """``groups[g]``: the least of ``values[8g..8g + 7]``, for the groups below ``stop``."""
    for g in range(stop >> 3):
        groups[g] = _least_of_eight(values, g << 3)


@_inline
def _least_grouped(values: Any, groups: Any, low_at: int, high_at: int) -> tuple[Any, int, bool]:
    """As ``_least``, reading whole groups of eight from their minima: a window's
    rescan reads its ~13 groups and the ragged ends, then looks inside only the
    groups that hold the minimum (one, but for repeated k-grams)."""
    first_group, stop_group = (low_at + 7) >> 3, (high_at + 1) >> 3
    if stop_group - first_group < 2:
        return _least(values, low_at, high_at)
    head_stop, tail_start = first_group << 3, stop_group << 3
    low = groups[first_group]
    for g in range(first_group + 1, stop_group):
        low = min(low, groups[g])
    for j in range(low_at, head_stop):
        low = min(low, values[j])
    for j in range(tail_start, high_at + 1):
        low = min(low, values[j])
    # Left to right, so the last one equal to the minimum is the rightmost.
    where, ties = low_at, 0
    for j in range(low_at, head_stop):
        if values[j] == low:
            ties += 1
            where = j
    for g in range(first_group, stop_group):
        if groups[g] == low:
            for j in range(g << 3, (g << 3) + 8):
                if values[j] == low:
                    ties += 1
                    where = j
    for j in range(tail_start, high_at + 1):
        if values[j] == low:
            ties += 1
            where = j
    return low, where, ties > 1


@_inline
def _scratch(block: int, reach: int, window: int) -> tuple[Any, Any, Any, Any]:
    """The arrays a stream is hashed and winnowed in, block by block: prefix sums,
    shingle hashes, the winnower's ring of k-gram hashes and its groups' minima."""
    most = max(1, window) - 1  # positions before a block that a window reaches
    return (
        np.empty(block + reach, dtype=np.uint64),
        np.empty(block, dtype=np.uint64),
        np.empty(most + block, dtype=np.uint64),
        np.empty((most + block) // 8 + 1, dtype=np.uint64),
    )


@_jit
def _stream_prints_many(
    cps: Any,
    bounds: Any,
    shingle: int,
    bins: int,
    seed: int,
    noise: int,
    window: int,
    block: int,
    powers: Any,
    inverses: Any,
) -> tuple[Any, Any, Any, Any, Any]:
    streams = bounds.shape[0] - 1
    mixed = _fmix64(np.uint64(seed))
    signatures = np.zeros((streams, bins), dtype=np.uint32)
    signed = np.zeros(streams, dtype=np.bool_)
    prefix, shingles, ring, groups = _scratch(block, max(shingle, noise), window)
    total = bounds[streams] - bounds[0]
    chosen = np.empty(64 + 2 * window * streams + 4 * total // (window + 1), dtype=np.int64)
    values = np.empty(chosen.shape[0], dtype=np.uint64)
    cuts = np.empty(streams + 1, dtype=np.int64)
    picked = 0
    for i in range(streams):
        cuts[i] = picked
        mins, chosen, values, picked = _one_stream(
            cps[bounds[i] : bounds[i + 1]],
            shingle,
            noise,
            window,
            block,
            powers,
            inverses,
            mixed,
            prefix,
            shingles,
            ring,
            groups,
            chosen,
            values,
            picked,
            np.full(bins, _EMPTY, dtype=np.uint32),
        )
        signature = _densify(mins, mixed)
        if signature.shape[0] > 0:
            signatures[i] = signature
            signed[i] = True
    cuts[streams] = picked
    return signatures, signed, values[:picked].copy(), chosen[:picked].astype(np.uint32), cuts


@_inline
def _one_stream(
    cps: Any,
    shingle: int,
    noise: int,
    window: int,
    block: int,
    powers: Any,
    inverses: Any,
    mixed: Any,
    prefix: Any,
    shingles: Any,
    ring: Any,
    groups: Any,
    chosen: Any,
    values: Any,
    picked: int,
    mins: Any,
) -> tuple[Any, Any, Any, int]:
    """One stream's bins (into ``mins``) and winnowed hashes and offsets (appended to
    ``chosen`` and ``values`` from ``picked``, which grow when full). The scratch
    arrays are shared by every stream of a call."""
    n = cps.shape[0]
    reach = max(shingle, noise)
    count = n - noise + 1  # k-grams to winnow
    width = max(1, min(window, count))
    # The hashes of the positions before this block that a window may still reach,
    # then this block's: ``ring[p - first + back]`` holds position p's.
    back = width - 1
    begun = picked
    low, where, unordered = np.uint64(0), 0, False
    for first in range(0, max(1, n - min(shingle, noise) + 1), block):
        _prefix_sums(cps, first, min(n, first + block + reach - 1), inverses, prefix)
        here = min(block, n - shingle + 1 - first)
        if here > 0:
            _hash_block(prefix, powers, shingle, here, shingles)
            _fill_bins(shingles, here, mins, mixed)
        here = min(block, count - first)
        if here > 0:
            if first > 0:
                ring[:back] = ring[block : block + back]
            _hash_block(prefix, powers, noise, here, ring[back:])
            _group_minima(ring, back + here, groups)
            end = first
            while end < first + here:
                # Room for a window's worth more: the kernel stops short of running out.
                if picked + 2 * width + 8 > chosen.shape[0]:
                    chosen = _grown(chosen, picked, 2 * chosen.shape[0] + 2 * width + 8)
                    values = _grown(values, picked, chosen.shape[0])
                end, picked, low, where, tied = _winnow_block(
                    ring,
                    groups,
                    back - first,
                    end,
                    first + here,
                    width,
                    chosen,
                    values,
                    picked,
                    low,
                    where,
                )
                unordered |= tied
    if unordered:
        # Ties chose some positions twice: sort by position, keep each once.
        positions, hashes = chosen[begun:picked], values[begun:picked]
        order = np.argsort(positions, kind="mergesort")
        positions, hashes = positions[order], hashes[order]
        kept = begun
        for i in range(positions.shape[0]):
            if i == 0 or positions[i] != positions[i - 1]:
                chosen[kept] = positions[i]
                values[kept] = hashes[i]
                kept += 1
        picked = kept
    return mins, chosen, values, picked


@_inline
def _rescan(
    ring: Any,
    groups: Any,
    offset: int,
    start: int,
    end: int,
    chosen: Any,
    values: Any,
    picked: int,
) -> tuple[Any, int, int, bool]:
    """The window ``start..end`` after its minimum left: its new minimum chosen (every
    position holding it, when it is repeated). Returns the minimum, its rightmost
    position, how many are chosen now, and whether several were."""
    low, where, repeated = _least_grouped(ring, groups, start + offset, end + offset)
    if repeated:
        for j in range(start, end + 1):
            if ring[j + offset] == low:
                chosen[picked] = j
                values[picked] = low
                picked += 1
    else:
        chosen[picked] = where - offset
        values[picked] = low
        picked += 1
    return low, where - offset, picked, repeated


@_jit
def _winnow_block(
    ring: Any,
    groups: Any,
    offset: int,
    end: int,
    last: int,
    width: int,
    chosen: Any,
    values: Any,
    picked: int,
    low: Any,
    where: int,
) -> tuple[int, int, Any, int, bool]:
    """Winnow positions ``end..last - 1``, whose hashes (and those of the ``width - 1``
    positions before, for windows reaching back) are ``ring[p + offset]``, and
    ``groups`` the minima of the ring's aligned eights: append each
    window's minimum to ``chosen`` (positions) and ``values`` (hashes), every tie, as
    ``winnow_positions`` does. Stops early, before a position, when fewer than
    ``2 * width`` places are left in ``chosen``. Returns where it stopped, how many
    are chosen, the current minimum and its position, and whether ties left them out
    of order."""
    tied = False
    room = chosen.shape[0] - width
    if end == 0:
        # The first window: its minimum, every tie selected.
        low = ring[offset]
        for j in range(width):
            low = min(low, ring[j + offset])
        for j in range(width):
            if ring[j + offset] == low:
                chosen[picked] = j
                values[picked] = low
                picked += 1
                where = j
        end = width
    while end < last and picked < room:
        # Eight at once while none is a new minimum and the minimum stays in the window:
        # on a group boundary, group after group by its minimum alone.
        if end + 8 <= last and where >= end + 8 - width:
            at = end + offset
            if at & 7 == 0:
                skipped, limit, g = end, min(last, where + width), at >> 3
                while skipped + 8 <= limit and groups[g] > low:
                    skipped += 8
                    g += 1
                if skipped > end:
                    end = skipped
                    continue
            elif _least_of_eight(ring, at) > low:
                end += 8 - (at & 7)  # to the next group boundary, to go on by groups
                continue
        value = ring[end + offset]
        start = end - width + 1
        if value <= low:
            low = value
            where = end
            chosen[picked] = end
            values[picked] = value
            picked += 1
        elif where < start:
            low, where, picked, repeated = _rescan(
                ring, groups, offset, start, end, chosen, values, picked
            )
            tied |= repeated
        end += 1
    return end, picked, low, where, tied
