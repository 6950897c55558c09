from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.fingerprint import (
    MinHashParams,
    MinHashSignature,
    _native,
    _stream,
    minhash_signatures,
    normalize_text,
    shingle_hashes,
)
from consentry.fingerprint._rolling import codepoints
from tests.conftest import real_text

PARAMS = MinHashParams()


def _signature(text: str) -> MinHashSignature:
    (signature,) = minhash_signatures([shingle_hashes(text, PARAMS)], PARAMS)
    return signature


def _exact_jaccard(a: str, b: str) -> float:
    sa, sb = set(shingle_hashes(a, PARAMS).tolist()), set(shingle_hashes(b, PARAMS).tolist())
    return len(sa & sb) / len(sa | sb)


def _change_words(text: str, share: float, seed: int) -> str:
    rng = random.Random(seed)
    words = text.split(" ")
    for i in rng.sample(range(len(words)), int(len(words) * share)):
        words[i] = words[i][::-1] + "x"
    return " ".join(words)


def test_signature_estimates_jaccard_within_sampling_error() -> None:
    text = normalize_text(real_text("GPL-3"))[:20000]
    for share in (0.01, 0.03, 0.1, 0.3):
        changed = _change_words(text, share, seed=7)
        estimate = _signature(text).jaccard(_signature(changed))
        # Standard error of the estimate is sqrt(J(1-J)/256) <= 0.031.
        assert abs(estimate - _exact_jaccard(text, changed)) < 0.1


def test_three_percent_of_words_changed_stays_above_point_eight() -> None:
    text = normalize_text(real_text("Apache-2.0"))
    changed = _change_words(text, 0.03, seed=3)
    assert _signature(text).jaccard(_signature(changed)) >= 0.8


def test_unrelated_texts_are_far_apart() -> None:
    a = normalize_text(real_text("GPL-3"))
    b = normalize_text(real_text("MPL-2.0"))
    assert _signature(a).jaccard(_signature(b)) < 0.3


def test_batch_equals_one_by_one_and_empty_sets_give_empty_signatures() -> None:
    texts = [normalize_text(real_text(n)) for n in ("GPL-3", "Apache-2.0")] + ["short"]
    batch = minhash_signatures([shingle_hashes(t, PARAMS) for t in texts], PARAMS)
    for text, signature in zip(texts, batch, strict=True):
        assert np.array_equal(signature.values, _signature(text).values)
    assert len(batch[2].values) == 0
    assert len(batch[0].values) == PARAMS.permutations


def test_signature_bytes_round_trip() -> None:
    signature = _signature(normalize_text(real_text()))
    assert np.array_equal(
        MinHashSignature.from_bytes(signature.to_bytes()).values, signature.values
    )


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=600))
def test_the_fingerprinter_computes_the_same_signature_as_from_shingle_hashes(
    text: str,
) -> None:
    """stream_prints fills the bins as it rolls the shingle hashes; the signature must
    equal that of the stream's shingle hashes, sparse (densified) bins included."""
    stream = normalize_text(text)
    fused, _, _ = _stream.stream_prints(
        codepoints(stream), PARAMS.shingle, PARAMS.permutations, PARAMS.seed, 100, 101
    )
    assert np.array_equal(fused, _signature(stream).values)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=300, unique=True), st.randoms())
def test_a_signature_depends_on_the_set_only(hashes: list[int], rng: random.Random) -> None:
    """Order and repeats never change a signature: densified bins included, equal sets
    give equal signatures (what makes a Jaccard estimate possible)."""
    again = hashes + rng.sample(hashes, len(hashes) // 2)
    rng.shuffle(again)
    a, b = (np.array(h, dtype=np.uint64) for h in (hashes, again))
    (first, second) = minhash_signatures([a, b], PARAMS)
    assert np.array_equal(first.values, second.values)
    assert len(first.values) == PARAMS.permutations
    # Densified bins copy values that are in the set's own bins.
    assert set(first.values.tolist()) <= {(h ^ _mixed_seed()) & 0xFFFFFFFF for h in hashes}


def test_short_texts_estimate_similarity_too() -> None:
    """Fewer shingles than bins: densification still ranks a near copy above an
    unrelated text."""
    text = normalize_text(real_text("BSD"))[:300]
    near = text[:280] + "something else entirely"
    other = normalize_text(real_text("GPL-3"))[:300]
    assert _signature(text).jaccard(_signature(near)) > 0.6
    assert _signature(text).jaccard(_signature(other)) < 0.2


def _mixed_seed() -> int:
    mask = 2**64 - 1
    h = PARAMS.seed
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & mask
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & mask
    return h ^ (h >> 33)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 0x10FFFF), max_size=300),
    st.booleans(),
    st.sampled_from([1, 2, 3, 64, 100, 256, 257]),
    st.sampled_from([1, 2, 9, 24]),
    st.integers(0, 2**32 - 1),
    st.sampled_from([1, 8, 64]),
)
def test_the_blockwise_signature_equals_the_signature_of_its_shingle_hashes(
    values: list[int], as_bytes: bool, bins: int, shingle: int, seed: int, block: int
) -> None:
    """Hashing shingles from prefix sums, block by block, changes no value, whatever
    the array type, bin count and block boundaries."""
    cps = (
        np.array([v % 128 for v in values], dtype=np.uint8)
        if as_bytes
        else np.array(values, dtype=np.uint32)
    )
    want = _native.oph_signature(_native.kgram_hashes(cps, shingle), bins, seed)
    got, _, _ = _stream.stream_prints(cps, shingle, bins, seed, 100, 101, block=block)
    assert np.array_equal(got, want)
