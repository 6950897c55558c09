"""A page's visible text and meta tags, as the WARC reader takes them from HTML."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consentry.gate.readers.warc import html_text_and_meta


def test_markup_the_parser_gives_up_on_hides_no_text() -> None:
    """Regression: ``<![ foo [`` made the standard parser fail an assertion, which
    stopped a gate run; now the text after it is still read, to be matched."""
    page = '<meta name="robots" content="noai"><p>before</p><![ foo [ <p>after the bad part</p>'
    text, meta = html_text_and_meta(page)
    assert text == "before after the bad part"
    assert meta == {"robots": "noai"}


def test_repeated_meta_tags_are_one_list() -> None:
    page = '<meta name="robots" content="noindex"><meta name="ROBOTS" content="noai"><p>x</p>'
    assert html_text_and_meta(page)[1] == {"robots": "noindex, noai"}


@given(st.text(alphabet="<>![]-/ abcp=\"'&;#\n", max_size=200))
def test_any_markup_is_read_without_raising(page: str) -> None:
    text, meta = html_text_and_meta(page)
    assert isinstance(text, str) and isinstance(meta, dict)
