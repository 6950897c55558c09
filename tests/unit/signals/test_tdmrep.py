"""TDMRep: tdm-reservation and tdm-policy as HTTP headers, HTML meta tags and
/.well-known/tdmrep.json (TDMRep Community Group Final Report)."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.signals import RESTRICTIVENESS, Reservation, Signal, tdmrep
from consentry.signals.tdmrep import (
    TDM_CATEGORIES,
    TdmrepJson,
    read_tdmrep_headers,
    read_tdmrep_meta,
    write_tdmrep_headers,
    write_tdmrep_json,
    write_tdmrep_meta,
)
from consentry.terms import Category, Conditions, Permission, Price, PriceUnit, Terms

VECTORS = Path(__file__).parents[2] / "vectors" / "signals" / "tdmrep"
ALLOW, DENY, LICENSE = Permission.ALLOW, Permission.DENY, Permission.LICENSE
POLICY = "https://provider.com/policies/policy.json"


def _said(reservation: Reservation) -> dict[Category, Permission]:
    return {c: p for c in Category if (p := reservation.permission(c)) is not None}


def _all(permission: Permission) -> dict[Category, Permission]:
    return dict.fromkeys(sorted(TDM_CATEGORIES, key=list(Category).index), permission)


def _headers(text: str) -> dict[str, str]:
    """The header fields of an HTTP message (status line and body left out)."""
    fields = {}
    for line in text.splitlines()[1:]:
        if not line.strip():
            break
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


class _Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and found.get("name"):
            self.names[found["name"] or ""] = found.get("content") or ""


def _meta(html: str) -> dict[str, str]:
    parser = _Meta()
    parser.feed(html)
    return parser.names


def test_exports() -> None:
    assert tdmrep.__all__ == [
        "TDM_CATEGORIES",
        "TdmDeclaration",
        "TdmrepJson",
        "TdmrepRule",
        "read_declaration",
        "read_tdmrep_headers",
        "read_tdmrep_meta",
        "tdm_unsaid",
        "write_tdmrep_headers",
        "write_tdmrep_json",
        "write_tdmrep_meta",
    ]


def test_a_reservation_reaches_mining_training_and_ai_input_but_not_search() -> None:
    assert (
        frozenset(
            {Category.DATA_MINING, Category.TRAIN_AI, Category.TRAIN_OTHER, Category.AI_INPUT}
        )
        == TDM_CATEGORIES
    )


# -- the specification's own examples ---------------------------------------------------


def test_tdm_file_example_1_reserves_every_file_without_a_policy() -> None:
    # §sec-tdm-file-example: 'a rightsholder wants to "opt-out" for every file'.
    text = (VECTORS / "tdm-file-example-1.json").read_text("utf-8")
    file = TdmrepJson.parse(text, place="https://provider.com/.well-known/tdmrep.json")
    for path in ("/", "/index.html", "/any/deep/path.pdf?x=1"):
        reservation = file.reservation(path)
        assert _said(reservation) == _all(DENY)
        assert not reservation.problems
        assert all(s.source.signal is Signal.TDMREP_JSON for s in reservation.statements)


@pytest.mark.parametrize(
    ("url", "expected", "licence"),
    [
        # "TDM rights are reserved on these files with no way to acquire a TDM License"
        ("https://provider.com/directory-a/paper.pdf", DENY, None),
        # "TDM rights are reserved with a TDM Policy"
        ("/directory-b/html/page.html", LICENSE, POLICY),
        # "TDM rights are not reserved for all JPEG images"
        ("/directory-b/images/photo.jpg", ALLOW, None),
    ],
)
def test_tdm_file_example_2_three_groups(
    url: str, expected: Permission, licence: str | None
) -> None:
    text = (VECTORS / "tdm-file-example-2.json").read_text("utf-8")
    reservation = TdmrepJson.parse(text, place="tdmrep.json").reservation(url)
    assert _said(reservation) == _all(expected)
    assert {s.licence for s in reservation.statements} == {licence}
    assert not reservation.problems


def test_tdm_file_example_2_leaves_other_files_unset() -> None:
    # §sec-tdm-file: "If no match is found ... tdm-reservation is unset".
    text = (VECTORS / "tdm-file-example-2.json").read_text("utf-8")
    file = TdmrepJson.parse(text, place="tdmrep.json")
    assert not file.reservation("/directory-b/images/photo.png")
    assert not file.reservation("/elsewhere/")


def test_header_example_1_reserves_without_a_licence() -> None:
    fields = _headers((VECTORS / "tdm-header-example-1.http").read_text("utf-8"))
    reservation = read_tdmrep_headers(fields)
    assert _said(reservation) == _all(DENY)
    assert reservation.statements[0].source.signal is Signal.TDMREP_HEADER
    assert reservation.statements[0].label == "tdm-reservation: 1"


def test_header_example_2_reserves_for_licensing_under_the_policy() -> None:
    fields = _headers((VECTORS / "tdm-header-example-2.http").read_text("utf-8"))
    reservation = read_tdmrep_headers(fields)
    assert _said(reservation) == _all(LICENSE)
    assert {s.licence for s in reservation.statements} == {POLICY}


def test_html_meta_example_reserves_for_licensing_under_the_policy() -> None:
    names = _meta((VECTORS / "html-meta-example.html").read_text("utf-8"))
    reservation = read_tdmrep_meta(names)
    assert _said(reservation) == _all(LICENSE)
    assert reservation.statements[0].source.signal is Signal.TDMREP_META
    assert reservation.statements[0].licence == POLICY


# -- reading rules ----------------------------------------------------------------------


def test_the_first_matching_location_wins_not_the_longest() -> None:
    # §sec-tdm-file: "The most specific match is the first in sequence."
    text = (
        '[{"location": "/a/", "tdm-reservation": 0}, {"location": "/a/b/", "tdm-reservation": 1}]'
    )
    file = TdmrepJson.parse(text, place="tdmrep.json")
    assert _said(file.reservation("/a/b/c.html")) == _all(ALLOW)


def test_locations_match_as_robots_paths() -> None:
    # §sec-tdm-file-regexp: "$" ends the pattern, "*" is any run of characters.
    text = (
        '[{"location": "/exact$", "tdm-reservation": 1},'
        ' {"location": "/x/*/then", "tdm-reservation": 1}]'
    )
    file = TdmrepJson.parse(text, place="tdmrep.json")
    assert file.reservation("/exact")
    assert not file.reservation("/exactly")
    assert file.reservation("/x/one/two/then/more")
    assert not file.reservation("/X/one/then")  # case sensitive


def test_a_policy_beside_0_is_ignored() -> None:
    reservation = read_tdmrep_headers({"TDM-Reservation": "0", "tdm-policy": POLICY})
    assert _said(reservation) == _all(ALLOW)
    assert all(s.licence is None for s in reservation.statements)


def test_a_policy_without_a_reservation_says_nothing() -> None:
    assert not read_tdmrep_headers({"tdm-policy": POLICY})
    assert not read_tdmrep_meta({"description": "x"})


@pytest.mark.parametrize("value", ["yes", "2", "true", "", "1, 0", "-1"])
def test_other_values_are_problems_never_allows(value: str) -> None:
    reservation = read_tdmrep_headers({"tdm-reservation": value})
    assert not reservation.statements
    (problem,) = reservation.problems
    assert "tdm-reservation is" in problem.message and "write 1" in problem.message
    assert all(reservation.reserves(c) for c in Category)


def test_a_bad_policy_still_reserves_and_is_reported() -> None:
    reservation = read_tdmrep_meta({"tdm-reservation": "1", "tdm-policy": "policy.json"})
    assert _said(reservation) == _all(DENY)
    (problem,) = reservation.problems
    assert "'policy.json' is not an absolute http(s) URL" in problem.message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "is not JSON"),
        ('{"location": "/", "tdm-reservation": 1}', "not a JSON array"),
        ("[" * 100_000 + "]" * 100_000, "is not JSON"),
        ("[1]", 'not an object with a "location"'),
        ('[{"tdm-reservation": 1}]', 'not an object with a "location"'),
        ('[{"location": "/"}]', 'no "tdm-reservation"'),
        ('[{"location": "/", "tdm-reservation": true}]', "True, which TDMRep does not define"),
        ('[{"location": "/", "tdm-reservation": 1.0}]', "which TDMRep does not define"),
    ],
)
def test_malformed_files_are_problems_never_allows(text: str, says: str) -> None:
    file = TdmrepJson.parse(text, place="https://x.org/.well-known/tdmrep.json")
    reservation = file.reservation("/")
    assert not reservation.statements
    assert any(says in p.message for p in reservation.problems), reservation.problems
    assert all(reservation.reserves(c) for c in Category)


def test_an_oversized_file_is_refused_unread() -> None:
    text = "[" + ", ".join(['{"location": "/", "tdm-reservation": 0}'] * 40_000) + "]"
    (problem,) = TdmrepJson.parse(text, place="tdmrep.json").reservation("/").problems
    assert "over" in problem.message


def test_a_bad_rule_binds_only_paths_it_may_have_covered_before_the_match() -> None:
    text = (
        '[{"location": "/a/", "tdm-reservation": "maybe"},'
        ' {"location": "/", "tdm-reservation": 0},'
        ' {"location": "/b/", "tdm-reservation": 7}]'
    )
    file = TdmrepJson.parse(text, place="tdmrep.json")
    assert file.reservation("/a/x").problems  # the bad rule came first and matches
    assert not file.reservation("/c/x").problems  # it does not match
    assert not file.reservation("/b/x").problems  # "/" matched before the bad rule


# -- writing ----------------------------------------------------------------------------


def _terms(**categories: Permission) -> Terms:
    return Terms(
        MappingProxyType({Category(k.replace("_", "-")): v for k, v in categories.items()})
    )


def test_write_headers_for_a_licence_with_a_policy() -> None:
    terms = _terms(train_ai=LICENSE, train_other=LICENSE, ai_input=LICENSE, data_mining=LICENSE)
    rendering = write_tdmrep_headers(terms, policy=POLICY)
    assert rendering.text == f"tdm-reservation: 1\r\ntdm-policy: {POLICY}\r\n"
    assert all(not u.startswith(("train", "ai-input", "data-mining")) for u in rendering.unsaid)
    assert any(u.startswith("search:") for u in rendering.unsaid)


def test_write_headers_when_everything_mining_is_allowed() -> None:
    terms = _terms(train_ai=ALLOW, train_other=ALLOW, ai_input=ALLOW, data_mining=ALLOW)
    assert write_tdmrep_headers(terms, policy=POLICY).text == "tdm-reservation: 0\r\n"


def test_a_denial_keeps_the_policy_out() -> None:
    terms = _terms(train_ai=DENY, train_other=LICENSE, ai_input=LICENSE, data_mining=LICENSE)
    rendering = write_tdmrep_meta(terms, policy=POLICY)
    assert rendering.text == '<meta name="tdm-reservation" content="1">\n'
    assert any(u.startswith("train-other:") and "would license it" in u for u in rendering.unsaid)


def test_write_meta_escapes_the_policy() -> None:
    terms = _terms(train_ai=LICENSE)
    text = write_tdmrep_meta(terms, policy='https://x.org/p?a=1&b="2"').text
    assert 'content="https://x.org/p?a=1&amp;b=&quot;2&quot;"' in text


def test_write_json_keeps_the_order_given() -> None:
    rendering = write_tdmrep_json(
        [
            (
                "/open/",
                _terms(
                    **dict.fromkeys(["train_ai", "train_other", "ai_input", "data_mining"], ALLOW)
                ),
            ),
            ("/", Terms()),
        ],
        policy=POLICY,
    )
    assert rendering.filename == ".well-known/tdmrep.json"
    file = TdmrepJson.parse(rendering.text, place="tdmrep.json")
    assert _said(file.reservation("/open/a")) == _all(ALLOW)
    assert _said(file.reservation("/closed")) == _all(LICENSE)  # default terms: licence


# -- round trips ------------------------------------------------------------------------

_PRICES = st.none() | st.builds(
    Price,
    st.sampled_from(list(PriceUnit)),
    st.sampled_from([Decimal("0.05"), Decimal("12"), Decimal("0.00000001")]),
    st.sampled_from(["EUR", "USD"]),
)
TERMS = st.builds(
    Terms,
    st.dictionaries(st.sampled_from(list(Category)), st.sampled_from(list(Permission))).map(
        MappingProxyType
    ),
    _PRICES,
    st.sampled_from([Conditions(), Conditions(attribution="By A. Author")]),
)


def _check_round_trip(terms: Terms, read: Reservation, unsaid: tuple[str, ...]) -> None:
    for category in Category:
        got = read.permission(category)
        if category not in TDM_CATEGORIES:
            assert got is None
            assert any(u.startswith(f"{category.value}:") for u in unsaid)
            continue
        wanted = terms.permission(category)
        assert got is not None
        assert RESTRICTIVENESS.index(got) >= RESTRICTIVENESS.index(wanted)  # never looser
        if got is not wanted:
            assert any(u.startswith(f"{category.value}:") for u in unsaid), (category, unsaid)
    if terms.price is not None:
        assert any(u.startswith("price:") for u in unsaid)
    if terms.conditions.to_json():
        assert any(u.startswith("conditions:") for u in unsaid)


@given(TERMS, st.sampled_from([None, POLICY]))
def test_headers_round_trip(terms: Terms, policy: str | None) -> None:
    rendering = write_tdmrep_headers(terms, policy=policy)
    read = read_tdmrep_headers(_headers("HTTP/1.1 200 OK\r\n" + rendering.text))
    assert not read.problems
    _check_round_trip(terms, read, rendering.unsaid)
    if read.permission(Category.TRAIN_AI) is LICENSE:
        assert {s.licence for s in read.statements} == {policy}


@given(TERMS, st.sampled_from([None, POLICY]))
def test_meta_round_trip(terms: Terms, policy: str | None) -> None:
    rendering = write_tdmrep_meta(terms, policy=policy)
    read = read_tdmrep_meta(_meta(rendering.text))
    assert not read.problems
    _check_round_trip(terms, read, rendering.unsaid)


@given(TERMS, st.sampled_from([None, POLICY]))
def test_json_round_trip(terms: Terms, policy: str | None) -> None:
    rendering = write_tdmrep_json([("/", terms)], policy=policy)
    read = TdmrepJson.parse(rendering.text, place="tdmrep.json").reservation("/x")
    assert not read.problems
    _check_round_trip(terms, read, rendering.unsaid)
