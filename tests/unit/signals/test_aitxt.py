"""Spawning's ai.txt read and written: file-type rules per crawler, the longest match
deciding, and every line it cannot read reported."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.signals import Reservation, Signal, aitxt
from consentry.signals.aitxt import AiTxt, write_ai_txt
from consentry.terms import DEFAULT_TERMS, Category, Conditions, Permission, Price, PriceUnit, Terms

VECTORS = Path(__file__).parents[2] / "vectors" / "signals" / "aitxt"
ALLOW, DENY, LICENSE = Permission.ALLOW, Permission.DENY, Permission.LICENSE
TRAINING = (Category.TRAIN_AI, Category.TRAIN_OTHER)
DENIED = dict.fromkeys(TRAINING, DENY)
ALLOWED = dict.fromkeys(TRAINING, ALLOW)


def _said(reservation: Reservation) -> dict[Category, Permission]:
    return {c: p for c in Category if (p := reservation.permission(c)) is not None}


def _plugin_file(allowed: set[str]) -> str:
    """The ai.txt Spawning's WordPress plugin writes when the owner allows the media kinds
    ``allowed`` ("Images", "Text"...), as its ``spawning_construct_file_content`` does:
    every kind's types under Allow or Disallow, then ``/`` allowed with text."""
    options = json.loads((VECTORS / "spawning-wp-plugin-options.json").read_text("utf-8"))
    lines = [options["pre"].strip(), options["userAgent"].strip()]
    if not allowed:
        return "\n".join([*lines, options["globalDisallow"]])
    closing = options["disallow"] + "/"
    for option in options["options"]:
        verb = options["allow"] if option["label"] in allowed else options["disallow"]
        lines += [verb + value.strip() for value in option["value"].split(",")]
        if option["label"] in allowed and option["globalFlag"]:
            closing = options["allow"] + "/"
    return "\n".join([*lines, closing]) + "\n"


def test_exports() -> None:
    assert aitxt.__all__ == ["AiTxt", "AiTxtGroup", "AiTxtRule", "write_ai_txt"]


# --- published examples ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/art/piece.jpg", "/index.html", "/feed?page=2", ""])
def test_opt_out_of_everything_denies_every_path(path: str) -> None:
    text = (VECTORS / "ai-robots-txt.ai.txt").read_text("utf-8")
    reservation = AiTxt.parse(text, place="https://example.org/ai.txt").reservation(path)
    assert _said(reservation) == DENIED
    assert not reservation.problems
    first = reservation.statements[0]
    assert first.source.signal is Signal.AI_TXT
    assert first.source.place == "https://example.org/ai.txt line 5"
    assert first.label == "Disallow: /"
    assert first.agent is None


def test_plugin_with_nothing_allowed_denies_everything() -> None:
    parsed = AiTxt.parse(_plugin_file(set()))
    assert not parsed.problems
    for path in ("/", "/a.png", "/song.mp3", "/main.py"):
        assert _said(parsed.reservation(path)) == DENIED


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/about", ALLOWED),  # pages fall under "/", allowed with text
        ("/notes.txt", ALLOWED),
        ("/papers/a.pdf?download=1", ALLOWED),
        ("/art/piece.jpg", DENIED),
        ("/art/PIECE.JPG", DENIED),  # a Disallow matches in any case
        ("/song.mp3", DENIED),
        ("/src/main.py", DENIED),
        # *.xml is listed under Text (allowed) and Code (reserved): a tie reserves.
        ("/feed.xml", DENIED),
    ],
)
def test_plugin_with_text_allowed(path: str, expected: dict[Category, Permission]) -> None:
    parsed = AiTxt.parse(_plugin_file({"Text"}))
    assert not parsed.problems
    assert _said(parsed.reservation(path)) == expected


def test_plugin_with_images_allowed_reads_an_allow_only_as_written() -> None:
    parsed = AiTxt.parse(_plugin_file({"Images"}))
    assert _said(parsed.reservation("/art/piece.jpg")) == ALLOWED
    assert _said(parsed.reservation("/about")) == DENIED
    # "Allow: *.jpg" does not reach PIECE.JPG, which "Disallow: /" reserves.
    assert _said(parsed.reservation("/art/PIECE.JPG")) == DENIED
    deciding = parsed.reservation("/art/piece.jpg").statements[0]
    assert deciding.label == "Allow: *.jpg"


# --- groups and matching --------------------------------------------------------------


def test_a_crawlers_group_binds_it_beside_the_star_group() -> None:
    parsed = AiTxt.parse(
        "User-Agent: GPTBot\nUser-Agent: CCBot\nDisallow: /\n\nUser-Agent: *\nAllow: /\n"
    )
    reservation = parsed.reservation("/page")
    assert {s.agent for s in reservation.statements} == {"GPTBot", "CCBot", None}
    assert _said(reservation.for_agent("gptbot")) == DENIED
    assert _said(reservation.for_agent("ccbot")) == DENIED
    assert _said(reservation.for_agent("Bingbot")) == ALLOWED
    assert _said(reservation.for_agent(None)) == DENIED


def test_groups_naming_one_crawler_are_merged() -> None:
    # RFC 9309 §2.2.1: the longest match is taken over every group for the crawler.
    parsed = AiTxt.parse("User-agent: *\nDisallow: /\n\nUser-agent: *\nAllow: /public/\n")
    assert [len(g.rules) for g in parsed.groups] == [2]
    assert _said(parsed.reservation("/public/a.txt")) == ALLOWED
    assert _said(parsed.reservation("/private")) == DENIED


@pytest.mark.parametrize(
    ("rule", "path", "matches"),
    [
        ("Disallow: /*.pdf$", "/a.pdf", True),
        ("Disallow: /*.pdf$", "/a.pdf?x=1", False),
        ("Disallow: /caf%C3%A9/", "/café/menu", True),
        ("Disallow: /%7Eada/", "/~ada/notes", True),
        ("Disallow: /a%2fb", "/a/b", False),  # an escaped "/" is not a path separator
        ("Disallow: /a%2fb", "/a%2Fb", True),
        ("Disallow: *.jpg", "/x.jpg.html", True),  # a prefix match, as RFC 9309's
        ("Disallow: /img/*/raw", "/img/2024/raw/1", True),
        ("Disallow: /img/*/raw", "/img/raw", False),
        ("Allow: /Public", "/public", False),
        ("Disallow: /Public", "/public", True),
    ],
)
def test_patterns(rule: str, path: str, matches: bool) -> None:
    parsed = AiTxt.parse(f"User-Agent: *\n{rule}\n")
    assert bool(parsed.reservation(path).statements) is matches


def test_whole_urls_bytes_bom_and_line_endings() -> None:
    parsed = AiTxt.parse(b"\xef\xbb\xbfUser-Agent: *\r\nDisallow: *.png\rAllow: /\n")
    assert not parsed.problems
    assert _said(parsed.reservation("https://example.org/a.png?size=2")) == DENIED
    assert _said(parsed.reservation("https://example.org/about")) == ALLOWED
    assert _said(parsed.reservation("about")) == ALLOWED


def test_empty_rule_and_other_records_say_nothing() -> None:
    parsed = AiTxt.parse(
        "# only a comment\nSitemap: https://example.org/s.xml\nUser-Agent: *\nDisallow:\n"
    )
    assert parsed.problems == ()
    assert parsed.reservation("/") == Reservation()
    assert AiTxt.parse("").reservation("/") == Reservation()


# --- malformed and hostile input ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "User-Agent: *\n/\nAllow: /\n",
            2,
            '"/" is not a field; write "User-Agent: *", "Disallow: <pattern>" or '
            '"Allow: <pattern>"',
        ),
        (
            "User-Agent: *\nDisalow: /\nAllow: /\n",
            2,
            '"Disalow" is not an ai.txt field; ai.txt has User-Agent, Allow and Disallow lines',
        ),
        (
            "User-Agent: *\nDisallow: jpg\nAllow: /\n",
            2,
            'pattern "jpg" must start with "/" or "*", e.g. "*.jpg" or "/images/"',
        ),
        (
            "User-Agent:\nUser-Agent: *\nAllow: /\n",
            1,
            'User-Agent names no crawler; write "User-Agent: *" for all',
        ),
        (
            "Disallow: /\nUser-Agent: *\nAllow: /\n",
            1,
            '"Disallow: /" comes before any User-Agent line, so it binds no crawler; put '
            '"User-Agent: *" above it',
        ),
        (
            "User-Agent: *\nAllow: /\nDisallow: /" + "a" * 2000 + "\n",
            3,
            "pattern is over 1,024 characters; no file type needs one",
        ),
    ],
)
def test_malformed_line_is_a_problem_and_never_an_allow(text: str, line: int, message: str) -> None:
    parsed = AiTxt.parse(text)
    (problem,) = parsed.problems
    assert problem.source.place == f"ai.txt line {line}"
    assert problem.message == message
    reservation = parsed.reservation("/anything")
    # The file's readable rules still read, and the problem reserves every category.
    assert reservation.permission(Category.TRAIN_AI) is ALLOW
    assert all(reservation.reserves(c) for c in Category)


def test_a_file_in_another_format_is_one_problem() -> None:
    parsed = AiTxt.parse("# My site\n\nThis site's content is **not** for AI.\n- Training: no\n")
    (problem,) = parsed.problems
    assert problem.source.place == "ai.txt"
    assert problem.message.startswith("this is not an ai.txt in Spawning's format")
    assert parsed.reservation("/").reserves(Category.TRAIN_AI)


def test_problems_are_capped_and_counted() -> None:
    parsed = AiTxt.parse("User-Agent: *\n" + "garbage\n" * 500)
    assert len(parsed.problems) == 21
    assert parsed.problems[-1].message == "480 more lines could not be read"


def test_hostile_patterns_stay_fast() -> None:
    rules = "".join(f"Disallow: /{'*a' * 500}b{i}\n" for i in range(50))
    parsed = AiTxt.parse("User-Agent: *\n" + rules)
    started = time.perf_counter()
    assert parsed.reservation("/" + "a" * 20_000).statements == ()
    assert time.perf_counter() - started < 2


@given(st.text(), st.text())
def test_any_text_reads_without_raising(text: str, path: str) -> None:
    parsed = AiTxt.parse(text)
    reservation = parsed.reservation(path)
    assert all(p.message for p in reservation.problems)


@given(
    st.lists(
        st.sampled_from(
            [
                "User-Agent: *",
                "User-Agent: GPTBot",
                "User-Agent:",
                "Disallow: /",
                "Allow: /",
                "Disallow: *.jpg",
                "Allow: *.jpg",
                "Disallow: /*$",
                "Allow: /a*b$",
                "Disallow:",
                "/",
                "# c",
                "Sitemap: x",
                "Nonsense: y",
                "\x00",
                "",
            ]
        ),
        max_size=30,
    ).map("\n".join),
    st.sampled_from(["/", "/a.jpg", "/a.JPG", "/ab", "/x?y", "https://e.org/a.jpg"]),
)
def test_any_rules_read_without_raising(text: str, path: str) -> None:
    reservation = AiTxt.parse(text).reservation(path)
    assert set(_said(reservation)) <= set(TRAINING)


# --- writer ---------------------------------------------------------------------------


def test_default_terms_disallow_everything() -> None:
    rendering = write_ai_txt(DEFAULT_TERMS)
    assert rendering.filename == "ai.txt"
    assert rendering.text.splitlines()[1:] == ["User-Agent: *", "Disallow: /", "Disallow: *"]
    assert rendering.unsaid[0] == (
        "train-ai: reserved for licensing, but ai.txt only allows or disallows; it reads "
        "back as denied"
    )
    assert "search: license, but ai.txt says nothing of it" in rendering.unsaid


def test_allowed_training_allows_everything() -> None:
    terms = Terms(
        MappingProxyType(dict.fromkeys(TRAINING, ALLOW)),
        Price(PriceUnit.BYTE, Decimal("0.001"), "USD"),
        Conditions(share_alike=True),
    )
    rendering = write_ai_txt(terms)
    assert rendering.text.splitlines()[1:] == ["User-Agent: *", "Allow: /", "Allow: *"]
    assert not any(u.startswith(("train-ai", "train-other")) for u in rendering.unsaid)
    assert "price: 0.001 USD per byte, but ai.txt carries no price" in rendering.unsaid
    assert "conditions: ai.txt carries none of them" in rendering.unsaid


@given(st.dictionaries(st.sampled_from(list(Category)), st.sampled_from(list(Permission))))
def test_round_trip_keeps_what_ai_txt_says_and_names_the_rest(
    categories: dict[Category, Permission],
) -> None:
    terms = Terms(MappingProxyType(categories))
    rendering = write_ai_txt(terms)
    parsed = AiTxt.parse(rendering.text)
    assert not parsed.problems
    for path in ("/", "/a.jpg", "/deep/page?q=1"):
        reservation = parsed.reservation(path)
        for category in Category:
            if reservation.permission(category) is terms.permission(category):
                assert not any(u.startswith(f"{category.value}:") for u in rendering.unsaid)
            else:
                assert any(u.startswith(f"{category.value}:") for u in rendering.unsaid)
