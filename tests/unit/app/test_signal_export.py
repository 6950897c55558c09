"""Every signal file an export writes, read back by the readers a crawler or the gate
uses: each file is never more permissive than the owner's terms, what a file cannot
say it says so, and the files together keep every denial."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.app.signal_export import POLICY_PATH, SiteSignalFiles, site_signal_files
from consentry.errors import InputError
from consentry.registry import Party, PartyKind
from consentry.signals import RESTRICTIVENESS, Reservation
from consentry.signals.aitxt import AiTxt
from consentry.signals.html import read_html
from consentry.signals.odrl import read_odrl_policy
from consentry.signals.readers import read_headers, read_meta
from consentry.signals.robots import RobotsTxt
from consentry.signals.rsl import read_rsl
from consentry.signals.tdmrep import TdmrepJson
from consentry.signals.xmp import read_data_mining
from consentry.terms import Category, Permission, Price, PriceUnit, Terms

BASE = "https://ada.example"
PAGE = f"{BASE}/essays/one.html"
OWNER = Party(
    "own_aaaaaaaaaaaaaaaa", PartyKind.OWNER, "Ada Quill", "k", "p", datetime(2026, 1, 1, tzinfo=UTC)
)

terms_strategy = st.builds(
    lambda categories, priced: Terms(
        MappingProxyType(categories),
        Price(PriceUnit.WORK, Decimal("0.05"), "EUR") if priced else None,
    ),
    st.dictionaries(st.sampled_from(list(Category)), st.sampled_from(list(Permission))),
    st.booleans(),
)


def _headers(text: str) -> dict[str, str]:
    lines = text.splitlines()
    assert lines[0] == "/*"
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}


def _read_back(files: SiteSignalFiles) -> dict[str, Reservation]:
    """What each file says of the page, as the readers read it."""
    whole = files.whole
    page = f"<html><head>{files.head.text}</head><body>x</body></html>"
    read = {
        "robots.txt": RobotsTxt.parse(files.robots.text, place="robots.txt").reservation(
            "/essays/one.html", licences=False
        ),
        "tdmrep.json": TdmrepJson.parse(
            whole[".well-known/tdmrep.json"].text, place="tdmrep.json"
        ).reservation(PAGE),
        "ai.txt": AiTxt.parse(whole["ai.txt"].text).reservation("/essays/one.html"),
        "license.xml": read_rsl(whole["license.xml"].text, place="license.xml").reservation(PAGE),
        "_headers": read_headers(_headers(files.headers.text)),
        "meta": read_meta(read_html(page).as_mapping()),
        "xmp": read_data_mining(files.sidecar.text),
    }
    if POLICY_PATH in whole:
        read["tdm-policy"] = read_odrl_policy(whole[POLICY_PATH].text, place="policy")
    return read


def _unsaid(files: SiteSignalFiles, name: str) -> tuple[str, ...]:
    by_name = {
        "robots.txt": files.robots,
        "_headers": files.headers,
        "meta": files.head,
        "xmp": files.sidecar,
        "tdm-policy": files.whole.get(POLICY_PATH),
        "tdmrep.json": files.whole[".well-known/tdmrep.json"],
        "ai.txt": files.whole["ai.txt"],
        "license.xml": files.whole["license.xml"],
    }
    rendering = by_name[name]
    return rendering.unsaid if rendering is not None else ()


@settings(max_examples=60, deadline=None)
@given(terms_strategy, st.booleans())
def test_no_file_reads_back_looser_than_the_terms_and_each_says_what_it_drops(
    terms: Terms, with_server: bool
) -> None:
    files = site_signal_files(
        terms,
        owner=OWNER,
        base_url=BASE,
        licence_server="https://registry.example" if with_server else None,
    )
    rank = RESTRICTIVENESS.index
    for name, read in _read_back(files).items():
        assert not read.problems, (name, read.problems)
        for category in Category:
            meant, found = terms.permission(category), read.permission(category)
            if found is not None:
                assert rank(found) >= rank(meant) or (
                    # An Offer licenses what the terms allow: it grants nothing itself.
                    name == "tdm-policy" and meant is Permission.ALLOW
                ), (name, category, meant, found)
            if found is not meant and not (name == "tdm-policy" and meant is Permission.ALLOW):
                assert any(s.startswith(f"{category.value}:") for s in _unsaid(files, name)), (
                    name,
                    category,
                    meant,
                    found,
                )


@settings(max_examples=40, deadline=None)
@given(terms_strategy)
def test_together_the_files_keep_every_denial_and_never_allow_a_reserved_use(
    terms: Terms,
) -> None:
    files = site_signal_files(terms, owner=OWNER, base_url=BASE, licence_server=None)
    together = Reservation.merge(_read_back(files).values())
    for category in Category:
        meant, found = terms.permission(category), together.permission(category)
        assert found is not Permission.ALLOW or meant is Permission.ALLOW
        if meant is Permission.DENY and category is not Category.PUBLISH_OUTPUT:
            assert found is Permission.DENY, category


def test_without_the_sites_address_the_absolute_urls_are_left_out_and_it_says_so() -> None:
    terms = Terms(MappingProxyType({Category.TRAIN_AI: Permission.LICENSE}))
    files = site_signal_files(terms, owner=OWNER, base_url=None, licence_server=None)
    assert POLICY_PATH not in files.whole and files.licence is None
    assert "License:" not in files.robots.text
    assert any("no --base-url" in note for note in files.notes)
    served = site_signal_files(
        terms, owner=OWNER, base_url=None, licence_server="https://registry.example/"
    )
    assert served.licence == f"https://registry.example/rsl/{OWNER.id}/license.xml"
    assert f"License: {served.licence}" in served.robots.text
    assert f'server="https://registry.example/rsl/{OWNER.id}"' in served.whole["license.xml"].text


def test_a_policy_is_written_only_where_the_files_point_to_it() -> None:
    licensed = Terms(MappingProxyType(dict.fromkeys(Category, Permission.LICENSE)))
    files = site_signal_files(licensed, owner=OWNER, base_url=BASE, licence_server=None)
    policy = f"{BASE}/{POLICY_PATH}"
    assert files.whole[POLICY_PATH].text.count('"Offer"') == 1
    assert f'content="{policy}"' in files.head.text
    assert f"tdm-policy: {policy}" in files.headers.text
    # One TDM use denied: a policy would license it, so there is none to point to.
    denied = Terms(MappingProxyType({**licensed.categories, Category.TRAIN_OTHER: Permission.DENY}))
    files = site_signal_files(denied, owner=OWNER, base_url=BASE, licence_server=None)
    assert POLICY_PATH not in files.whole and "tdm-policy" not in files.headers.text


@pytest.mark.parametrize("url", ["ada.example", "ftp://ada.example", "https://", "/site"])
def test_an_address_that_is_not_absolute_is_refused_naming_the_option(url: str) -> None:
    terms = Terms(MappingProxyType({}))
    with pytest.raises(InputError, match=r"--base-url .* is not an absolute http\(s\) URL"):
        site_signal_files(terms, owner=OWNER, base_url=url, licence_server=None)
