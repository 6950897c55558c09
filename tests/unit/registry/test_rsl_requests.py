"""What an RSL token request asks for (RSL 1.0 §5.4.2): the uses of its <license>
element, in consentry's categories, and the content URL patterns it licenses."""

from __future__ import annotations

import pytest

from consentry.registry.rsl_requests import (
    ContentUrl,
    LicenceAsk,
    OlpCode,
    TokenRefusedError,
    requested_uses,
)
from consentry.terms import Category

NS = 'xmlns="https://rslstandard.org/rsl"'


def _licence(*children: str, ns: str = NS) -> str:
    return f"<license {ns}>{''.join(children)}</license>"


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ("ai-train", {Category.TRAIN_AI, Category.TRAIN_OTHER}),
        ("ai-input", {Category.AI_INPUT}),
        ("ai-index", {Category.AI_INPUT}),
        ("search", {Category.SEARCH}),
        ("train-ai", {Category.TRAIN_AI}),
        ("ai-all", {Category.TRAIN_AI, Category.TRAIN_OTHER, Category.AI_INPUT}),
        ("search ai-input", {Category.SEARCH, Category.AI_INPUT}),
        ("search,ai-input", {Category.SEARCH, Category.AI_INPUT}),
    ],
)
def test_each_usage_asks_for_every_category_it_reaches(usage: str, expected: set[Category]) -> None:
    assert requested_uses(_licence(f'<permits type="usage">{usage}</permits>')) == expected


def test_a_licence_without_permits_asks_for_every_use_less_its_prohibitions() -> None:
    uses = requested_uses(_licence('<prohibits type="usage">ai-train</prohibits>'))
    assert uses == {Category.AI_INPUT, Category.SEARCH, Category.DATA_MINING}
    assert requested_uses(_licence(ns="")) == {
        Category.TRAIN_AI,
        Category.TRAIN_OTHER,
        Category.AI_INPUT,
        Category.SEARCH,
        Category.DATA_MINING,
    }


def test_user_and_geo_classes_narrow_and_never_widen() -> None:
    licence = _licence(
        '<permits type="usage">search</permits>',
        '<permits type="user">non-commercial</permits>',
        '<permits type="geo">EU</permits>',
        '<payment type="free"/>',
    )
    assert requested_uses(licence) == {Category.SEARCH}


@pytest.mark.parametrize(
    ("licence", "code"),
    [
        ("not xml", OlpCode.INVALID_REQUEST),
        ("<rsl xmlns='https://rslstandard.org/rsl'/>", OlpCode.INVALID_REQUEST),
        ("<license xmlns='https://example.com/other'/>", OlpCode.INVALID_REQUEST),
        (
            '<!DOCTYPE license [<!ENTITY a "aaaa">]><license>&a;</license>',
            OlpCode.INVALID_REQUEST,
        ),
        (_licence('<permits type="usage">ai-everything</permits>'), OlpCode.INVALID_LICENSE),
        (_licence('<permits type="usage">x:custom</permits>'), OlpCode.INVALID_LICENSE),
        (
            _licence(
                '<permits type="usage">search</permits>',
                '<prohibits type="usage">all</prohibits>',
            ),
            OlpCode.INVALID_LICENSE,
        ),
        ("<license>" + "x" * 70_000 + "</license>", OlpCode.INVALID_REQUEST),
    ],
)
def test_what_cannot_be_read_or_granted_is_refused_with_its_code(
    licence: str, code: OlpCode
) -> None:
    with pytest.raises(TokenRefusedError) as refused:
        requested_uses(licence)
    assert refused.value.code is code


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        ("https://example.com/", "https://example.com/a/b?c=1", True),
        ("https://example.com/", "https://EXAMPLE.com:443/", True),
        ("https://example.com/", "http://example.com/", False),
        ("https://example.com/", "https://example.org/", False),
        ("https://example.com/", "https://example.com:8443/", False),
        ("https://example.com/articles/", "https://example.com/articles/x", True),
        ("https://example.com/articles/", "https://example.com/art", False),
        ("https://example.com/*.pdf$", "https://example.com/a/b.pdf", True),
        ("https://example.com/*.pdf$", "https://example.com/a/b.pdf?x", False),
        ("https://example.com/a%7eb", "https://example.com/a~b", True),
        ("https://example.com/ü", "https://example.com/%C3%BC", True),
        ("/", "https://any.example/page", True),
        ("/private/", "https://any.example/page", False),
        ("https://example.com/", "/page", False),
        ("https://example.com/", "not a url", False),
    ],
)
def test_content_urls_match_as_rfc_9309_paths(pattern: str, url: str, matches: bool) -> None:
    assert ContentUrl.parse(pattern).matches(url) is matches


@pytest.mark.parametrize(
    "resource",
    [
        "ftp://example.com/",
        "example.com/",
        "https://user:pw@example.com/",
        "https://example.com/#part",
        "https://example.com/a b",
        "https://example.com:99999/",
        "",
        "https://example.com/" + "a" * 3000,
    ],
)
def test_a_resource_that_is_no_http_url_or_path_is_an_invalid_request(resource: str) -> None:
    with pytest.raises(TokenRefusedError) as refused:
        ContentUrl.parse(resource)
    assert refused.value.code is OlpCode.INVALID_REQUEST


def test_an_ask_needs_its_resource_and_licence_and_takes_only_rsl_licences() -> None:
    licence = _licence('<permits type="usage">search</permits>')
    ask = LicenceAsk.read(resource="https://example.com/", licence=licence, grant_id="grt_abc")
    assert (ask.uses, ask.grant_id, ask.content.origin) == (
        {Category.SEARCH},
        "grt_abc",
        "https://example.com",
    )
    for missing in ({"resource": None, "licence": licence}, {"resource": "/", "licence": None}):
        with pytest.raises(TokenRefusedError, match="missing"):
            LicenceAsk.read(**missing)  # type: ignore[arg-type]
    with pytest.raises(TokenRefusedError, match="license_type"):
        LicenceAsk.read(resource="/", licence=licence, licence_type="application/odrl+json")
    with pytest.raises(TokenRefusedError, match="not a grant id"):
        LicenceAsk.read(resource="/", licence=licence, grant_id="'; drop table grants")
