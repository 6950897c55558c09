from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.fingerprint import (
    ExcerptFingerprints,
    WinnowParams,
    _native,
    _stream,
    excerpt_fingerprints,
    normalize_text,
    winnow,
)
from consentry.fingerprint._rolling import codepoints, kgram_hashes
from tests.conftest import real_text

PARAMS = WinnowParams()
SOURCE = normalize_text(real_text("GPL-3"))
OTHER = normalize_text(real_text("Apache-2.0"))


def _naive_kgrams(text: str, k: int) -> list[str]:
    return [text[i : i + k] for i in range(len(text) - k + 1)]


@given(st.text(min_size=0, max_size=300), st.integers(1, 12))
def test_equal_kgrams_hash_equal_and_count_is_right(text: str, k: int) -> None:
    hashes = kgram_hashes(codepoints(text), k)
    grams = _naive_kgrams(text, k)
    assert len(hashes) == len(grams)
    by_gram: dict[str, int] = {}
    for gram, value in zip(grams, hashes.tolist(), strict=True):
        assert by_gram.setdefault(gram, value) == value


def _reference_hash(gram: str) -> int:
    """The documented formula, in Python integers: sum((c + 1) * B**(k-1-j)) mod 2**64,
    then MurmurHash3's fmix64."""
    mask, value = 2**64 - 1, 0
    for char in gram:
        value = (value * 0x100000001B3 + ord(char) + 1) & mask
    for multiplier in (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53):
        value ^= value >> 33
        value = (value * multiplier) & mask
    return value ^ (value >> 33)


@given(st.text(min_size=1, max_size=200), st.integers(1, 40))
def test_kgram_hashes_follow_the_documented_formula(text: str, k: int) -> None:
    hashes = kgram_hashes(codepoints(text), k).tolist()
    assert hashes == [_reference_hash(gram) for gram in _naive_kgrams(text, k)]


@given(st.text(st.characters(max_codepoint=127), max_size=300), st.integers(1, 20))
def test_ascii_bytes_hash_like_code_points(text: str, k: int) -> None:
    wide = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    assert np.array_equal(kgram_hashes(codepoints(text), k), kgram_hashes(wide, k))


def test_long_text_hashes_like_its_parts() -> None:
    text = SOURCE * 5
    whole = kgram_hashes(codepoints(text), 50)
    assert len(whole) == len(text) - 49
    # The k-gram at any offset hashes as it does on its own.
    for offset in (0, 70_000, len(text) - 50):
        assert whole[offset] == kgram_hashes(codepoints(text[offset : offset + 50]), 50)[0]


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=400), st.integers(1, 40))
def test_winnowing_selects_the_minimum_of_every_window(values: list[int], window: int) -> None:
    hashes = np.array(values, dtype=np.uint64)
    selected = set(winnow(hashes, window).tolist())
    if len(values) <= window:
        assert min(values) in {values[i] for i in selected}
        return
    for start in range(len(values) - window + 1):
        span = values[start : start + window]
        minimum = min(span)
        assert any(start <= i < start + window and values[i] == minimum for i in selected)
    for i in selected:
        windows = range(max(0, i - window + 1), min(i, len(values) - window) + 1)
        assert any(values[i] == min(values[s : s + window]) for s in windows)


@given(st.data())
def test_any_excerpt_of_the_guarantee_length_shares_a_fingerprint(data: st.DataObject) -> None:
    length = data.draw(st.integers(PARAMS.guarantee, 1200))
    start = data.draw(st.integers(0, len(SOURCE) - length))
    excerpt = SOURCE[start : start + length]
    source = excerpt_fingerprints(SOURCE, PARAMS)
    found = excerpt_fingerprints(excerpt, PARAMS)
    assert set(found.hashes.tolist()) & set(source.hashes.tolist())


@given(st.data())
def test_an_excerpt_inside_unrelated_text_still_matches(data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(SOURCE) - PARAMS.guarantee))
    excerpt = SOURCE[start : start + PARAMS.guarantee]
    cut = data.draw(st.integers(0, len(OTHER)))
    host = OTHER[:cut] + " " + excerpt + " " + OTHER[cut:]
    shared = set(excerpt_fingerprints(host, PARAMS).hashes.tolist()) & set(
        excerpt_fingerprints(SOURCE, PARAMS).hashes.tolist()
    )
    assert shared


def test_density_is_close_to_two_over_window_plus_one() -> None:
    prints = excerpt_fingerprints(SOURCE, PARAMS)
    density = len(prints) / len(SOURCE)
    assert 1.0 / (PARAMS.window + 1) < density < 3.0 / (PARAMS.window + 1)


def test_offsets_point_at_the_kgram_that_was_hashed() -> None:
    prints = excerpt_fingerprints(SOURCE, PARAMS)
    for value, offset in list(zip(prints.hashes.tolist(), prints.offsets.tolist(), strict=True))[
        :20
    ]:
        gram = SOURCE[offset : offset + PARAMS.noise]
        assert kgram_hashes(codepoints(gram), PARAMS.noise)[0] == value


def test_blob_round_trip() -> None:
    prints = excerpt_fingerprints(SOURCE, PARAMS)
    again = ExcerptFingerprints.from_bytes(prints.to_bytes())
    assert np.array_equal(again.hashes, prints.hashes)
    assert np.array_equal(again.offsets, prints.offsets)
    with pytest.raises(ValueError, match="whole number"):
        ExcerptFingerprints.from_bytes(b"\0" * 13)


def test_unrelated_documents_share_few_fingerprints() -> None:
    a = set(excerpt_fingerprints(SOURCE, PARAMS).hashes.tolist())
    b = set(excerpt_fingerprints(OTHER, PARAMS).hashes.tolist())
    assert len(a & b) <= 0.02 * min(len(a), len(b))


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="noise threshold"):
        WinnowParams(noise=300, guarantee=200)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(1, 3), max_size=400),
    st.integers(1, 6),
    st.booleans(),
    st.sampled_from([1, 2, 3, 5, 100]),
    st.sampled_from([1, 2, 4, 7, 101, 130]),
    st.sampled_from([1, 16, 4096]),
)
def test_winnowing_block_by_block_equals_winnowing_every_hash(
    values: list[int], period: int, as_bytes: bool, k: int, window: int, block: int
) -> None:
    """The block-by-block winnower (which the fingerprinter uses) selects what
    winnowing the full array of k-gram hashes selects, ties included, across block
    boundaries: a small alphabet and periodic text repeat k-grams, so equal hashes are
    common here."""
    if values and period < len(values):
        values = (values[:period] * (len(values) // period + 1))[: len(values)]
    cps = np.array(values, dtype=np.uint8 if as_bytes else np.uint32)
    _, hashes, positions = _stream.stream_prints(cps, 9, 16, 1, k, window, block=block)
    every = _native.kgram_hashes(cps, k)
    selected = _native.winnow_positions(every, window)
    assert positions.tolist() == selected.tolist()
    assert hashes.tolist() == every[selected].tolist()
