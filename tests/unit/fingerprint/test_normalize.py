from __future__ import annotations

import random
import re
import unicodedata

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.fingerprint import _native, normalize_text, text_digest
from tests.conftest import real_text

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\ufe0f"]


@given(st.text())
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_normalised_text_has_no_runs_of_whitespace_or_invisible_characters(text: str) -> None:
    normalised = normalize_text(text)
    assert "  " not in normalised
    assert normalised == normalised.strip()
    assert not any(z in normalised for z in ZERO_WIDTH)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(st.integers(0, 2**32), st.sampled_from(["GPL-3", "Apache-2.0", "MPL-2.0"]))
def test_cosmetic_copies_have_the_same_exact_digest(seed: int, name: str) -> None:
    rng = random.Random(seed)
    original = real_text(name)[:3000]
    digest = text_digest(normalize_text(original))
    variants = [
        original.replace("\n", "\r\n"),
        original.upper(),
        original.replace(" ", "  \t "),
        _fullwidth(original),
        "".join(c + (rng.choice(ZERO_WIDTH) if rng.random() < 0.1 else "") for c in original),
        "\ufeff" + original + "\n\n",
    ]
    for variant in variants:
        assert text_digest(normalize_text(variant)) == digest


def test_different_words_have_different_digests() -> None:
    text = real_text()[:2000]
    assert text_digest(normalize_text(text)) != text_digest(
        normalize_text(text.replace("software", "sofware", 1))
    )


def test_compatibility_and_case_forms_fold_together() -> None:
    assert normalize_text("Ｆｉｌｅ  ＮＡＭＥ") == "file name"
    assert normalize_text("ﬁnal STRASSE") == normalize_text("final straße")
    assert normalize_text("e\u200d\u0301") == "\u00e9"


@given(st.text())
def test_the_one_pass_shortcut_agrees_with_iterating_to_a_fixpoint(text: str) -> None:
    from consentry.fingerprint.normalize import _normalize_once

    reference = _normalize_once(text)
    while _normalize_once(reference) != reference:
        reference = _normalize_once(reference)
    assert normalize_text(text) == reference


@given(st.text(st.characters(max_codepoint=127)))
def test_ascii_text_takes_the_native_path_to_the_same_result(text: str) -> None:
    from consentry.fingerprint.normalize import _normalize_once

    assert normalize_text(text) == _normalize_once(text)


_REFERENCE_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def _reference_once(text: str) -> str:
    """One normalisation pass written with regular expressions, as specified."""
    text = _REFERENCE_IGNORABLE.sub("", text)
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    text = _REFERENCE_IGNORABLE.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


_TRICKY = st.sampled_from(
    ["\u200b", "\u00ad", "\ufe0f", "\u3000", "\u2028", "\x85", "\xa0", "\x1c", "\u0301",
     "\uff21", "ß", "İ", "\U000e0041", " ", "\n", "a"]
)  # fmt: skip


# Unpaired surrogates are not Unicode text: readers and the checker refuse them first.
@given(
    st.lists(st.one_of(_TRICKY, st.characters(exclude_categories=("Cs",))), max_size=60).map(
        "".join
    )
)
def test_the_native_passes_equal_the_regular_expression_specification(text: str) -> None:
    from consentry.fingerprint.normalize import _normalize_once

    assert _normalize_once(text) == _reference_once(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=300))
def test_the_branch_free_ascii_fold_equals_the_general_one(text: str) -> None:
    raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    assert _native.fold_ascii(raw).tobytes() == _native.fold_text(raw, True).tobytes()


def _to_fixpoint(text: str) -> str:
    from consentry.fingerprint.normalize import _normalize_once

    reference = _normalize_once(text)
    while _normalize_once(reference) != reference:
        reference = _normalize_once(reference)
    return reference


def test_every_character_the_table_folds_alone_folds_so_in_context() -> None:
    from consentry.fingerprint.normalize import _fold_by_table

    # Surrogates are not characters: readers and the checker refuse them first.
    for c in [*range(0xD800), *range(0xE000, 0x10000)]:
        text = f"x{chr(c)}Ye{chr(c)}"
        folded = _fold_by_table(text)
        if folded is not None:
            assert _native_text(folded[0]) == _to_fixpoint(text), hex(c)
            assert folded[1] == folded[0].tobytes().decode("utf-32-le").isascii()


def _native_text(cps: np.ndarray) -> str:
    return cps.astype(np.uint32).tobytes().decode("utf-32-le")


_BMP_TEXT = st.lists(
    st.one_of(_TRICKY, st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",))),
    max_size=80,
).map("".join)


@settings(max_examples=500)
@given(_BMP_TEXT)
def test_the_table_path_equals_normalising_to_a_fixpoint(text: str) -> None:
    from consentry.fingerprint.normalize import normalized_stream

    assert normalize_text(text) == _to_fixpoint(text)
    cps, utf8 = normalized_stream(text)
    assert utf8 == _to_fixpoint(text).encode("utf-8")
    assert _native_text(cps) == _to_fixpoint(text)
    assert cps.dtype == (np.uint8 if utf8.isascii() else np.uint32)
