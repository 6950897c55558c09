from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.fingerprint import (
    ExcerptFingerprints,
    WinnowParams,
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


def test_chunked_hashing_matches_single_pass() -> None:
    from consentry.fingerprint import _rolling

    text = (SOURCE * 40)[: _rolling._CHUNK + 5000]
    whole = kgram_hashes(codepoints(text), 50)
    assert len(whole) == len(text) - 49
    # Every k-gram that straddles the chunk border hashes as it does anywhere else.
    border = _rolling._CHUNK - 10
    gram = text[border : border + 50]
    first = text.find(gram)
    assert whole[border] == whole[first]


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
