"""Robots meta tags and X-Robots-Tag headers read and written: DeviantArt's noai and
noimageai, per crawler and per media kind, and every meta tag kept for other readers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.signals import Reservation, Signal, html
from consentry.signals.html import (
    MediaKind,
    Meta,
    read_html,
    read_robots_meta,
    read_x_robots_tag,
    write_meta,
    write_x_robots_tag,
)
from consentry.signals.tdmrep import TDM_CATEGORIES, read_tdmrep_meta
from consentry.terms import DEFAULT_TERMS, Category, Conditions, Permission, Price, PriceUnit, Terms

VECTORS = Path(__file__).parents[2] / "vectors" / "signals" / "html"
ALLOW, DENY, LICENSE = Permission.ALLOW, Permission.DENY, Permission.LICENSE
TRAINING = {Category.TRAIN_AI: DENY, Category.TRAIN_OTHER: DENY}


def _vector(name: str) -> str:
    return (VECTORS / name).read_text("utf-8")


def _fields(response: str) -> list[tuple[str, str]]:
    """The header fields of a response head, status line skipped."""
    pairs = []
    for line in response.splitlines()[1:]:
        name, _, value = line.partition(":")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _said(reservation: Reservation) -> dict[Category, Permission]:
    return {c: p for c in Category if (p := reservation.permission(c)) is not None}


def _page(*tags: str) -> str:
    return f"<!DOCTYPE html><html><head>{''.join(tags)}</head><body>text</body></html>"


def test_exports() -> None:
    assert html.__all__ == [
        "MediaKind",
        "Meta",
        "PageSignals",
        "RobotsDirective",
        "RobotsDirectives",
        "read_html",
        "read_robots_meta",
        "read_x_robots_tag",
        "write_meta",
        "write_x_robots_tag",
    ]


# --- published examples ---------------------------------------------------------------


def test_deviantart_meta_tags_deny_ai_training_for_images_and_text() -> None:
    page = read_html(_vector("deviantart-noai.html"), place="https://example.org/art/1")
    assert page.named("robots") == ("noimageai", "noai")
    reservation = page.reservation()
    assert _said(reservation) == TRAINING
    assert not reservation.problems
    assert {s.label for s in reservation.statements} == {"noimageai (images only)", "noai"}
    assert reservation.statements[0].source.signal is Signal.ROBOTS_META
    assert reservation.statements[0].source.place == (
        'https://example.org/art/1 <meta name="robots"> line 7'
    )
    # noai covers every kind of item, so the text of the page is reserved too.
    assert _said(page.reservation(kind=MediaKind.TEXT)) == TRAINING
    assert _said(page.reservation(kind=MediaKind.IMAGE)) == TRAINING


def test_deviantart_image_headers_deny_ai_training() -> None:
    found = read_x_robots_tag(_fields(_vector("deviantart-image.http")))
    reservation = found.reservation(kind=MediaKind.IMAGE)
    assert _said(reservation) == TRAINING
    assert [s.source.place for s in reservation.statements[::2]] == [
        "HTTP header X-Robots-Tag (field 1 of 2)",
        "HTTP header X-Robots-Tag (field 2 of 2)",
    ]
    assert {s.source.signal for s in reservation.statements} == {Signal.X_ROBOTS_TAG}


@pytest.mark.parametrize("kind", [MediaKind.TEXT, MediaKind.CODE, MediaKind.AUDIO])
def test_noimageai_alone_does_not_reserve_other_kinds(kind: MediaKind) -> None:
    page = read_html(_page('<meta name="robots" content="noimageai">'))
    assert page.reservation(kind=kind) == Reservation()
    assert _said(page.reservation(kind=MediaKind.IMAGE)) == TRAINING
    # Not saying what the item is binds every directive, as not saying the crawler does.
    assert _said(page.reservation()) == TRAINING
    assert [d.media for d in page.robots.directives] == [MediaKind.IMAGE]


def test_google_examples_do_not_reserve_training() -> None:
    # noindex, nofollow, noarchive and unavailable_after govern search results only.
    page = read_html(_vector("google-robots-meta.html"))
    assert page.named("googlebot") == ("noindex",)
    assert page.reservation() == Reservation()
    headers = read_x_robots_tag(_fields(_vector("google-x-robots-tag.http")))
    assert headers.reservation() == Reservation()


def test_datadiligence_agent_prefixes_bind_only_their_crawler() -> None:
    found = read_x_robots_tag(_fields(_vector("datadiligence-user-agents.http"))).reservation()
    assert _said(found.for_agent("demobot")) == TRAINING
    assert _said(found.for_agent("ExampleBot")) == TRAINING
    assert _said(found.for_agent("spawningbot")) == {}
    assert _said(found.for_agent("otherbot")) == {}
    assert _said(found.for_agent(None)) == TRAINING
    assert {s.agent for s in found.statements} == {"demobot", "examplebot"}


# --- per crawler ----------------------------------------------------------------------


def test_meta_named_for_a_crawler_binds_that_crawler() -> None:
    page = read_html(_page('<meta name="GPTBot" content="NoAI, noindex">'))
    reservation = page.reservation()
    assert _said(reservation.for_agent("gptbot")) == TRAINING
    assert _said(reservation.for_agent("CCBot")) == {}
    assert {s.agent for s in reservation.statements} == {"gptbot"}


def test_page_words_in_other_meta_tags_are_not_directives() -> None:
    page = read_html(
        _page(
            '<meta name="description" content="noai">',
            '<meta name="keywords" content="art, noai, no-ai">',
            '<meta name="somebot" content="no-ai art">',
            '<meta property="og:title" content="noai">',
        )
    )
    assert page.reservation() == Reservation()


def test_x_robots_tag_agent_scope_runs_to_the_end_of_its_field() -> None:
    found = read_x_robots_tag(
        [("X-Robots-Tag", "noindex, GPTBot: noimageai, noai"), ("x-robots-tag", "CCBot: noai")]
    ).reservation()
    assert {s.agent for s in found.statements} == {"GPTBot", "CCBot"}
    assert _said(found.for_agent("gptbot")) == TRAINING
    assert len(found.for_agent("gptbot").statements) == 4
    assert _said(found.for_agent("Bingbot")) == {}
    everyone = read_x_robots_tag("*: noai, unavailable_after: 2025-01-01").reservation()
    assert {s.agent for s in everyone.statements} == {None}


def test_x_robots_tag_inputs() -> None:
    assert _said(read_x_robots_tag("noai").reservation()) == TRAINING
    assert _said(read_x_robots_tag({"X-Robots-Tag": "noai"}).reservation()) == TRAINING
    assert _said(read_x_robots_tag(["noindex", "noai"]).reservation()) == TRAINING
    pairs = [("Content-Type", "noai"), ("X-ROBOTS-TAG", "NOAI")]
    assert len(read_x_robots_tag(pairs).reservation().statements) == 2
    assert read_x_robots_tag([]).reservation() == Reservation()


def test_meta_tags_keep_order_repeats_and_place() -> None:
    text = (
        "<html><head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="TDM-Reservation" content="1">\n'
        '<meta name="tdm-reservation" content="0">\n'
        '<meta http-equiv="X-Robots-Tag" content="GPTBot: noai">\n'
        '<meta property="og:type" content="website" name="ignored-second">\n'
        "</head><body>\n"
        '<meta name="robots" content="noai">\n'
        "</body></html>"
    )
    page = read_html(text)
    assert page.meta == (
        Meta("name", "tdm-reservation", "1", 3, True),
        Meta("name", "tdm-reservation", "0", 4, True),
        Meta("http-equiv", "x-robots-tag", "GPTBot: noai", 5, True),
        Meta("name", "ignored-second", "website", 6, True),
        Meta("name", "robots", "noai", 8, False),
    )
    assert page.named("TDM-RESERVATION") == ("1", "0")
    assert page.as_mapping()["tdm-reservation"] == "1"
    reservation = page.reservation()
    assert {s.agent for s in reservation.statements} == {"GPTBot", None}
    assert reservation.statements[0].source.place == 'HTML <meta http-equiv="x-robots-tag"> line 5'


def test_robots_meta_from_a_mapping_of_names() -> None:
    # As a corpus reader keeps meta tags: content by lower-cased name.
    found = read_robots_meta({"Robots": "index, noai", "description": "noai"}).reservation()
    assert _said(found) == TRAINING
    assert found.statements[0].source.place == 'HTML <meta name="robots">'


# --- malformed and hostile input ------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("no-ai", '"no-ai" is not a robots directive; write "noai" to reserve AI training'),
        ("NO_IMAGE_AI", '"NO_IMAGE_AI" is not a robots directive; write "noimageai"'),
        ("noai;noimageai", '"noai;noimageai": separate robots directives with commas, e.g. '),
        ("noai noindex", 'e.g. "noai, noindex"'),
        ("noai: yes", '"noai: yes": noai takes no value; write "noai"'),
        ("noai.", 'write "noai"'),
    ],
)
def test_malformed_directive_is_a_problem_and_never_an_allow(content: str, message: str) -> None:
    for found in (
        read_html(_page(f'<meta name="robots" content="{content}">')).robots,
        read_x_robots_tag(content),
    ):
        reservation = found.reservation()
        assert len(reservation.problems) == 1
        assert message in reservation.problems[0].message
        # Read as meant, and the problem reserves every category of any item besides.
        assert reservation.permission(Category.TRAIN_AI) is DENY
        text = found.reservation(kind=MediaKind.TEXT)
        assert all(text.reserves(c) for c in Category)


def test_agent_prefix_in_a_meta_tag_is_a_problem() -> None:
    page = read_html(_page('<meta name="robots" content="googlebot: noai">'))
    (problem,) = page.problems
    assert problem.message == (
        '"googlebot: noai": an agent prefix is X-Robots-Tag syntax; in HTML name the crawler '
        'instead: <meta name="googlebot" content="noai">'
    )
    assert page.reservation().reserves(Category.TRAIN_AI)


@pytest.mark.parametrize(
    "text",
    [
        "<html><head><meta name=robots content=noai",  # unclosed tag at the end
        "<meta name=robots content=noai><div><div><div><span><p><b>" * 3,
        "<![ unknown [ x ]]><meta name=robots content=noai>",
        "<![if !IE]><meta name=robots content=noai><![endif]>",
        "<!--><meta name=robots content=noai>",
        "<meta name=robots content='noai'\x00 x=\x00><table><tr><td></table>",
        "<<<>>><meta name='robots' content=\"noai\"/></></head></html></html>",
    ],
)
def test_hostile_html_is_read_without_raising(text: str) -> None:
    page = read_html(text)
    assert page.reservation().reserves(Category.TRAIN_AI)


def test_huge_and_deeply_nested_pages() -> None:
    huge = _page(
        f'<meta name="x" content="{"a" * 1_000_000}">', '<meta name="robots" content="noai">'
    )
    assert _said(read_html(huge).reservation()) == TRAINING
    nested = "<div>" * 50_000 + '<meta name="robots" content="noai">' + "<span" * 10_000
    assert _said(read_html(nested).reservation()) == TRAINING


@pytest.mark.parametrize(
    "data",
    [
        '<meta name="robots" content="noai">'.encode("utf-16"),
        b'\xef\xbb\xbf<meta name="robots" content="noai">',
        b'<title>Caf\xe9</title><meta name="robots" content="noai">',  # Latin-1, not UTF-8
    ],
)
def test_pages_as_bytes_in_any_encoding(data: bytes) -> None:
    assert _said(read_html(data).reservation()) == TRAINING


def test_wrongly_decoded_page_still_reads() -> None:
    mojibake = '\u00ef\u00bb\u00bf<meta name="robots" content="noai"><p>CafÃ©</p>'
    assert _said(read_html(mojibake).reservation()) == TRAINING


@given(st.text())
def test_any_text_reads_without_raising(text: str) -> None:
    page = read_html(text)
    assert all(p.message for p in page.problems)
    read_x_robots_tag(text).reservation()


@given(
    st.lists(
        st.sampled_from(
            [
                "<meta name=robots content=",
                "<meta http-equiv=X-Robots-Tag content='",
                "noai",
                "no-ai",
                ", ",
                ":",
                ";",
                '"',
                "'",
                ">",
                "<",
                "<![",
                "<!--",
                "-->",
                "]]>",
                "<script>",
                "</head>",
                "&#0;",
                "&amp;",
                "GPTBot",
                "\x00",
                " ",
            ]
        ),
        max_size=40,
    ).map("".join),
    st.binary(max_size=200),
)
def test_any_markup_reads_without_raising(markup: str, data: bytes) -> None:
    for page in (read_html(markup), read_html(data), read_html(markup.encode("utf-16"))):
        reservation = page.reservation(kind=MediaKind.TEXT)
        # A denial, a problem or nothing: these directives never allow.
        assert all(s.permission is DENY for s in reservation.statements)
        assert all(p.message.strip() for p in reservation.problems)


# --- writers --------------------------------------------------------------------------


def test_default_terms_write_every_reservation() -> None:
    rendering = write_meta(DEFAULT_TERMS)
    assert rendering.filename == "meta.html"
    assert rendering.text == (
        '<meta name="robots" content="noai, noimageai">\n'
        '<meta name="tdm-reservation" content="1">\n'
    )
    assert rendering.unsaid[0] == (
        "train-ai: license, but these tags say only that it is reserved, with no licence "
        "on offer; it reads back as deny"
    )
    assert "search: license, but robots meta tags and TDMRep say nothing of it" in rendering.unsaid
    assert write_x_robots_tag(DEFAULT_TERMS).text == "noai, noimageai"


def test_allowed_uses_write_tdm_reservation_0_and_no_directive() -> None:
    terms = _terms(dict.fromkeys(Category, ALLOW))
    rendering = write_meta(terms, tdm_policy="https://example.org/tdm.json")
    assert rendering.text == '<meta name="tdm-reservation" content="0">\n'
    assert rendering.unsaid == (
        "search: allow, but robots meta tags and TDMRep say nothing of it",
        "publish-output: allow, but robots meta tags and TDMRep say nothing of it",
        "tdm-policy: not written, as nothing is reserved",
    )
    header = write_x_robots_tag(terms)
    assert header.filename == "X-Robots-Tag"
    assert header.text == ""
    assert (
        header.unsaid[0] == "train-ai: allow, but noai has no form that allows, so nothing is said"
    )


def test_noai_and_the_tdm_switch_reserve_together() -> None:
    terms = _terms({Category.TRAIN_AI: DENY, Category.TRAIN_OTHER: ALLOW, Category.AI_INPUT: ALLOW})
    unsaid = write_meta(terms).unsaid
    assert (
        "train-other: allow, but noai reserves train-ai and train-other together; it reads "
        "back as deny"
    ) in unsaid
    assert (
        "ai-input: allow, but TDMRep has one switch for every TDM use, set by the strictest; "
        "it reads back as deny"
    ) in unsaid


def test_licensed_mining_writes_its_policy_escaped() -> None:
    terms = _terms(dict.fromkeys(TDM_CATEGORIES, LICENSE))
    rendering = write_meta(terms, tdm_policy='https://example.org/p?a=1&b="2"')
    page = read_html(rendering.text)
    assert page.named("tdm-policy") == ('https://example.org/p?a=1&b="2"',)
    assert page.named("tdm-reservation") == ("1",)
    assert not any(u.startswith(("data-mining", "ai-input")) for u in rendering.unsaid)
    denied = write_meta(_terms({Category.DATA_MINING: DENY}), tdm_policy="https://example.org/p")
    assert "tdm-policy" not in denied.text
    assert "tdm-policy: not written, as a TDM use is denied, and a policy would license it" in (
        denied.unsaid
    )


def test_price_and_conditions_are_unsaid() -> None:
    terms = Terms(
        MappingProxyType({Category.TRAIN_AI: DENY}),
        Price(PriceUnit.WORK, Decimal("2.50"), "EUR"),
        Conditions(attribution="Ada"),
    )
    for rendering in (write_meta(terms), write_x_robots_tag(terms)):
        assert any(u.startswith("price: 2.50 EUR per work") for u in rendering.unsaid)
        assert any(u.startswith("conditions:") for u in rendering.unsaid)


def test_tdm_categories_agree_with_the_tdmrep_reader() -> None:
    # The writer sets tdm-reservation as the TDMRep reader will read it back.
    assert set(html._TDM_CATEGORIES) == TDM_CATEGORIES


def _terms(categories: dict[Category, Permission]) -> Terms:
    return Terms(MappingProxyType(categories))


@given(
    st.dictionaries(st.sampled_from(list(Category)), st.sampled_from(list(Permission))),
    st.sampled_from([None, "https://example.org/policies/1.json"]),
)
def test_round_trip_keeps_what_the_format_says_and_names_the_rest(
    categories: dict[Category, Permission], policy: str | None
) -> None:
    terms = _terms(categories)
    rendering = write_meta(terms, tdm_policy=policy)
    page = read_html(rendering.text)
    header = write_x_robots_tag(terms)
    for reservation, unsaid in (
        (page.reservation() | read_tdmrep_meta(page.as_mapping()), rendering.unsaid),
        (read_x_robots_tag(header.text).reservation(), header.unsaid),
    ):
        assert not reservation.problems
        for category in Category:
            if reservation.permission(category) is not terms.permission(category):
                assert any(u.startswith(f"{category.value}:") for u in unsaid), category
            else:
                assert not any(u.startswith(f"{category.value}:") for u in unsaid), category
        # Training denied is said exactly by either format.
        if all(terms.permission(c) is DENY for c in TRAINING):
            assert all(reservation.permission(c) is DENY for c in TRAINING)
