"""robots.txt read and written: AI crawler groups (RFC 9309), Content-Usage rules
(draft-ietf-aipref-attach-05 §3), Content-Signal lines (contentsignals.org) and RSL's
License record."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.errors import InputError
from consentry.signals import RESTRICTIVENESS, Reservation, Signal, Source, robots
from consentry.signals.robots import (
    LICENSED_CATEGORIES,
    AiCrawler,
    RobotsTxt,
    ai_crawlers,
    write_robots,
)
from consentry.terms import Category, Permission, Price, PriceUnit, Terms

VECTORS = Path(__file__).parents[2] / "vectors" / "signals" / "robots"
ALLOW, DENY, LICENSE = Permission.ALLOW, Permission.DENY, Permission.LICENSE
LICENCE = "https://example.com/license.xml"


def _vector(name: str) -> str:
    return (VECTORS / name).read_text("utf-8")


def _line(text: str, content: str) -> str:
    """``robots.txt line N`` for the line of ``text`` that is ``content``."""
    number = text.splitlines().index(content) + 1
    return f"robots.txt line {number}"


def _said(reservation: Reservation) -> dict[Category, Permission]:
    return {c: p for c in Category if (p := reservation.permission(c)) is not None}


def _crawler(token: str, *categories: Category) -> AiCrawler:
    return AiCrawler(token, "Example", categories, "test crawler")


def test_exports() -> None:
    assert robots.__all__ == [
        "LICENSED_CATEGORIES",
        "AiCrawler",
        "RobotsTxt",
        "ai_crawlers",
        "write_robots",
    ]


# -- Content-Usage (draft-ietf-aipref-attach-05 §3) ------------------------------------


def test_attach_05_robots_example_disallows_training_for_every_crawler() -> None:
    text = _vector("attach-05-s1.2.robots.txt")
    reservation = RobotsTxt.parse(text).reservation("/any/page")
    (statement,) = reservation.statements
    assert (statement.category, statement.permission, statement.agent) == (
        Category.TRAIN_AI,
        DENY,
        None,
    )
    assert statement.source.signal is Signal.CONTENT_USAGE_ROBOTS
    assert statement.source.place == _line(text, "Content-Usage: train-ai=n")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/test", {Category.TRAIN_AI: DENY}),
        ("/never/test", {}),  # not crawlable: N/A
        ("/ai-ok/test", {Category.TRAIN_AI: ALLOW}),
    ],
)
def test_attach_05_table_1_for_every_other_crawler(
    path: str, expected: dict[Category, Permission]
) -> None:
    parsed = RobotsTxt.parse(_vector("attach-05-s3.4.robots.txt"))
    assert _said(parsed.reservation(path, "OtherBot")) == expected


@pytest.mark.parametrize("path", ["/test", "/never/test", "/ai-ok/test"])
def test_attach_05_examplebot_uses_its_own_group(path: str) -> None:
    parsed = RobotsTxt.parse(_vector("attach-05-s3.4.robots.txt"))
    reservation = parsed.reservation(path, "ExampleBot")
    assert _said(reservation) == {Category.TRAIN_AI: ALLOW}
    assert {s.agent for s in reservation.statements} == {"ExampleBot"}


def test_without_an_agent_every_group_speaks_for_its_own_crawlers() -> None:
    text = _vector("attach-05-s3.4.robots.txt")
    reservation = RobotsTxt.parse(text).reservation("/test")
    assert {(s.agent, s.permission) for s in reservation.statements} == {
        (None, DENY),
        ("ExampleBot", ALLOW),
    }
    assert _said(reservation.for_agent("ExampleBot")) == {Category.TRAIN_AI: DENY}
    assert reservation.for_agent("ExampleBot").permission(Category.TRAIN_AI) is DENY


WILDCARDS = """\
User-agent: *
Content-Usage: train-ai=n
Content-Usage: /*.pdf$ train-ai=y
Content-Usage: /docs/ search=n
Content-Usage: /docs/*.pdf$ train-ai=n
Content-Usage: /caf%C3%A9/ search=y
Content-Usage: /%7Euser/ search=y
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/a.pdf", {Category.TRAIN_AI: ALLOW}),  # "/*.pdf$" is longer than ""
        ("/a.pdf?page=2", {Category.TRAIN_AI: DENY}),  # "$" ends the pattern
        ("/docs/intro", {Category.SEARCH: DENY}),  # the longest rule decides alone
        ("/docs/a.pdf", {Category.TRAIN_AI: DENY}),
        ("/café/menu", {Category.SEARCH: ALLOW}),  # RFC 9309 §2.2.2 percent-encoding
        ("/~user/home", {Category.SEARCH: ALLOW}),
    ],
)
def test_content_usage_longest_match_with_wildcards(
    path: str, expected: dict[Category, Permission]
) -> None:
    assert _said(RobotsTxt.parse(WILDCARDS).reservation(path)) == expected


def test_content_usage_rules_with_the_same_path_combine_most_restrictively() -> None:
    text = "User-agent: *\nContent-Usage: /x train-ai=y\nContent-Usage: /x train-ai=n\n"
    reservation = RobotsTxt.parse(text).reservation("/x/1")
    assert len(reservation.statements) == 2
    assert reservation.permission(Category.TRAIN_AI) is DENY


def test_content_usage_rules_interleave_with_allow_and_disallow_and_ignore_comments() -> None:
    text = "user-agent: *\ncontent-usage: search=n # no search\nDisallow: /private\n"
    parsed = RobotsTxt.parse(text)
    assert _said(parsed.reservation("/public")) == {Category.SEARCH: DENY}
    assert _said(parsed.reservation("/private/x")) == {}  # attach-05 §3.1


def test_a_malformed_content_usage_rule_is_a_problem_where_it_decides() -> None:
    text = "User-agent: *\nContent-Usage: train-ai=n\nContent-Usage: /docs/ train-ai=maybe\n"
    parsed = RobotsTxt.parse(text)
    (problem,) = parsed.problems
    assert problem.source.place == "robots.txt line 3"
    assert 'the token "maybe"' in problem.message
    decided = parsed.reservation("/docs/a")
    assert decided.statements == ()
    assert decided.problems == (problem,)
    assert all(decided.reserves(c) for c in Category)
    assert not parsed.reservation("/other").problems


@pytest.mark.parametrize("key", ["Content-Usage", "Content-Signal"])
def test_a_preference_before_any_group_is_a_problem_for_every_path(key: str) -> None:
    text = f"{key}: train-ai=n\nUser-agent: *\nAllow: /\n"
    reservation = RobotsTxt.parse(text).reservation("/a")
    (problem,) = reservation.problems
    assert problem.source.place == "robots.txt line 1"
    assert "comes before any User-agent line" in problem.message
    assert all(reservation.reserves(c) for c in Category)


def test_unknown_records_and_lines_without_a_colon_are_ignored() -> None:
    text = (
        "Sitemap: https://example.com/sitemap.xml\n"
        "User-agent: GPTBot\n"
        "Crawl-delay: 5\n"
        "Noindex: /x\n"
        "what is this line\n"
        "User-agent: ClaudeBot\n"  # RFC 9309 §2.2.4: other records do not end a group
        "Disallow: /\n"
    )
    parsed = RobotsTxt.parse(text)
    assert parsed.problems == ()
    assert {s.agent for s in parsed.reservation("/a").statements} == {"GPTBot", "ClaudeBot"}


def test_a_file_over_the_parsing_limit_is_read_in_part_and_reported() -> None:
    text = "User-agent: *\nContent-Usage: train-ai=n\n" + "# padding\n" * 60_000
    reservation = RobotsTxt.parse(text).reservation("/a")
    assert reservation.permission(Category.TRAIN_AI) is DENY
    (problem,) = reservation.problems
    assert "longer than 500 KiB" in problem.message


# -- AI crawler groups (RFC 9309 §2.2.1, §2.2.2, §5) -----------------------------------

EXAMPLE_CRAWLERS = (
    _crawler("foobot", Category.TRAIN_AI),
    _crawler("barbot", Category.AI_INPUT),
    _crawler("bazbot", Category.SEARCH),
    _crawler("quxbot", Category.TRAIN_AI),
    _crawler("otherbot", Category.TRAIN_AI),
)


@pytest.mark.parametrize(
    ("agent", "path", "disallowed"),
    [
        ("foobot", "/example/page.html", False),
        ("foobot", "/example/allowed.gif", False),
        ("foobot", "/example/other.html", True),
        ("foobot", "/publications/a", True),  # foobot obeys only its own group
        ("barbot", "/example/page.html", True),
        ("bazbot", "/example/page.html", True),
        ("barbot", "/example/other.gif", False),  # the "*" rules are not barbot's
        ("quxbot", "/example/a.gif", False),  # a group without rules allows everything
        ("otherbot", "/example/a", False),  # the "*" group is about crawling, not AI use
    ],
)
def test_rfc_9309_simple_example(agent: str, path: str, disallowed: bool) -> None:
    text = _vector("rfc9309-s5.1.robots.txt")
    parsed = RobotsTxt.parse(text, crawlers=EXAMPLE_CRAWLERS)
    statements = [
        s
        for s in parsed.reservation(path, agent).statements
        if s.source.signal is Signal.ROBOTS_AGENT
    ]
    assert bool(statements) is disallowed
    if disallowed:
        (statement,) = statements
        assert statement.agent == agent
        assert statement.permission is DENY


def test_rfc_9309_longest_match() -> None:
    text = _vector("rfc9309-s5.2.robots.txt")
    parsed = RobotsTxt.parse(text, crawlers=EXAMPLE_CRAWLERS)
    (statement,) = parsed.reservation("/example/page/disallowed.gif", "foobot").statements
    assert statement.label == "Disallow: /example/page/disallowed.gif"
    assert statement.source.place == _line(text, "Disallow: /example/page/disallowed.gif")
    assert parsed.reservation("/example/page/other.gif", "foobot").statements == ()


def test_a_known_training_crawler_disallowed_reserves_training() -> None:
    text = "User-agent: *\nAllow: /\n\nuser-agent: gptbot\nDisallow: /\n"
    reservation = RobotsTxt.parse(text).reservation("/article")
    (statement,) = reservation.statements
    assert (statement.category, statement.permission) == (Category.TRAIN_AI, DENY)
    assert (statement.agent, statement.label) == ("GPTBot", "Disallow: /")
    assert statement.source == Source(Signal.ROBOTS_AGENT, "robots.txt line 5")
    assert reservation.for_agent("ClaudeBot").statements == ()


def test_each_crawler_reserves_what_its_operator_uses_it_for() -> None:
    text = "User-agent: CCBot\nUser-agent: ChatGPT-User\nUser-agent: OAI-SearchBot\nDisallow: /\n"
    parsed = RobotsTxt.parse(text)
    assert _said(parsed.reservation("/a", "CCBot")) == {
        Category.TRAIN_AI: DENY,
        Category.TRAIN_OTHER: DENY,
        Category.DATA_MINING: DENY,
    }
    assert _said(parsed.reservation("/a", "ChatGPT-User")) == {Category.AI_INPUT: DENY}
    assert _said(parsed.reservation("/a", "OAI-SearchBot")) == {Category.SEARCH: DENY}
    assert parsed.reservation("/a", "GPTBot").statements == ()


def test_disallowing_every_crawler_is_not_an_ai_reservation() -> None:
    parsed = RobotsTxt.parse("User-agent: *\nDisallow: /\n")
    assert parsed.reservation("/a").statements == ()
    assert parsed.reservation("/a", "GPTBot").statements == ()


def test_the_robots_txt_itself_is_always_allowed() -> None:
    parsed = RobotsTxt.parse("User-agent: GPTBot\nDisallow: /\n")
    assert parsed.reservation("/robots.txt").statements == ()


# -- Content-Signal (contentsignals.org) -----------------------------------------------


def test_the_content_signals_policy_example() -> None:
    text = _vector("contentsignals-org.robots.txt")
    reservation = RobotsTxt.parse(text).reservation("/any")
    assert _said(reservation) == {
        Category.TRAIN_AI: DENY,
        Category.TRAIN_OTHER: DENY,  # "ai-train: training or fine-tuning AI models"
        Category.SEARCH: ALLOW,
        Category.AI_INPUT: ALLOW,
    }
    place = _line(text, "Content-Signal: ai-train=no, search=yes, ai-input=yes")
    assert {s.source for s in reservation.statements} == {Source(Signal.CONTENT_SIGNAL, place)}


def test_content_signal_without_spaces_and_with_keys_it_does_not_define() -> None:
    text = "User-agent: *\nContent-signal: search=yes,ai-train=no,use=reference\nAllow: /\n"
    reservation = RobotsTxt.parse(text).reservation("/a")
    assert _said(reservation) == {
        Category.SEARCH: ALLOW,
        Category.TRAIN_AI: DENY,
        Category.TRAIN_OTHER: DENY,
    }
    assert not reservation.problems


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Content-Signal: ai-train=maybe", 'ai-train has "maybe" where yes or no belongs'),
        ("Content-Signal: search", 'entry "search" has no "="'),
    ],
)
def test_a_malformed_content_signal_is_a_problem(line: str, message: str) -> None:
    reservation = RobotsTxt.parse(f"User-agent: *\n{line}\n").reservation("/a")
    assert reservation.statements == ()
    (problem,) = reservation.problems
    assert message in problem.message
    assert problem.source.place == "robots.txt line 2"


def test_content_signal_for_one_crawler_binds_only_it() -> None:
    text = (
        "User-agent: GPTBot\nContent-Signal: ai-train=no\n\n"
        "User-agent: *\nContent-Signal: ai-train=yes\n"
    )
    parsed = RobotsTxt.parse(text)
    assert {s.agent for s in parsed.reservation("/a", "GPTBot").statements} == {"GPTBot"}
    assert parsed.reservation("/a", "GPTBot").permission(Category.TRAIN_AI) is DENY
    assert parsed.reservation("/a", "OtherBot").permission(Category.TRAIN_AI) is ALLOW
    anyone = parsed.reservation("/a")
    assert anyone.permission(Category.TRAIN_AI) is DENY
    assert anyone.for_agent("OtherBot").permission(Category.TRAIN_AI) is ALLOW


def test_content_signal_applies_to_a_leading_path() -> None:
    text = "User-agent: *\nContent-Signal: ai-train=yes\nContent-Signal: /news/ ai-train=no\n"
    parsed = RobotsTxt.parse(text)
    assert parsed.reservation("/news/1").permission(Category.TRAIN_AI) is DENY
    assert parsed.reservation("/blog/1").permission(Category.TRAIN_AI) is ALLOW


# -- RSL License ---------------------------------------------------------------------------


def test_the_rsl_example_offers_its_licence_for_every_use() -> None:
    text = _vector("rsl-1.0.robots.txt")
    parsed = RobotsTxt.parse(text)
    assert parsed.licences == (LICENCE,)
    reservation = parsed.reservation("/a", "Googlebot")
    assert {s.category for s in reservation.statements} == set(LICENSED_CATEGORIES)
    for statement in reservation.statements:
        assert (statement.permission, statement.licence) == (LICENSE, LICENCE)
        assert statement.source == Source(Signal.RSL, _line(text, f"License: {LICENCE}"))
        assert statement.agent is None
    assert parsed.reservation("/a", licences=False).statements == ()


def test_a_licence_line_inside_a_group_does_not_end_it() -> None:
    text = (
        "User-agent: GPTBot\nLicense: https://example.com/l.xml\nUser-agent: CCBot\nDisallow: /\n"
    )
    parsed = RobotsTxt.parse(text)
    assert parsed.licences == ("https://example.com/l.xml",)
    denied = parsed.reservation("/a", "GPTBot", licences=False)
    assert denied.permission(Category.TRAIN_AI) is DENY


@pytest.mark.parametrize("value", ["/license.xml", "license.xml", "https://", "http://[::1"])
def test_a_licence_that_is_not_an_absolute_url_is_a_problem(value: str) -> None:
    parsed = RobotsTxt.parse(f"License: {value}\n")
    assert parsed.licences == ()
    (problem,) = parsed.reservation("/a").problems
    assert problem.source.signal is Signal.RSL
    assert "is not an absolute URL" in problem.message


# -- any input -----------------------------------------------------------------------------

robots_lines = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "User-agent: *",
                "User-agent: GPTBot",
                "User-agent: CCBot",
                "Disallow: /",
                "Disallow: /a*b$",
                "Allow: /a",
                "Content-Usage: train-ai=n",
                "Content-Usage: /a train-ai=y",
                "Content-Signal: search=yes, ai-train=no",
                f"License: {LICENCE}",
                "",
            ]
        ),
        st.text(max_size=40),
    ),
    max_size=25,
)


@settings(max_examples=60)
@given(robots_lines, st.text(max_size=30), st.sampled_from([None, "GPTBot", "CCBot", "x"]))
def test_any_file_and_path_read_without_raising(
    lines: list[str], path: str, agent: str | None
) -> None:
    parsed = RobotsTxt.parse("\n".join(lines))
    reservation = parsed.reservation(path, agent)
    for statement in reservation.statements:
        assert statement.source.place.startswith("robots.txt")
    assert set(reservation.problems) <= set(parsed.problems)


# -- the crawler list ---------------------------------------------------------------------


def test_the_crawler_list_names_its_source_and_licence() -> None:
    data = json.loads(
        resources.files("consentry.signals").joinpath("ai_crawlers.json").read_text("utf-8")
    )
    assert data["source"].startswith("https://github.com/ai-robots-txt/ai.robots.txt/")
    assert data["licence"] == "MIT"
    assert "Permission is hereby granted" in data["licence_notice"]


def test_the_crawler_list_has_one_entry_per_token_with_categories() -> None:
    crawlers = ai_crawlers()
    tokens = [c.token.lower() for c in crawlers]
    assert len(tokens) == len(set(tokens))
    assert all(c.categories for c in crawlers)
    by_token = {c.token: c for c in crawlers}
    assert by_token["GPTBot"].categories == (Category.TRAIN_AI,)
    assert by_token["ClaudeBot"].categories == (Category.TRAIN_AI,)
    assert by_token["Claude-User"].categories == (Category.AI_INPUT,)
    assert by_token["PerplexityBot"].categories == (Category.SEARCH,)
    assert by_token["Google-Extended"].operator == "Google"


# -- writing -----------------------------------------------------------------------------


def _terms(**categories: Permission) -> Terms:
    return Terms(
        MappingProxyType({Category(k.replace("_", "-")): v for k, v in categories.items()})
    )


def test_default_terms_write_refusals_and_block_no_crawler() -> None:
    rendering = write_robots(Terms())
    assert rendering.filename == "robots.txt"
    assert "Disallow" not in rendering.text
    assert "Content-Usage: train-ai=n, search=n" in rendering.text
    assert "Content-Signal: search=no, ai-input=no, ai-train=no" in rendering.text
    assert any(s.startswith("train-ai: reserved for licensing") for s in rendering.unsaid)


def test_a_refused_use_blocks_the_crawlers_that_do_nothing_else() -> None:
    terms = _terms(train_ai=DENY, train_other=ALLOW, ai_input=ALLOW, search=ALLOW)
    text = write_robots(terms).text
    agents = {line.removeprefix("User-agent: ") for line in text.splitlines()}
    assert "GPTBot" in agents
    assert "ClaudeBot" in agents
    assert "CCBot" not in agents  # it crawls for other uses too
    assert "Google-Extended" not in agents  # and ai-input, which is allowed
    assert "ChatGPT-User" not in agents
    assert "ChatGPT Agent" not in agents  # not one product token


def test_the_licence_url_is_written_and_read_back() -> None:
    rendering = write_robots(_terms(train_ai=LICENSE), licence_url=LICENCE)
    assert f"License: {LICENCE}" in rendering.text.splitlines()
    parsed = RobotsTxt.parse(rendering.text)
    assert parsed.licences == (LICENCE,)
    assert parsed.problems == ()
    assert any(LICENCE in s for s in rendering.unsaid if s.startswith("train-ai:"))


def test_a_licence_url_that_is_not_absolute_is_refused() -> None:
    with pytest.raises(InputError, match="is not an absolute URL"):
        write_robots(Terms(), licence_url="/license.xml")


def test_the_agents_considered_can_be_given() -> None:
    crawler = _crawler("ExampleTrainer", Category.TRAIN_AI)
    text = write_robots(_terms(train_ai=DENY), agents=[crawler]).text
    assert "User-agent: ExampleTrainer\nDisallow: /" in text
    assert "GPTBot" not in text


def test_price_and_conditions_are_unsaid() -> None:
    terms = Terms(price=Price(PriceUnit.THOUSAND_TOKENS, Decimal("0.02"), "EUR"))
    (price,) = [s for s in write_robots(terms, licence_url=LICENCE).unsaid if s.startswith("price")]
    assert price == (
        "price: 0.02 EUR per 1k-tokens cannot be said in robots.txt; "
        f"state it in the RSL licence at {LICENCE}"
    )


permissions = st.sampled_from(list(Permission))
terms_strategy = st.builds(
    lambda categories: Terms(MappingProxyType(categories)),
    st.dictionaries(st.sampled_from(list(Category)), permissions),
)


@settings(max_examples=40)
@given(terms_strategy, st.sampled_from(["/", "/a/b?c=d"]))
def test_round_trip_keeps_what_robots_txt_can_say_and_names_the_rest(
    terms: Terms, path: str
) -> None:
    rendering = write_robots(terms)
    parsed = RobotsTxt.parse(rendering.text)
    assert parsed.problems == ()
    read = parsed.reservation(path, licences=False)
    for category in Category:
        written = terms.permission(category)
        found = read.permission(category)
        if any(s.startswith(f"{category.value}:") for s in rendering.unsaid):
            # never more permissive than the terms
            rank = RESTRICTIVENESS.index
            assert found is None or rank(found) >= rank(written)
            assert found is not ALLOW or written is ALLOW
        else:
            assert found is written


def test_a_crawler_whose_token_holds_a_blocked_one_is_named_where_it_is_allowed() -> None:
    # protego reads "User-agent: AI2Bot" as also naming "AI2Bot-DeepResearchEval".
    terms = _terms(train_ai=DENY, train_other=DENY, ai_input=ALLOW, search=ALLOW)
    rendering = write_robots(terms)
    everyone = rendering.text.split("User-agent: *\n", 1)[1]
    assert "User-agent: AI2Bot-DeepResearchEval\n" in everyone
    parsed = RobotsTxt.parse(rendering.text)
    assistant = parsed.reservation("/a", "AI2Bot-DeepResearchEval", licences=False)
    assert assistant.permission(Category.AI_INPUT) is ALLOW
    assert not [s for s in assistant.statements if s.source.signal is Signal.ROBOTS_AGENT]
    trainer = parsed.reservation("/a", "AI2Bot", licences=False)
    assert [s.label for s in trainer.statements if s.source.signal is Signal.ROBOTS_AGENT] == [
        "Disallow: /"
    ]


@settings(max_examples=25)
@given(terms_strategy)
def test_every_crawler_reads_back_no_more_than_the_terms_allow(terms: Terms) -> None:
    parsed = RobotsTxt.parse(write_robots(terms).text)
    for crawler in ai_crawlers():
        read = parsed.reservation("/page", crawler.token, licences=False)
        for category in crawler.categories:
            found, written = read.permission(category), terms.permission(category)
            assert found is not ALLOW or written is ALLOW
            if written is DENY and category is not Category.DATA_MINING:
                assert found is DENY  # data-mining is said only by blocking
