"""robots.txt as a source of reservations (RFC 9309, with its extensions).

Four things in one file speak of AI uses:

* the groups for AI crawlers (``User-agent: GPTBot`` / ``Disallow: /``): a group that
  names a known AI crawler and disallows a path reserves, for that crawler, the
  categories its operator uses what it fetches for (``ai_crawlers.json``);
* ``Content-Usage`` rules (draft-ietf-aipref-attach-05 §3), AI-preferences by path;
* Cloudflare's ``Content-Signal`` rules (https://contentsignals.org): ``search``,
  ``ai-input`` and ``ai-train`` with ``yes`` or ``no``;
* RSL 1.0's ``License`` record (https://rslstandard.org/guide/robots-txt): where the
  site's licence is. Read here as "every use is reserved for licensing" until the
  licence itself is read (``consentry.signals.rsl``).

Group matching and Allow/Disallow are protego's (RFC 9309 §2.2.1, §2.2.2); the lines
protego does not read are parsed here following RFC 9309's grammar. Nothing here raises
on input: what cannot be read becomes a ``Problem``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TypeVar, cast

from protego import Protego

from consentry.signals._robots_syntax import (
    RULE_NAMES,
    Group,
    Line,
    PathPattern,
    licence_problem,
    lines,
    misplaced_rule,
    read_content_signal,
    split_path,
)
from consentry.signals._robots_write import write_robots
from consentry.signals.aipref import read_content_usage
from consentry.signals.crawlers import AiCrawler, ai_crawlers
from consentry.signals.model import Problem, Reservation, Signal, Source, Statement
from consentry.terms import Category, Permission

__all__ = [
    "LICENSED_CATEGORIES",
    "AiCrawler",
    "RobotsTxt",
    "ai_crawlers",
    "write_robots",
]


LICENSED_CATEGORIES: tuple[Category, ...] = (
    Category.TRAIN_AI,
    Category.TRAIN_OTHER,
    Category.AI_INPUT,
    Category.SEARCH,
    Category.DATA_MINING,
)
"""What an RSL ``License`` pointer reserves until its licence is read: every use of the
site's content (RSL's ``all`` usage). Publishing a model's output is not such a use."""


_T = TypeVar("_T")

# RFC 9309 §2.5: parse at least 500 KiB; draft-ietf-aipref-attach-05 §4 keeps the limit.
_PARSE_LIMIT = 500 * 1024
# How many distinct sets of preferences a file keeps addressed copies of.
_ADDRESSED_KEPT = 256


@dataclass(frozen=True, slots=True)
class _PreferenceRule:
    """A Content-Usage or Content-Signal line of a group: its path pattern and what its
    preference says (statements addressed to no one yet, and problems)."""

    signal: Signal
    pattern: PathPattern
    said: Reservation


@dataclass(frozen=True, slots=True)
class _Group:
    first_line: int
    agents: tuple[str, ...]
    access: tuple[Line, ...]
    rules: tuple[_PreferenceRule, ...]
    disallows: tuple[tuple[Line, PathPattern], ...]

    @property
    def for_everyone(self) -> bool:
        return "*" in self.agents


@dataclass(frozen=True, slots=True)
class RobotsTxt:
    """A parsed robots.txt. ``licences`` are its RSL ``License`` URLs; ``problems``
    every line it could not read, each with its line number."""

    place: str
    licences: tuple[str, ...]
    problems: tuple[Problem, ...]
    _groups: tuple[_Group, ...]
    _licence_lines: tuple[tuple[int, str], ...]
    _binding_problems: tuple[Problem, ...]
    _crawlers: tuple[AiCrawler, ...]
    _cache: dict[object, object] = field(default_factory=dict, compare=False, repr=False)
    _addressed_seen: dict[Reservation, dict[str | None, Reservation]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        place: str = "robots.txt",
        crawlers: Iterable[AiCrawler] | None = None,
    ) -> RobotsTxt:
        """Read ``text`` (the file, decoded as UTF-8, RFC 9309 §2.3). ``place`` names
        the file in every statement's source (``robots.txt line 7``); ``crawlers`` are
        the AI crawlers whose groups reserve (default: ``ai_crawlers()``). Never
        raises."""
        problems: list[Problem] = []
        encoded = text.encode("utf-8", "replace")
        if len(encoded) > _PARSE_LIMIT:
            text = encoded[:_PARSE_LIMIT].decode("utf-8", "ignore")
            problems.append(
                Problem(
                    Source(Signal.ROBOTS_AGENT, place),
                    f"{place} is longer than 500 KiB, and only its first 500 KiB were read "
                    "(RFC 9309 §2.5); keep it shorter so that every rule is read",
                )
            )
        builders, licences = _read_records(text, place, problems)
        binding = tuple(problems)
        groups = tuple(_freeze(builder, place) for builder in builders)
        problems.extend(p for g in groups for rule in g.rules for p in rule.said.problems)
        return cls(
            place=place,
            licences=tuple(url for _, url in licences),
            problems=tuple(sorted(problems, key=_line_of)),
            _groups=groups,
            _licence_lines=tuple(licences),
            _binding_problems=binding,
            _crawlers=tuple(ai_crawlers() if crawlers is None else crawlers),
        )

    def reservation(
        self, path: str, agent: str | None = None, *, licences: bool = True
    ) -> Reservation:
        """What this file says about the resource at ``path`` (a URL path with its
        query, e.g. ``/articles/1?page=2``) on its site.

        ``agent`` is a crawler's product token (``GPTBot``); with None, every group
        speaks, each statement naming the user agent it is addressed to (None for the
        ``*`` group), as ``Reservation.for_agent`` expects. The RSL ``License``
        pointers reserve ``LICENSED_CATEGORIES`` for licensing, with the licence URL
        on each statement; pass ``licences=False`` once the licence documents have
        been read and their own statements merged instead. Problems of the file, and
        of the rules that decide this path, come with it.
        """
        target = path if path.startswith("/") else "/" + path
        parts = [Reservation(problems=self._binding_problems)]
        audiences: list[str | None] = [agent] if agent is not None else [None, *self._named()]
        # Crawlers that obey the same groups hear the same preferences: read them once.
        said: dict[tuple[int, ...], dict[str | None, Reservation]] = {}
        for audience in audiences:
            groups, named = self._applying(audience)
            if groups not in said:
                said[groups] = self._addressed_copies(self._preferences(target, groups))
            addressed = said[groups]
            to = audience if named else None
            if to not in addressed:
                addressed[to] = _addressed(addressed[None], to)
            parts.append(addressed[to])
        parts.append(Reservation(tuple(self._crawler_statements(target, agent))))
        if licences:
            parts.append(Reservation(tuple(self._licence_statements())))
        return Reservation.merge(parts)

    def _addressed_copies(self, said: Reservation) -> dict[str | None, Reservation]:
        """``said`` addressed to each crawler it was addressed to before: many paths
        of a site hear the same preferences, and a copy per crawler per path was most
        of the time a corpus spent here. Bounded: a file whose rules differ on every
        path keeps only the latest."""
        copies = self._addressed_seen.get(said)
        if copies is None:
            if len(self._addressed_seen) >= _ADDRESSED_KEPT:
                self._addressed_seen.clear()
            copies = self._addressed_seen[said] = {None: said}
        return copies

    # -- which groups apply -------------------------------------------------------

    def _memo(self, key: object, compute: Callable[[], _T]) -> _T:
        """``compute()``, once per key: which groups a crawler obeys does not depend
        on the path, and a corpus asks about many paths of one site."""
        if key not in self._cache:
            self._cache[key] = compute()
        return cast("_T", self._cache[key])

    def _named(self) -> tuple[str, ...]:
        """Every user agent a group names, once each (compared without case)."""

        def named() -> tuple[str, ...]:
            seen: dict[str, str] = {}
            for group in self._groups:
                for written in group.agents:
                    if written != "*":
                        seen.setdefault(written.lower(), written)
            return tuple(seen.values())

        return self._memo("named", named)

    def _markers(self) -> Protego:
        # protego exposes the group it picks for a crawler only through can_fetch, so
        # each group that names user agents gets its own marker path to probe.
        def markers() -> Protego:
            blocks = []
            for index, group in enumerate(self._groups):
                named = [a for a in group.agents if a != "*"]
                if named:
                    agents = "\n".join(f"User-agent: {a}" for a in named)
                    blocks.append(f"{agents}\nDisallow: /{index}/\n")
            return Protego.parse("\n".join(blocks))

        return self._memo("markers", markers)

    def _named_groups(self, agent: str) -> tuple[int, ...]:
        """The groups that name ``agent``, combined as RFC 9309 §2.2.1 asks."""

        def named_groups() -> tuple[int, ...]:
            markers = self._markers()
            return tuple(
                index
                for index, group in enumerate(self._groups)
                if any(a != "*" for a in group.agents)
                and not markers.can_fetch(f"/{index}/", agent)
            )

        return self._memo(("named", agent.lower()), named_groups)

    def _applying(self, agent: str | None) -> tuple[tuple[int, ...], bool]:
        """The groups a crawler obeys, and whether they name it (RFC 9309 §2.2.1: the
        groups matching its product token, else the ``*`` group, else none)."""
        named = self._named_groups(agent) if agent is not None else ()
        if named:
            return named, True
        return tuple(i for i, g in enumerate(self._groups) if g.for_everyone), False

    def _named_crawlers(self) -> tuple[tuple[AiCrawler, tuple[int, ...]], ...]:
        """The known AI crawlers some group names, each with the groups it obeys."""

        def named_crawlers() -> tuple[tuple[AiCrawler, tuple[int, ...]], ...]:
            values = [a.lower().replace("*", "") for a in self._named()]
            found = []
            for crawler in self._crawlers:
                # protego matches a user-agent value found in the token: a token no
                # value is found in needs no probe.
                token = crawler.token.lower()
                if any(value in token for value in values):
                    groups = self._named_groups(crawler.token)
                    if groups:
                        found.append((crawler, groups))
            return tuple(found)

        return self._memo("crawlers", named_crawlers)

    def _allowed(self, groups: tuple[int, ...], path: str) -> bool:
        def access() -> Protego:
            rules = [
                f"{line.key.capitalize()}: {line.value}"
                for index in groups
                for line in self._groups[index].access
            ]
            return Protego.parse("\n".join(["User-agent: *", *rules]))

        return self._memo(("access", groups), access).can_fetch(path, "*")

    # -- what they say ------------------------------------------------------------

    def _preferences(self, path: str, groups: tuple[int, ...]) -> Reservation:
        """What the preference rules of ``groups`` say of ``path``, addressed to no one."""
        if not groups:
            return Reservation()
        rules = [rule for index in groups for rule in self._groups[index].rules]
        crawlable = self._allowed(groups, path)
        parts: list[Reservation] = []
        for signal in (Signal.CONTENT_USAGE_ROBOTS, Signal.CONTENT_SIGNAL):
            # draft-ietf-aipref-attach-05 §3.1: usage preferences apply only to what
            # may be crawled. Content Signals make no such exception.
            if signal is Signal.CONTENT_USAGE_ROBOTS and not crawlable:
                continue
            matching = [r for r in rules if r.signal is signal and r.pattern.matches(path)]
            if not matching:
                continue
            # attach-05 §3.1: the longest matching path decides, as for Allow and
            # Disallow; rules with the same path all apply, combined by vocab-07 §5.1.
            longest = max(rule.pattern.length for rule in matching)
            parts.extend(rule.said for rule in matching if rule.pattern.length == longest)
        return Reservation.merge(parts)

    def _crawler_statements(self, path: str, agent: str | None) -> Iterator[Statement]:
        crawlable: dict[tuple[int, ...], bool] = {}
        deciding: dict[tuple[int, ...], tuple[int, str]] = {}
        for crawler, groups in self._named_crawlers():
            if agent is not None and crawler.token.lower() != agent.lower():
                continue
            # Only a group that names the crawler speaks of AI use: the ``*`` group's
            # Disallow is about crawling, and disallowed paths carry no preference
            # (attach-05 §3.1).
            if groups not in crawlable:
                crawlable[groups] = self._allowed(groups, path)
            if crawlable[groups]:
                continue
            if groups not in deciding:
                deciding[groups] = self._deciding_disallow(groups, path)
            number, label = deciding[groups]
            source = Source(Signal.ROBOTS_AGENT, f"{self.place} line {number}")
            for category in crawler.categories:
                yield Statement(category, Permission.DENY, source, label, agent=crawler.token)

    def _deciding_disallow(self, groups: tuple[int, ...], path: str) -> tuple[int, str]:
        """The Disallow line that decides ``path``, for the statement's place."""
        matching = [
            (pattern.length, line)
            for index in groups
            for line, pattern in self._groups[index].disallows
            if pattern.matches(path)
        ]
        if matching:
            _, line = max(matching, key=lambda match: match[0])
            return line.number, f"Disallow: {line.value}"
        first = self._groups[groups[0]]
        return first.first_line, f"User-agent: {first.agents[0]}"

    def _licence_statements(self) -> Iterator[Statement]:
        for number, url in self._licence_lines:
            source = Source(Signal.RSL, f"{self.place} line {number}")
            for category in LICENSED_CATEGORIES:
                yield Statement(
                    category, Permission.LICENSE, source, f"License: {url}", licence=url
                )


def _read_records(
    text: str, place: str, problems: list[Problem]
) -> tuple[list[Group], list[tuple[int, str]]]:
    """The groups and the License records of ``text``; what cannot be read is added
    to ``problems``."""
    builders: list[Group] = []
    licences: list[tuple[int, str]] = []
    in_agents = False
    for line in lines(text):
        where = f"{place} line {line.number}"
        if line.key == "user-agent":
            # RFC 9309 §2.1: a group is user-agent lines followed by rules; a
            # user-agent line after a rule starts the next group.
            if not in_agents:
                builders.append(Group(line.number))
            if line.value:
                builders[-1].agents.append(line.value)
            in_agents = True
        elif line.key in {"allow", "disallow"}:
            in_agents = False
            # RFC 9309 §2.2.2: rules before the first user-agent line are ignored;
            # an empty path ("Disallow:") disallows nothing.
            if builders and line.value:
                builders[-1].access.append(line)
        elif line.key in RULE_NAMES:
            in_agents = False
            if builders:
                builders[-1].preferences.append(line)
            else:
                problems.append(misplaced_rule(line, where))
        elif line.key == "license":
            # RSL 1.0 robots.txt: a global record, tied to no user agent; like
            # Sitemap it never ends a group (RFC 9309 §2.2.4).
            problem = licence_problem(line.value, where)
            if problem is None:
                licences.append((line.number, line.value))
            else:
                problems.append(problem)
        # RFC 9309 §2.2.4: other records are ignored and do not end a group.
    return builders, licences


def _addressed(said: Reservation, agent: str | None) -> Reservation:
    if agent is None:
        return said
    return Reservation(tuple(replace(s, agent=agent) for s in said.statements), said.problems)


def _freeze(builder: Group, place: str) -> _Group:
    rules = tuple(_rule(line, place) for line in builder.preferences)
    disallows = tuple(
        (line, PathPattern.of(line.value)) for line in builder.access if line.key == "disallow"
    )
    return _Group(
        builder.first_line, tuple(builder.agents), tuple(builder.access), rules, disallows
    )


def _rule(line: Line, place: str) -> _PreferenceRule:
    where = f"{place} line {line.number}"
    path, preference = split_path(line.value)
    if line.key == "content-usage":
        # attach-05 §3.2: the preference is vocab-07's format, read as bytes.
        said = read_content_usage(preference, place=where, signal=Signal.CONTENT_USAGE_ROBOTS)
        return _PreferenceRule(Signal.CONTENT_USAGE_ROBOTS, PathPattern.of(path), said)
    # Content Signals define no path; a leading one is read as attach-05 §3.2 reads
    # Content-Usage's, and a line without one speaks for the whole site.
    said = read_content_signal(preference, Source(Signal.CONTENT_SIGNAL, where))
    return _PreferenceRule(Signal.CONTENT_SIGNAL, PathPattern.of(path), said)


def _line_of(problem: Problem) -> int:
    number = problem.source.place.rpartition(" line ")[2]
    return int(number) if number.isdigit() else 0
