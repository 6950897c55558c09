"""Per-character kernels compiled by numba: folding text, tokenising code, k-gram hashing
and winnowing by definition (``_stream`` computes the same values block by block).

Everything that touches each character of a 100 GB corpus runs here, as machine code,
with no Python per character. Compiled once per machine (``cache=True`` keeps the
machine code beside this file) and called with numpy arrays of code points: ``uint8``
for ASCII text, ``uint32`` otherwise; numba compiles one version for each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from consentry._jit import inline as _inline
from consentry._jit import jit as _jit

__all__ = [
    "code_tokens",
    "drop_ignorables",
    "fold_ascii",
    "fold_ascii_many",
    "fold_mapped",
    "fold_text",
    "keyword_table",
    "kgram_hashes",
    "oph_signature",
    "winnow_positions",
    "word_key",
]

_BASE = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_ONE = np.uint64(1)
_SHIFT = np.uint64(33)


@_inline
def _fmix64(h: np.uint64) -> np.uint64:  # MurmurHash3's 64-bit finaliser
    h ^= h >> _SHIFT
    h *= _MIX1
    h ^= h >> _SHIFT
    h *= _MIX2
    h ^= h >> _SHIFT
    return h


@_jit
def kgram_hashes(cps: Any, k: int) -> Any:
    """Hash of every k-gram: ``sum((c + 1) * BASE**(k-1-j)) mod 2**64``, then fmix64.
    The same value for the same k-gram whatever array type carries it."""
    n = cps.shape[0]
    if n < k:
        return np.zeros(0, dtype=np.uint64)
    out = np.empty(n - k + 1, dtype=np.uint64)
    top = _ONE
    for _ in range(k):
        top *= _BASE
    h = np.uint64(0)
    for i in range(k):
        h = h * _BASE + (np.uint64(cps[i]) + _ONE)
    out[0] = _fmix64(h)
    for i in range(k, n):
        h = h * _BASE + (np.uint64(cps[i]) + _ONE) - (np.uint64(cps[i - k]) + _ONE) * top
        out[i - k + 1] = _fmix64(h)
    return out


# Unicode Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt, Unicode 15.1).
_IGNORABLE = np.array(
    [
        (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
        (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
        (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
        (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
        (0xE0000, 0xE0FFF),
    ],
    dtype=np.uint32,
)  # fmt: skip


@_inline
def _is_ignorable(c: Any) -> bool:
    if c < 0xAD:
        return False
    for r in range(_IGNORABLE.shape[0]):
        if _IGNORABLE[r, 0] <= c <= _IGNORABLE[r, 1]:
            return True
    return False


@_inline
def _is_unicode_space(c: Any) -> bool:
    # What str.isspace (and so the regex \s) accepts.
    if c < 128:
        return bool(c == 32 or 9 <= c <= 13 or 28 <= c <= 31)
    return bool(
        c == 0x85
        or c == 0xA0
        or c == 0x1680
        or 0x2000 <= c <= 0x200A
        or c == 0x2028
        or c == 0x2029
        or c == 0x202F
        or c == 0x205F
        or c == 0x3000
    )


@_jit
def drop_ignorables(cps: Any) -> Any:
    """``cps`` without default-ignorable code points."""
    out = np.empty(cps.shape[0], dtype=np.uint32)
    m = 0
    for c in cps:
        if not _is_ignorable(c):
            out[m] = c
            m += 1
    return out[:m]


# Each ASCII byte folded: a character str.isspace accepts becomes a space, a capital
# its small letter.
_ASCII_FOLDED = np.array(
    [32 if 9 <= c <= 13 or 28 <= c <= 32 else c + 32 if 65 <= c <= 90 else c for c in range(256)],
    dtype=np.uint8,
)


@_jit
def _fold_ascii_into(raw: Any, out: Any, m: Any) -> Any:
    """``raw`` folded into ``out`` from ``m``; returns where it ends. Without a branch
    per character: each folded byte is written where the next one would go and the end
    moves past it unless it is a space after a space, so the only chain from one
    character to the next is that one addition. (A compiled call, not inlined: inlined
    into a loop over texts, the compiler made this loop a third slower.)"""
    begun = m
    previous = np.uint8(32)  # a space before the first character: leading ones go
    for i in range(raw.shape[0]):
        c = _ASCII_FOLDED[raw[i]]
        out[m] = c
        m += np.int64((c != 32) | (previous != 32))
        previous = c
    if m > begun and out[m - 1] == 32:
        m -= 1
    return m


@_jit
def fold_ascii(raw: Any) -> Any:
    """``fold_text(raw, True)`` for ASCII bytes (every byte below 128)."""
    out = np.empty(raw.shape[0], dtype=np.uint8)
    return out[: _fold_ascii_into(raw, out, np.int64(0))]


@_jit
def fold_ascii_many(raw: Any, bounds: Any) -> tuple[Any, Any]:
    """``fold_ascii`` of each text ``raw[bounds[i]:bounds[i + 1]]``, in one call: the
    folded texts one after another, and where each begins (``len(bounds)`` cuts)."""
    out = np.empty(raw.shape[0], dtype=np.uint8)
    cuts = np.empty(bounds.shape[0], dtype=np.int64)
    m = np.int64(0)
    for t in range(bounds.shape[0] - 1):
        cuts[t] = m
        m = _fold_ascii_into(raw[bounds[t] : bounds[t + 1]], out, m)
    cuts[bounds.shape[0] - 1] = m
    return out[:m], cuts


@_jit
def fold_text(cps: Any, lower_ascii: bool) -> Any:
    """Default-ignorable code points removed, each run of whitespace one space, trimmed,
    and with ``lower_ascii`` ASCII capitals lowered: all of ``normalize_text`` for ASCII
    text (NFKC and case folding change nothing else below 128), its last step beyond."""
    out = np.empty_like(cps)
    m = 0
    space = False
    for c in cps:
        if _is_ignorable(c):
            continue
        if _is_unicode_space(c):
            space = m > 0
            continue
        if space:
            out[m] = 32
            m += 1
            space = False
        out[m] = c + 32 if lower_ascii and 65 <= c <= 90 else c
        m += 1
    return out[:m]


# ``fold_mapped``'s table: a code point with no single-character result, and one that
# normalises to nothing.
SLOW = np.uint32(0xFFFFFFFE)
DROP = np.uint32(0xFFFFFFFF)


@_jit
def fold_mapped(cps: Any, table: Any) -> tuple[Any, int]:
    """``cps`` with each code point replaced by ``table[c]`` (the table says what
    normalising it alone gives), dropping ``DROP``, then folded by ``fold_text``; and 0
    when the result is ASCII, 1 when it is not, 2 (and no result) when a code point is
    outside the table or ``SLOW``: its neighbours matter."""
    mapped = np.empty(cps.shape[0], dtype=np.uint32)
    m = 0
    for c in cps:
        if c >= table.shape[0] or table[c] == SLOW:
            return mapped[:0], 2
        if table[c] != DROP:
            mapped[m] = table[c]
            m += 1
    out = fold_text(mapped[:m], False)
    high = np.uint32(0)
    for c in out:
        high |= c
    return out, 0 if high < 128 else 1


@_inline
def _window_minimum(values: Any, mask: int, start: int, end: int) -> tuple[Any, int, bool]:
    """The least of ``values[j & mask]`` for j in ``start..end``, its rightmost
    position, and whether it occurs more than once (a repeated k-gram). A window is
    rescanned only when its minimum leaves it: rare, and ties rarer still."""
    low = values[start & mask]
    where = start
    tied = False
    for j in range(start + 1, end + 1):
        value = values[j & mask]
        if value < low:
            low = value
            where = j
            tied = False
        elif value == low:
            where = j
            tied = True
    return low, where, tied


@_jit
def winnow_positions(hashes: Any, window: int) -> Any:
    """Positions whose hash is the minimum of some window of ``window`` consecutive
    hashes (ties all selected), ascending. Fewer hashes than a window: the minimum of
    all.

    The window's minimum changes rarely (at about 2 / (window + 1) of positions), so it
    is tracked directly and the window rescanned only when its minimum leaves: O(n)
    expected, with predictable branches. Positions are appended as they are chosen;
    only ties (repeated k-grams, rare) can choose one twice or out of order.
    """
    n = hashes.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    width = min(window, n)
    chosen = np.empty(n + width, dtype=np.int64)
    picked = 0
    unordered = False
    low = hashes[0]
    for i in range(width):
        low = min(low, hashes[i])
    where = 0
    for i in range(width):
        if hashes[i] == low:
            chosen[picked] = i
            picked += 1
            where = i
    for end in range(width, n):
        start = end - width + 1
        value = hashes[end]
        if value <= low:
            low = value
            where = end
            chosen[picked] = end
            picked += 1
        elif where < start:
            low, where, tied = _window_minimum(hashes, -1, start, end)
            if tied:
                unordered = True
                for i in range(start, end + 1):
                    if hashes[i] == low:
                        chosen[picked] = i
                        picked += 1
            else:
                chosen[picked] = where
                picked += 1
    if unordered:
        return np.unique(chosen[:picked])
    return chosen[:picked]


@_inline
def _starts_with(cps: Any, i: int, patterns: Any, row: int, length: int) -> bool:
    # A row indexed in place: taking ``patterns[row]`` as a view costs a reference count.
    if i + length > cps.shape[0]:
        return False
    for j in range(length):
        if cps[i + j] != patterns[row, j]:
            return False
    return True


# Each ASCII character that may be part of an identifier: letters, digits, _ and $.
_IDENTIFIER_ASCII = np.array(
    [chr(c).isalnum() or chr(c) in "_$" for c in range(128)], dtype=np.bool_
)


@_inline
def _is_identifier_char(c: Any) -> bool:
    if c < 128:
        return bool(_IDENTIFIER_ASCII[c])
    return not _is_unicode_space(c)


@_inline
def _key_step(key: np.uint64, c: Any, fold: bool) -> np.uint64:
    """One character more of a word's keyword key (see ``word_key``)."""
    d = np.uint64(c)
    if fold and 65 <= d <= 90:
        d += np.uint64(32)
    return key * _BASE + d + _ONE


@_inline
def _comment_end(
    cps: Any,
    i: int,
    line_comments: Any,
    line_lengths: Any,
    block_opens: Any,
    block_closes: Any,
    open_lengths: Any,
    close_lengths: Any,
) -> int:
    """Where the comment starting at ``i`` ends, or -1 when none starts there. An
    unclosed block comment runs to the end."""
    n = cps.shape[0]
    for b in range(block_opens.shape[0]):
        if _starts_with(cps, i, block_opens, b, open_lengths[b]):
            for j in range(i + open_lengths[b], n):
                if _starts_with(cps, j, block_closes, b, close_lengths[b]):
                    return int(j + close_lengths[b])
            return int(n)
    for b in range(line_comments.shape[0]):
        if _starts_with(cps, i, line_comments, b, line_lengths[b]):
            j = i
            while j < n and cps[j] != 10 and cps[j] != 13:
                j += 1
            return j
    return -1


@_inline
def _member(c: Any, values: Any) -> bool:
    for k in range(values.shape[0]):
        if values[k] == c:
            return True
    return False


@_inline
def _literal_body(cps: Any, i: int, quotes: Any, prefixes: Any) -> int:
    """Where the quote of a literal starting at ``i`` is, after a prefix of up to two
    letters (r"", b'', f""), or -1 when no literal starts there."""
    n = cps.shape[0]
    body = i
    while body < n and body - i < 2 and _member(cps[body], prefixes):
        body += 1
    if body < n and _member(cps[body], quotes):
        return body
    return -1


@_inline
def _literal_end(cps: Any, body: int, tripled: bool) -> int:
    """Where the literal whose opening quote is at ``body`` ends. A backslash escapes
    the next character; a one-line literal left open ends with its line."""
    n = cps.shape[0]
    quote = cps[body]
    j = body + (3 if tripled else 1)
    while j < n:
        d = cps[j]
        if d == 92:
            j += 2
        elif d == quote and not tripled:
            return j + 1
        elif d == quote and j + 2 < n and cps[j + 1] == quote and cps[j + 2] == quote:
            return j + 3
        elif not tripled and (d == 10 or d == 13):
            return j
        else:
            j += 1
    return int(n)


@_inline
def _is_keyword(table: Any, key: np.uint64) -> bool:
    """Whether ``key`` is in ``keyword_table``'s open-addressing table: one probe for
    most words, where a binary search mispredicts a branch at each of its steps."""
    mask = np.uint64(table.shape[0] - 1)
    slot = key & mask
    while table[slot] != 0:
        if table[slot] == key:
            return True
        slot = (slot + _ONE) & mask
    return False


def keyword_table(keys: Sequence[int]) -> Any:
    """Keyword keys (``word_key``) in an open-addressing table for ``code_tokens``:
    at most a quarter full, 0 for an empty slot (no word's key is 0)."""
    size = 4
    while size < 4 * len(keys):
        size *= 2
    table = np.zeros(size, dtype=np.uint64)
    for key in keys:
        if key == 0:
            raise ValueError("a keyword key of 0 would mark an empty slot")
        slot = key & (size - 1)
        while table[slot] != 0:
            slot = (slot + 1) & (size - 1)
        table[slot] = key
    return table


# What an ASCII character may start (``_may_open``): a comment, a literal's prefix or
# its quote.
_OPENS_COMMENT = np.uint8(1)
_IS_PREFIX = np.uint8(2)
_IS_QUOTE = np.uint8(4)


@_jit
def _may_open(line_comments: Any, block_opens: Any, quotes: Any, prefixes: Any) -> Any:
    """For each ASCII character, what it may start: ``_OPENS_COMMENT``, ``_IS_PREFIX``
    and ``_IS_QUOTE`` bits."""
    special = np.zeros(128, dtype=np.uint8)
    for b in range(line_comments.shape[0]):
        if line_comments[b, 0] < 128:
            special[line_comments[b, 0]] |= _OPENS_COMMENT
    for b in range(block_opens.shape[0]):
        if block_opens[b, 0] < 128:
            special[block_opens[b, 0]] |= _OPENS_COMMENT
    for c in quotes:
        if c < 128:
            special[c] |= _IS_QUOTE
    for c in prefixes:
        if c < 128:
            special[c] |= _IS_PREFIX
    return special


@_jit
def code_tokens(
    cps: Any,
    line_comments: Any,
    line_lengths: Any,
    block_opens: Any,
    block_closes: Any,
    open_lengths: Any,
    close_lengths: Any,
    quotes: Any,
    prefixes: Any,
    keywords: Any,
    longest_keyword: int,
    triple: bool,
    fold_keywords: bool,
    with_origins: bool,
) -> tuple[Any, Any, Any]:
    """One pass over source code: (mask of characters outside comments and docstrings,
    canonical token stream as code points, and for each of its code points the index
    of the source character it stands for).

    In the stream identifiers become ``i``, literals ``s`` (adjacent ones merged, as
    the language concatenates them), numbers ``0``; keywords and punctuation stay, one
    space between tokens. With ``triple`` set (Python), three quotes open a literal
    that may span lines, and one that opens a line is a docstring: documentation,
    dropped like a comment. Without ``with_origins`` the third array is empty (the
    gate needs no source positions; the checker does).
    """
    n = cps.shape[0]
    keep = np.ones(n, dtype=np.bool_)
    out = np.empty(2 * n + 1, dtype=np.uint32)
    origin = np.empty(2 * n + 1 if with_origins else 0, dtype=np.int64)
    special = _may_open(line_comments, block_opens, quotes, prefixes)
    m = 0
    last_string = False
    line_start = True
    i = 0
    while i < n:
        c = cps[i]
        if c == 32:  # indentation: a run of spaces skipped in a tight loop
            i += 1
            while i < n and cps[i] == 32:
                i += 1
            continue
        if c == 10 or c == 13:
            line_start = True
            i += 1
            continue
        if _is_unicode_space(c):
            i += 1
            continue
        # Most tokens start with a character that opens no comment and no literal, and
        # the helpers that look further are not called for them: passing them arrays
        # costs reference counts, more than the rest of a token.
        opens = _OPENS_COMMENT | _IS_PREFIX | _IS_QUOTE if c >= 128 else special[c]
        stop = -1
        if opens & _OPENS_COMMENT:
            stop = _comment_end(
                cps, i, line_comments, line_lengths, block_opens, block_closes,
                open_lengths, close_lengths,
            )  # fmt: skip
        if stop >= 0:
            for t in range(i, stop):
                keep[t] = False
            i = stop
            continue
        body = -1
        if c >= 128:
            body = _literal_body(cps, i, quotes, prefixes)
        elif opens & (_IS_PREFIX | _IS_QUOTE):
            # A quote, after a prefix of up to two letters (r"", b'', f"").
            at = i
            while at < n and at - i < 2 and cps[at] < 128 and special[cps[at]] & _IS_PREFIX:
                at += 1
            if at < n and cps[at] < 128 and special[cps[at]] & _IS_QUOTE:
                body = at
            elif at < n and cps[at] >= 128:
                body = _literal_body(cps, i, quotes, prefixes)
        if body >= 0:
            c2 = cps[body]
            tripled = triple and body + 2 < n and cps[body + 1] == c2 and cps[body + 2] == c2
            stop = _literal_end(cps, body, tripled)
            if tripled and line_start:
                for t in range(i, stop):
                    keep[t] = False
            elif not last_string:
                if m:
                    out[m] = 32
                    if with_origins:
                        origin[m] = i
                    m += 1
                out[m] = 115  # "s"
                if with_origins:
                    origin[m] = i
                m += 1
                last_string = True
            line_start = False
            i = stop
            continue
        if m:
            out[m] = 32
            if with_origins:
                origin[m] = i
            m += 1
        last_string = False
        line_start = False
        if 48 <= c <= 57 or (c == 46 and i + 1 < n and 48 <= cps[i + 1] <= 57):
            out[m] = 48  # "0"
            if with_origins:
                origin[m] = i
            m += 1
            i += 1
            while i < n and (_is_identifier_char(cps[i]) or cps[i] == 46):
                i += 1
        elif _is_identifier_char(c):
            j = i + 1
            key = np.uint64(0)
            while j < n and _is_identifier_char(cps[j]):
                j += 1
            # A word longer than every keyword is not one: its key is not needed.
            if j - i <= longest_keyword:
                for t in range(i, j):
                    key = _key_step(key, cps[t], fold_keywords)
            if key != 0 and _is_keyword(keywords, _fmix64(key)):
                for t in range(i, j):
                    d = cps[t]
                    out[m] = d + 32 if fold_keywords and 65 <= d <= 90 else d
                    if with_origins:
                        origin[m] = t
                    m += 1
            else:
                out[m] = 105  # "i"
                if with_origins:
                    origin[m] = i
                m += 1
            i = j
        else:
            out[m] = c
            if with_origins:
                origin[m] = i
            m += 1
            i += 1
    return keep, out[:m], origin[:m] if with_origins else origin


_EMPTY = np.uint32(0xFFFFFFFF)
_LOW32 = np.uint64(0xFFFFFFFF)
_HALF = np.uint64(32)


@_inline
def _bin_of(x: np.uint64, bins: np.uint64) -> np.uint64:
    # Lemire's multiply-shift range reduction on the high half: no division.
    return ((x >> _HALF) * bins) >> _HALF


@_inline
def _oph_update(mins: Any, shingle_hash: np.uint64, seed: np.uint64) -> None:
    x = shingle_hash ^ seed
    b = _bin_of(x, np.uint64(mins.shape[0]))
    mins[b] = min(np.uint32(x & _LOW32), mins[b])


@_jit
def _densify(mins: Any, seed: np.uint64) -> Any:
    """Fill each empty bin from the first non-empty bin its own hash sequence names
    (Shrivastava's optimal densification): a function of the bins alone, so equal sets
    still give equal signatures. No shingle at all: an empty signature."""
    bins = mins.shape[0]
    filled = 0
    for b in range(bins):
        if mins[b] != _EMPTY:
            filled += 1
    if filled == 0:
        return np.zeros(0, dtype=np.uint32)
    out = mins.copy()
    if filled == bins:
        return out
    for b in range(bins):
        if mins[b] != _EMPTY:
            continue
        attempt = np.uint64(1)
        while True:
            probe = _fmix64(seed ^ ((np.uint64(b) << _HALF) | attempt))
            source = _bin_of(probe, np.uint64(bins))
            if mins[source] != _EMPTY:
                out[b] = mins[source]
                break
            attempt += _ONE
    return out


@_jit
def oph_signature(shingle_hashes: Any, bins: int, seed: int) -> Any:
    """One-permutation MinHash (Li, Owen and Zhang 2012) of a multiset of shingle hashes:
    each hash (XOR a seed) falls in one of ``bins`` bins by its high half and the bin
    keeps the least low half; empty bins are then densified. One pass, where ``bins``
    independent permutations take ``bins`` passes; the same Jaccard estimate."""
    mixed = _fmix64(np.uint64(seed))
    mins = np.full(bins, _EMPTY, dtype=np.uint32)
    for i in range(shingle_hashes.shape[0]):
        _oph_update(mins, shingle_hashes[i], mixed)
    return _densify(mins, mixed)


@_jit
def word_key(cps: Any, fold: bool) -> np.uint64:
    """The key ``code_tokens`` looks a word up by (for building keyword tables)."""
    key = np.uint64(0)
    for c in cps:
        key = _key_step(key, c, fold)
    return _fmix64(key)
