"""Span maps: every character of the normalised stream points back at the output
character it came from."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from consentry.check.spans import merge_spans, output_spans, plain_origins
from consentry.fingerprint import normalize_text


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=300))
def test_ascii_origins_point_at_the_characters_they_stand_for(text: str) -> None:
    origins = plain_origins(text)
    normalised = normalize_text(text)
    assert len(origins) == len(normalised)
    assert all(a < b for a, b in itertools.pairwise(origins.tolist()))
    for char, at in zip(normalised, origins.tolist(), strict=True):
        assert (text[at].isspace() and char == " ") or text[at].lower() == char


@given(st.text(max_size=200))
def test_any_text_maps_every_normalised_character_inside_the_output(text: str) -> None:
    origins = plain_origins(text)
    assert len(origins) == len(normalize_text(text))
    assert all(0 <= at < len(text) for at in origins.tolist())
    assert list(origins) == sorted(origins)


def test_an_excerpt_in_messy_text_maps_back_to_where_it_is() -> None:
    excerpt = "The Licensor  hereby grants You\u200b a world-wide, ROYALTY-FREE licence"
    output = "Intro\n\n\t" + excerpt + "  tail"
    origins = plain_origins(output)
    start = normalize_text(output).index("the licensor")
    end = normalize_text(output).index(" tail")
    (span,) = output_spans([(start, end)], origins)
    assert output[span[0] : span[1]] == excerpt


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(1, 50)), max_size=12))
def test_merged_spans_cover_exactly_the_same_characters(raw: list[tuple[int, int]]) -> None:
    spans = [(s, s + n) for s, n in raw]
    merged = merge_spans(spans)
    covered = {i for s, e in spans for i in range(s, e)}
    assert {i for s, e in merged for i in range(s, e)} == covered
    assert all(e < s2 for (_, e), (s2, _) in itertools.pairwise(merged))
