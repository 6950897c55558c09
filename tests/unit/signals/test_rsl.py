"""RSL 1.0 licence documents read and written (RSL-SPEC-1.0,
https://rslstandard.org/rsl)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import defusedxml.ElementTree  # type: ignore[import-untyped]  # no type hints shipped
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.signals import RESTRICTIVENESS, Reservation, Signal, rsl
from consentry.signals.rsl import RSL_CATEGORIES, RSL_NS, read_rsl, write_rsl
from consentry.terms import Category, Conditions, Permission, Price, PriceUnit, Terms

VECTORS = Path(__file__).parents[2] / "vectors" / "signals" / "rsl"
ALLOW, DENY, LICENSE = Permission.ALLOW, Permission.DENY, Permission.LICENSE
TRAIN_AI, TRAIN_OTHER = Category.TRAIN_AI, Category.TRAIN_OTHER
AI_INPUT, SEARCH, MINING = Category.AI_INPUT, Category.SEARCH, Category.DATA_MINING


def _said(reservation: Reservation) -> dict[Category, Permission]:
    return {c: p for c in Category if (p := reservation.permission(c)) is not None}


def _doc(body: str, *, content: str = '<content url="/">') -> str:
    return f'<rsl xmlns="{RSL_NS}">{content}{body}</content></rsl>'


def _read(body: str, url: str = "https://example.com/page", **kw: str) -> Reservation:
    return read_rsl(_doc(body, **kw), place="https://example.com/license.xml").reservation(url)


def test_exports() -> None:
    assert rsl.__all__ == [
        "PAYMENT_TYPES",
        "RSL_CATEGORIES",
        "RSL_NS",
        "USAGE",
        "RslContent",
        "RslDocument",
        "RslLicence",
        "RslLimits",
        "RslPayment",
        "read_rsl",
        "write_rsl",
    ]


def test_vocabularies_are_rsl_1_0s() -> None:
    assert set(rsl.USAGE) == {
        "all",
        "ai-all",
        "ai-train",
        "ai-input",
        "ai-index",
        "search",
        "train-ai",
    }
    assert {
        "purchase",
        "subscription",
        "training",
        "crawl",
        "use",
        "contribution",
        "attribution",
        "free",
    } == rsl.PAYMENT_TYPES


# -- the examples RSL publishes ---------------------------------------------------------


def _vector(name: str) -> Reservation:
    text = (VECTORS / name).read_text("utf-8")
    return read_rsl(text, place=name).reservation("https://your-website.com/any/page")


def test_prohibit_ai_training_template() -> None:
    # "prohibits using your website content for AI training but permits other
    # applications including using the content for websearch applications".
    reservation = _vector("guide-getting-started-prohibit-ai-training.xml")
    assert _said(reservation) == {
        TRAIN_AI: DENY,
        TRAIN_OTHER: DENY,
        AI_INPUT: ALLOW,
        SEARCH: ALLOW,
        MINING: ALLOW,
    }
    assert not reservation.problems
    assert all(s.source.signal is Signal.RSL for s in reservation.statements)


def test_allow_ai_training_template_permits_training_alone() -> None:
    # "explicitly gives permission ... for AI training"; <permits> is a closed list.
    reservation = _vector("guide-getting-started-allow-ai-training.xml")
    assert _said(reservation) == {
        TRAIN_AI: ALLOW,
        TRAIN_OTHER: DENY,
        AI_INPUT: DENY,
        SEARCH: DENY,
        MINING: DENY,
    }


def test_ai_preferences_guide_licenses_training_by_subscription() -> None:
    reservation = _vector("guide-ai-preferences.xml")
    assert reservation.permission(TRAIN_AI) is LICENSE
    (training,) = reservation.about(TRAIN_AI)
    assert training.licence == "https://your-website.com/contact-form.html"
    assert "payment subscription" in training.label
    assert {reservation.permission(c) for c in (TRAIN_OTHER, AI_INPUT, SEARCH, MINING)} == {DENY}


def test_collective_attribution_licence_goes_through_its_server() -> None:
    reservation = _vector("collective-attribution-ai-training.xml")
    (training,) = reservation.about(TRAIN_AI)
    assert training.permission is LICENSE
    assert training.licence == "https://rslcollective.org/api"
    assert "payment attribution" in training.label and "server" in training.label


# -- reading ----------------------------------------------------------------------------


def test_a_paid_licence_and_its_training_price() -> None:
    reservation = _read(
        '<license><permits type="usage">ai-train ai-input</permits>'
        '<payment type="training"><amount currency="EUR">0.05</amount>'
        "<standard>https://example.com/terms</standard></payment></license>"
    )
    assert _said(reservation) == {
        TRAIN_AI: LICENSE,
        TRAIN_OTHER: LICENSE,
        AI_INPUT: LICENSE,
        SEARCH: DENY,
        MINING: DENY,
    }
    price = Price(PriceUnit.WORK, Decimal("0.05"), "EUR")
    assert {s.price for s in reservation.about(TRAIN_AI)} == {price}
    assert {s.price for s in reservation.about(AI_INPUT)} == {None}
    assert reservation.about(TRAIN_AI)[0].licence == "https://example.com/terms"


def test_a_crawl_fee_has_no_consentry_unit() -> None:
    reservation = _read(
        '<license><permits type="usage">search</permits>'
        '<payment type="crawl"><amount currency="USD">0.015</amount></payment></license>'
    )
    (search,) = reservation.about(SEARCH)
    assert search.permission is LICENSE and search.price is None
    assert "payment crawl 0.015 USD" in search.label


def test_user_and_geo_narrowing_needs_a_licence() -> None:
    reservation = _read(
        '<license><permits type="usage">ai-input</permits>'
        '<permits type="user">non-commercial education</permits>'
        '<permits type="geo">US EU</permits></license>'
    )
    (statement,) = reservation.about(AI_INPUT)
    assert statement.permission is LICENSE
    assert "permits user non-commercial education" in statement.label
    assert "permits geo US EU" in statement.label


def test_a_prohibition_outranks_another_licence() -> None:
    reservation = _read(
        '<license><permits type="usage">all</permits></license>'
        '<license><prohibits type="usage">ai-index</prohibits></license>'
    )
    assert reservation.permission(AI_INPUT) is DENY  # ai-index is part of AI input
    assert reservation.permission(SEARCH) is ALLOW


def test_comma_separated_values_of_the_drafts_are_read() -> None:
    reservation = _read('<license><permits type="usage">ai-train,search</permits></license>')
    assert reservation.permission(SEARCH) is ALLOW and reservation.permission(TRAIN_AI) is ALLOW


def test_reporting_needs_a_licence() -> None:
    reservation = _read(
        '<license><permits type="usage">ai-input</permits><payment type="free"/>'
        '<reporting type="telemetry" profile="https://example.com/p"/></license>'
    )
    assert reservation.permission(AI_INPUT) is LICENSE


def test_foreign_namespaces_are_ignored() -> None:
    reservation = _read(
        '<license xmlns:x="https://example.org/x"><x:note>hi</x:note>'
        '<permits type="usage">search</permits></license>'
    )
    assert not reservation.problems and reservation.permission(SEARCH) is ALLOW


def test_the_most_specific_content_governs_a_url() -> None:
    text = (
        f'<rsl xmlns="{RSL_NS}">'
        '<content url="/"><license><permits type="usage">all</permits></license></content>'
        '<content url="/premium/*"><license><prohibits type="usage">all</prohibits>'
        "</license></content>"
        '<content url="https://other.org/"><license/></content>'
        "</rsl>"
    )
    document = read_rsl(text, place="license.xml")
    assert document.content_for("https://example.com/premium/a").url == "/premium/*"
    assert document.content_for("/free/a").url == "/"
    assert document.reservation("/premium/x").permission(SEARCH) is DENY
    assert document.reservation("/free/x").permission(SEARCH) is ALLOW
    assert document.content_for("https://other.org/a").url == "https://other.org/"


def test_an_absolute_pattern_binds_only_its_host() -> None:
    text = f'<rsl xmlns="{RSL_NS}"><content url="https://a.org/x$"><license/></content></rsl>'
    document = read_rsl(text, place="license.xml")
    assert document.content_for("https://a.org/x") is not None
    assert document.content_for("https://a.org/xy") is None
    assert document.content_for("https://b.org/x") is None
    assert not document.reservation("https://b.org/x")


def test_rss_feed_items() -> None:
    feed = (
        f'<rss xmlns:rsl="{RSL_NS}" version="2.0"><channel><item><title>t</title>'
        '<rsl:content url="https://example.com/post"><rsl:license>'
        '<rsl:prohibits type="usage">ai-train</rsl:prohibits></rsl:license></rsl:content>'
        "</item></channel></rss>"
    )
    reservation = read_rsl(feed, place="feed.xml").reservation("https://example.com/post")
    assert reservation.permission(TRAIN_AI) is DENY


# -- malformed and hostile documents ----------------------------------------------------

_BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>'
    f'<rsl xmlns="{RSL_NS}"><content url="&lol2;"><license/></content></rsl>'
)
_XXE = (
    '<?xml version="1.0"?><!DOCTYPE rsl [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    f'<rsl xmlns="{RSL_NS}"><content url="/"><license><permits type="usage">&x;</permits>'
    "</license></content></rsl>"
)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("<rsl", "not well-formed XML"),
        (b"\xff\xfe<rsl/>", "not well-formed XML"),
        (_BILLION_LAUGHS, "DTD or entities"),
        (_XXE, "DTD or entities"),
        ('<rsl><content url="/"><license/></content></rsl>', "not <rsl> in the RSL namespace"),
        ('<rsl xmlns="https://rslstandard.org/rsl/1.0"><content url="/"/></rsl>', "RSL namespace"),
        (f'<rsl xmlns="{RSL_NS}"></rsl>', "no <content>"),
        (f'<rsl xmlns="{RSL_NS}"><content><license/></content></rsl>', "no url attribute"),
        (_doc(""), "has no <license>"),
        (
            _doc('<license><permits type="usage">ai-everything</permits></license>'),
            "'ai-everything'",
        ),
        (_doc('<license><permits type="user">robots</permits></license>'), "'robots'"),
        (_doc('<license><permits type="geo">usa</permits></license>'), "'usa'"),
        (_doc('<license><permits type="purpose">x</permits></license>'), "not one of usage"),
        (
            _doc(
                '<license><permits type="usage">search</permits><permits type="usage">all</permits>'
                "</license>"
            ),
            "two <permits",
        ),
        (_doc('<license><payment type="royalty"/></license>'), "type 'royalty' is not an RSL 1.0"),
        (_doc("<license><payment/></license>"), "<payment> has no type"),
        (
            _doc(
                '<license><payment type="use"><amount currency="USD">1e3</amount>'
                "</payment></license>"
            ),
            "the amount must be",
        ),
        (
            _doc(
                '<license><payment type="use"><amount currency="USD">-1</amount>'
                "</payment></license>"
            ),
            "the amount must be",
        ),
        (
            _doc('<license><payment type="use"><amount>5</amount></payment></license>'),
            "the currency must be",
        ),
        (
            _doc(
                '<license><payment type="use"><amount currency="usd">5</amount></payment></license>'
            ),
            "the currency must be",
        ),
        (_doc("<license><price>5</price></license>"), "<price> inside <license> is not an RSL 1.0"),
        ("x" * (9 << 20), "over"),
    ],
)
def test_bad_documents_are_problems_never_allows(text: str | bytes, says: str) -> None:
    reservation = read_rsl(text, place="https://example.com/license.xml").reservation("/page")
    assert any(says in p.message for p in reservation.problems), reservation.problems
    assert all(
        p.source.place.startswith("https://example.com/license.xml") for p in reservation.problems
    )
    assert all(reservation.reserves(c) for c in Category)


# -- writing ----------------------------------------------------------------------------


def _terms(price: Price | None = None, **categories: Permission) -> Terms:
    return Terms(
        MappingProxyType({Category(k.replace("_", "-")): v for k, v in categories.items()}), price
    )


def test_written_document_is_rsl_in_its_namespace() -> None:
    rendering = write_rsl(
        _terms(search=ALLOW), content_url="/articles/*", license_server="https://l.example/"
    )
    root = defusedxml.ElementTree.fromstring(rendering.text)
    assert root.tag == f"{{{RSL_NS}}}rsl"
    (content,) = root
    assert content.get("url") == "/articles/*" and content.get("server") == "https://l.example/"
    assert rendering.filename == "license.xml"
    assert any(u.startswith("search:") and "license server" in u for u in rendering.unsaid)


def test_everything_denied_is_prohibits_all() -> None:
    terms = _terms(**{c.value.replace("-", "_"): DENY for c in Category})
    rendering = write_rsl(terms, content_url="/")
    assert '<prohibits type="usage">all</prohibits>' in rendering.text
    assert rendering.unsaid == () or all(u.startswith("publish-output:") for u in rendering.unsaid)


def test_a_per_work_training_price_is_written_and_read_back() -> None:
    price = Price(PriceUnit.WORK, Decimal("0.05"), "EUR")
    terms = _terms(
        price, train_ai=LICENSE, train_other=LICENSE, ai_input=DENY, search=ALLOW, data_mining=DENY
    )
    rendering = write_rsl(terms, content_url="/")
    assert '<payment type="training">' in rendering.text
    assert '<amount currency="EUR">0.05</amount>' in rendering.text
    read = read_rsl(rendering.text, place="license.xml").reservation("/a")
    assert _said(read) == {
        TRAIN_AI: LICENSE,
        TRAIN_OTHER: LICENSE,
        AI_INPUT: DENY,
        SEARCH: ALLOW,
        MINING: DENY,
    }
    assert read.to_terms().price == price
    assert not any(u.startswith("price:") for u in rendering.unsaid)


def test_a_price_per_token_has_no_rsl_payment_type() -> None:
    price = Price(PriceUnit.THOUSAND_TOKENS, Decimal("0.4"), "EUR")
    rendering = write_rsl(_terms(price, train_ai=LICENSE), content_url="/")
    assert any(u.startswith("price:") for u in rendering.unsaid)


_PRICES = st.none() | st.builds(
    Price,
    st.sampled_from(list(PriceUnit)),
    st.sampled_from([Decimal("0.05"), Decimal("12"), Decimal("0.00000001")]),
    st.sampled_from(["EUR", "USD"]),
)
_TERMS = st.builds(
    Terms,
    st.dictionaries(st.sampled_from(list(Category)), st.sampled_from(list(Permission))).map(
        MappingProxyType
    ),
    _PRICES,
    st.sampled_from([Conditions(), Conditions(non_commercial=True)]),
)


@given(_TERMS, st.sampled_from([None, "https://licensing.example.com/"]))
def test_round_trip_keeps_what_rsl_can_say_and_names_the_rest(
    terms: Terms, server: str | None
) -> None:
    rendering = write_rsl(terms, content_url="/", license_server=server)
    read = read_rsl(rendering.text, place="license.xml").reservation("https://example.com/x")
    assert not read.problems
    for category in Category:
        got, wanted = read.permission(category), terms.permission(category)
        if category not in RSL_CATEGORIES:
            assert got is None
            assert any(u.startswith(f"{category.value}:") for u in rendering.unsaid)
            continue
        assert got is not None
        assert RESTRICTIVENESS.index(got) >= RESTRICTIVENESS.index(wanted), (
            category,
            rendering.text,
        )
        if got is not wanted:
            assert any(u.startswith(f"{category.value}:") for u in rendering.unsaid), (
                category,
                got,
                wanted,
                rendering.unsaid,
                rendering.text,
            )
    if terms.price is not None:
        kept = read.to_terms().price == terms.price
        assert kept or any(u.startswith("price:") for u in rendering.unsaid)
    if terms.conditions.to_json():
        assert any(u.startswith("conditions:") for u in rendering.unsaid)
