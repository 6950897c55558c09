"""Terms written as robots.txt: ``Content-Usage`` and ``Content-Signal`` rules for every
crawler, RSL's ``License`` pointer, and ``Disallow`` groups for the AI crawlers that do
nothing but what the owner refuses.

Why Disallow groups at all: most AI crawlers today read only Allow and Disallow, so a
refusal said only in preference lines reaches few of them. Why so few: a Disallow stops
the fetch, and with it every use, so a crawler is blocked only when each of its
purposes is denied outright. A use reserved for licensing is not blocked, since the
crawler may be the licensee's: the preference lines say ``n`` and the licence is
offered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import MappingProxyType

from protego import Protego

from consentry.errors import InputError
from consentry.signals._robots_syntax import licence_problem
from consentry.signals.aipref import write_content_usage
from consentry.signals.crawlers import AiCrawler, ai_crawlers
from consentry.signals.model import Rendering, most_restrictive
from consentry.terms import Category, Permission, Terms

__all__ = ["write_robots"]

# A user-agent line names one product token (RFC 9309 §2.2.1); listed names with
# spaces or versions ("ChatGPT Agent", "iaskspider/2.0") cannot be written as one.
_ONE_TOKEN = re.compile(r"[A-Za-z0-9_.-]+")
_YES_NO = {Permission.ALLOW: "yes", Permission.DENY: "no", Permission.LICENSE: "no"}
# What each category is said by, in a robots.txt this module writes.
_SAID_BY = MappingProxyType(
    {
        Category.TRAIN_AI: "Content-Usage train-ai and Content-Signal ai-train",
        Category.TRAIN_OTHER: "Content-Signal ai-train",
        Category.AI_INPUT: "Content-Signal ai-input",
        Category.SEARCH: "Content-Usage search and Content-Signal search",
    }
)
_OTHER_TRAINING = MappingProxyType(
    {Category.TRAIN_AI: Category.TRAIN_OTHER, Category.TRAIN_OTHER: Category.TRAIN_AI}
)


def write_robots(
    terms: Terms,
    *,
    licence_url: str | None = None,
    agents: Iterable[AiCrawler] | None = None,
) -> Rendering:
    """A robots.txt stating ``terms`` (a category they leave out takes consentry's
    default, licence), with one sentence per thing it cannot say in ``unsaid``, each
    beginning with the category (or ``price:``, ``conditions:``) it is about.

    ``licence_url`` is written as RSL's ``License`` record; ``agents`` are the crawlers
    considered for a Disallow group (default: ``ai_crawlers()``). Raises
    ``InputError`` when ``licence_url`` is not an absolute URL.
    """
    if licence_url is not None:
        problem = licence_problem(licence_url, "licence URL")
        if problem is not None:
            raise InputError(problem.message)
    preferences = [
        f"Content-Usage: {write_content_usage(terms)}",
        f"Content-Signal: {_content_signal(terms)}",
    ]
    considered = tuple(ai_crawlers() if agents is None else agents)
    blocked = _blocked(terms, considered)
    spared = _spared(blocked, considered)
    out = ["# Written by consentry from the owner's terms."]
    if licence_url is not None:
        # RSL 1.0 robots.txt: a global record, before the groups.
        out += ["", f"License: {licence_url}"]
    if blocked:
        out += ["", *(f"User-agent: {c.token}" for c in blocked), "Disallow: /", *preferences]
    everyone = ["User-agent: *", *(f"User-agent: {c.token}" for c in spared)]
    out += ["", *everyone, "Allow: /", *preferences]
    return Rendering(
        filename="robots.txt",
        text="\n".join(out) + "\n",
        unsaid=_unsaid(terms, blocked, licence_url),
    )


def _content_signal(terms: Terms) -> str:
    # contentsignals.org: ai-train is any training, so it takes the stricter of the two
    # training categories; a licence has no Content Signals value and is written "no".
    pair = [terms.permission(Category.TRAIN_AI), terms.permission(Category.TRAIN_OTHER)]
    training = most_restrictive(pair) or Permission.LICENSE  # never None: two go in
    return ", ".join(
        [
            f"search={_YES_NO[terms.permission(Category.SEARCH)]}",
            f"ai-input={_YES_NO[terms.permission(Category.AI_INPUT)]}",
            f"ai-train={_YES_NO[training]}",
        ]
    )


def _blocked(terms: Terms, agents: Iterable[AiCrawler]) -> tuple[AiCrawler, ...]:
    seen: set[str] = set()
    blocked = []
    for crawler in agents:
        key = crawler.token.lower()
        if key in seen or not _ONE_TOKEN.fullmatch(crawler.token) or not crawler.categories:
            continue
        if all(terms.permission(c) is Permission.DENY for c in crawler.categories):
            seen.add(key)
            blocked.append(crawler)
    return tuple(blocked)


def _spared(blocked: tuple[AiCrawler, ...], agents: Iterable[AiCrawler]) -> tuple[AiCrawler, ...]:
    """The crawlers not blocked that a blocked token would still catch: protego, and
    parsers like it, match a user-agent value found inside a longer token ("AI2Bot"
    in "AI2Bot-DeepResearchEval"). Named in the ``*`` group, each matches itself
    first; to a parser that matches whole tokens (RFC 9309 §2.2.1) that group is the
    one it obeys anyway."""
    if not blocked:
        return ()
    group = "\n".join([*(f"User-agent: {c.token}" for c in blocked), "Disallow: /"])
    parser = Protego.parse(group)
    names = {c.token.lower() for c in blocked}
    spared: dict[str, AiCrawler] = {}
    for crawler in agents:
        key = crawler.token.lower()
        if key in names or key in spared or not _ONE_TOKEN.fullmatch(crawler.token):
            continue
        if not parser.can_fetch("/", crawler.token):
            spared[key] = crawler
    return tuple(spared.values())


def _unsaid(
    terms: Terms, blocked: tuple[AiCrawler, ...], licence_url: str | None
) -> tuple[str, ...]:
    unsaid: list[str] = []
    offered = f", with the licence offered at License: {licence_url}" if licence_url else ""
    for category in Category:
        permission = terms.permission(category)
        said_by = _SAID_BY.get(category)
        other = _OTHER_TRAINING.get(category)
        if said_by is None:
            unsaid.append(_unnamed(category, permission, blocked))
        elif permission is Permission.LICENSE:
            unsaid.append(
                f"{category.value}: reserved for licensing, which robots.txt preferences "
                f"cannot say; it is written as a denial ({said_by}), the safe reading"
                f"{offered}"
            )
        elif (
            permission is Permission.ALLOW
            and other is not None
            and terms.permission(other) is not Permission.ALLOW
        ):
            unsaid.append(
                f"{category.value}: allowed, but Content-Signal's ai-train speaks for "
                f"train-ai and train-other together and says no, for {other.value}'s "
                f"{terms.permission(other).value}"
            )
    unsaid.extend(_price_and_conditions(terms, licence_url))
    return tuple(unsaid)


def _unnamed(category: Category, permission: Permission, blocked: tuple[AiCrawler, ...]) -> str:
    stopped = [c.token for c in blocked if category in c.categories]
    if permission is Permission.DENY and stopped:
        return (
            f"{category.value}: no robots.txt preference names it; its denial is said only "
            f"by disallowing the crawlers that do nothing else ({', '.join(stopped)})"
        )
    return (
        f"{category.value}: no robots.txt preference names it, so robots.txt says nothing "
        f"of its {permission.value}"
    )


def _price_and_conditions(terms: Terms, licence_url: str | None) -> list[str]:
    where = (
        f"; state it in the RSL licence at {licence_url}" if licence_url else "; an RSL licence can"
    )
    out = []
    if terms.price is not None:
        out.append(f"price: {terms.price.describe()} cannot be said in robots.txt{where}")
    conditions = terms.conditions.to_json()
    if conditions:
        named = ", ".join(sorted(conditions))
        out.append(f"conditions: {named} cannot be said in robots.txt{where}")
    return out
