"""Text normalisation for exact and excerpt matching.

A copy that differs only in whitespace, line endings, letter case, compatibility forms
(fullwidth letters, ligatures) or invisible characters must normalise to the same string.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from consentry._jit import cache_folder, write_whole
from consentry.fingerprint import _native
from consentry.fingerprint._rolling import CodePoints, codepoints

__all__ = ["normalize_text", "normalized_stream"]

# Unicode Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15.1): characters
# that render as nothing. Copiers insert them (zero-width spaces, joiners, variation
# selectors, tag characters) to defeat naive matching, so they are removed outright.
_DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def _wide(text: str) -> npt.NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _text(cps: npt.NDArray[np.uint32]) -> str:
    return cps.tobytes().decode("utf-32-le")


def _fold_ascii(text: str) -> npt.NDArray[np.uint8]:
    # Nothing below 128 is changed by NFKC or is invisible: case and whitespace are
    # folded in one native pass.
    folded: npt.NDArray[np.uint8] = _native.fold_ascii(
        np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    )
    return folded


# Hangul jamo compose algorithmically with the syllables before them.
_JAMO = ((0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF))


def _composition_seconds() -> set[int]:
    """Code points that canonical composition joins to the character before them."""
    seconds = set()
    for c in range(0x10000):
        decomposition = unicodedata.decomposition(chr(c))
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                seconds.add(int(parts[1], 16))
    return seconds


@cache
def _single_character_table() -> npt.NDArray[np.uint32]:
    """``_build_single_character_table()``, built once per install rather than once per
    process (it takes a process most of a second): kept in ``cache_folder()``, and
    only when the first text that is not ASCII asks for it."""
    folder = cache_folder()
    if folder is None:
        return _build_single_character_table()
    name = f"folding-py{sys.version_info[0]}{sys.version_info[1]}"
    return _kept_table(folder / f"{name}-unicode{unicodedata.unidata_version}.bin")


# A kept table: this tag, the key it was built for, the table (little-endian), and a
# digest of the key and the table, so that a damaged or short file is never used.
_TABLE_TAG = b"consentry folding 1\n"
_TABLE_BYTES = 0x10000 * 4
_DIGEST = 32


def _table_key() -> bytes | None:
    """What the table is a function of: Python (its NFKC and case folding), its
    Unicode database, and this module (how the table is built); None when this
    module's source cannot be read to tell."""
    made_by = "\0".join(
        [sys.version, unicodedata.unidata_version, str(_native.SLOW), str(_native.DROP)]
    )
    try:
        source = Path(__file__).read_bytes()
    except OSError:
        return None
    return hashlib.sha256(made_by.encode() + source).digest()


def _kept_table(path: Path) -> npt.NDArray[np.uint32]:
    """The table kept in ``path``, when it is whole and was built for this key; else
    built, and kept there for the next process."""
    key = _table_key()
    if key is None:
        return _build_single_character_table()
    if (kept := _read_table(path, key)) is not None:
        return kept
    table = _build_single_character_table()
    payload = key + table.astype("<u4").tobytes()
    write_whole(path, _TABLE_TAG + payload + hashlib.sha256(payload).digest())
    return table


def _read_table(path: Path, key: bytes) -> npt.NDArray[np.uint32] | None:
    """The table in ``path`` if the file is exactly a table built for ``key``, else
    None (missing, short, damaged, another build's)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    size = len(_TABLE_TAG) + len(key) + _TABLE_BYTES + _DIGEST
    if len(data) != size or not data.startswith(_TABLE_TAG):
        return None
    payload, digest = data[len(_TABLE_TAG) : -_DIGEST], data[-_DIGEST:]
    if payload[: len(key)] != key or hashlib.sha256(payload).digest() != digest:
        return None
    # A copy: writable and in native order, the array type the kernels were compiled for.
    return np.frombuffer(payload[len(key) :], dtype="<u4").astype(np.uint32)


def _build_single_character_table() -> npt.NDArray[np.uint32]:
    """For each code point of the Basic Multilingual Plane: what a normalising pass
    (NFKC, case folding, NFKC) makes of it alone, when that is one character that
    nothing around it can change (``DROP`` for invisible ones); ``SLOW`` when its
    neighbours matter (combining marks, characters composed with the one before) or it
    becomes several characters. Text made only of the former normalises character by
    character: each stage then leaves a string no composition or reordering touches."""
    seconds = _composition_seconds()

    def stable(c: int) -> bool:
        return (
            unicodedata.combining(chr(c)) == 0
            and c not in seconds
            and not any(low <= c <= high for low, high in _JAMO)
            and not 0xD800 <= c <= 0xDFFF
        )

    table = np.full(0x10000, _native.SLOW, dtype=np.uint32)
    for c in range(0x10000):
        char = chr(c)
        if _DEFAULT_IGNORABLE.match(char):
            table[c] = _native.DROP
            continue
        if not stable(c):
            continue
        first = unicodedata.normalize("NFKC", char)
        if len(first) != 1 or not stable(ord(first)):
            continue
        folded = first.casefold()
        if len(folded) != 1:
            continue
        last = unicodedata.normalize("NFKC", folded)
        if len(last) == 1 and stable(ord(last)) and last.casefold() == last:
            table[c] = _native.DROP if _DEFAULT_IGNORABLE.match(last) else ord(last)
    return table


def _fold_by_table(text: str) -> tuple[npt.NDArray[np.uint32], bool] | None:
    """``normalize_text(text)`` as code points, and whether they are all ASCII, when
    every character of ``text`` normalises on its own (most text), else None."""
    folded, status = _native.fold_mapped(_wide(text), _single_character_table())
    return None if status == 2 else (folded, status == 0)


def normalized_stream(text: str) -> tuple[CodePoints, bytes]:
    """``normalize_text(text)`` as code points, and as the UTF-8 bytes its digest is
    taken over; ASCII text is never turned back into a string."""
    if text.isascii():
        folded = _fold_ascii(text)
        return folded, folded.tobytes()
    if (by_table := _fold_by_table(text)) is not None:
        wide, ascii_only = by_table
        if ascii_only:
            narrow = wide.astype(np.uint8)
            return narrow, narrow.tobytes()
        return wide, _text(wide).encode("utf-8")
    normalised = _normalize_fully(text)
    return codepoints(normalised), normalised.encode("utf-8")


def _normalize_once(text: str) -> str:
    text = _text(_native.drop_ignorables(_wide(text)))
    # NFKC, then case folding, then NFKC again: folding can leave a string that is no
    # longer NFKC (Unicode's toNFKC_Casefold has the same shape).
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return _text(_native.fold_text(_wide(text), False))


def _is_fixpoint(text: str) -> bool:
    """Whether another pass would leave ``text`` (a pass's result) unchanged. A pass
    ends with ``fold_text``, which removes every default-ignorable character, so only
    NFKC and case folding can still change it."""
    return unicodedata.is_normalized("NFKC", text) and text == text.casefold()


def normalize_text(text: str) -> str:
    """Return the canonical form of ``text`` used by every text fingerprint.

    NFKC, default-ignorable characters removed, case folded, every run of whitespace
    (line endings included) collapsed to one space, trimmed. Idempotent:
    ``normalize_text(normalize_text(t)) == normalize_text(t)``.
    """
    if text.isascii():
        return _fold_ascii(text).tobytes().decode("ascii")
    if (by_table := _fold_by_table(text)) is not None:
        return _text(by_table[0])
    return _normalize_fully(text)


def _normalize_fully(text: str) -> str:
    """``normalize_text`` through Unicode normalisation, for text the faster paths do
    not take."""
    current = _normalize_once(text)
    # Another pass can only change a result that is not yet NFKC or not casefolded
    # (its whitespace is already collapsed, its invisible characters gone). This
    # check costs a fraction of a pass, so nearly all text is normalised in one.
    if _is_fixpoint(current):
        return current
    # Removing an invisible character can bring a base letter and a combining mark
    # together, which NFKC then composes; repeat until nothing changes.
    while True:
        again = _normalize_once(current)
        if again == current:
            return current
        current = again
