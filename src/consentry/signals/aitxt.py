"""Spawning's ai.txt: a site's permissions for training AI models on its files, in
robots.txt's syntax over file-type patterns.

Format. Spawning describes the file (https://site.spawning.ai/spawning-ai-txt;
"ai.txt: A new way for websites to set permissions for AI",
https://spawning.substack.com/p/aitxt-a-new-way-for-websites-to-set) as robots.txt's
grammar, read when a site's media is downloaded for training rather than when it is
crawled. Its generator writes ``User-Agent: *`` and then ``Disallow:`` or ``Allow:`` lines,
one per file type (``*.jpg``) of each media kind the owner opts out of or in, closed by
``Allow: /`` or ``Disallow: /`` as text (pages among it) is allowed or not (its WordPress
plugin, github.com/Spawning-Inc/spawning-wp-plugin, ``spawning_construct_file_content``);
opting out of everything writes ``Disallow: /`` and ``Disallow: *``. Matching follows
robots.txt (RFC 9309 §2.2): groups by user agent, ``*`` for any run of characters, ``$``
at the end for the end of the path, and the most specific (longest) matching rule decides.

Scope. Spawning speaks of whether content may be used to train AI models, so a rule
allows or denies ``train-ai`` and ``train-other``; the file says nothing of other uses.

Where this reading is stricter than robots.txt, on purpose, so that doubt reserves:
a tie between an Allow and a Disallow of the same length is a Disallow (RFC 9309 prefers
the Allow, but the generator lists ``*.xml``, ``*.ts`` and ``*.rm`` under two media kinds,
so a tie means the owner both allowed and reserved that type); a Disallow matches without
regard to case (file types are extensions, served as ``IMG.JPG`` as often as ``img.jpg``)
while an Allow matches as written; a crawler with a group of its own is still bound by
the ``*`` group (``Reservation.for_agent`` keeps both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import quote, urlsplit

from consentry.signals.model import (
    Problem,
    Rendering,
    Reservation,
    Signal,
    Source,
    Statement,
    statements_for,
)
from consentry.terms import Category, Permission, Terms

__all__ = ["AiTxt", "AiTxtGroup", "AiTxtRule", "write_ai_txt"]

_TRAINING = (Category.TRAIN_AI, Category.TRAIN_OTHER)
_DECISIONS = {
    allow: MappingProxyType(
        dict.fromkeys(_TRAINING, Permission.ALLOW if allow else Permission.DENY)
    )
    for allow in (True, False)
}
# robots.txt records that say nothing of AI use (RFC 9309 §2.2.4, and common extensions).
_OTHER_RECORDS = frozenset({"sitemap", "crawl-delay", "host"})
_LINES = re.compile(r"\r\n|\r|\n")
# Beyond these a file is not read line by line into problems: one sentence says the rest.
_MAX_PROBLEMS = 20
_MAX_PATTERN = 1024


@dataclass(frozen=True, slots=True)
class AiTxtRule:
    """One ``Allow:`` or ``Disallow:`` line: its pattern, its line and its words."""

    allow: bool
    pattern: str
    line: int
    written: str

    @property
    def specificity(self) -> int:
        # RFC 9309 §2.2.2: the most specific match is the one with the most octets.
        return len(self.pattern.encode("utf-8", "replace"))

    def matches(self, path: str) -> bool:
        """Whether the rule covers ``path``, both percent-encoded alike first."""
        pattern, target = _normalised(self.pattern), _normalised(path)
        if not self.allow:
            pattern, target = pattern.lower(), target.lower()
        anchored = pattern.endswith("$")
        body = pattern[:-1] if anchored else pattern + "*"
        return _glob(tuple(body.split("*")), target)


@dataclass(frozen=True, slots=True)
class AiTxtGroup:
    """The rules for one crawler (``agent`` None: ``User-Agent: *``), every group naming
    it merged (RFC 9309 §2.2.1)."""

    agent: str | None
    rules: tuple[AiTxtRule, ...]

    def deciding(self, path: str) -> AiTxtRule | None:
        """The rule that decides ``path``: the longest match, a Disallow on a tie."""
        best: AiTxtRule | None = None
        for rule in self.rules:
            if rule.matches(path) and (
                best is None
                or rule.specificity > best.specificity
                or (rule.specificity == best.specificity and best.allow and not rule.allow)
            ):
                best = rule
        return best


@dataclass(frozen=True, slots=True)
class AiTxt:
    """A parsed ai.txt: its groups and the lines it could not read."""

    place: str
    groups: tuple[AiTxtGroup, ...] = ()
    problems: tuple[Problem, ...] = ()

    @classmethod
    def parse(cls, text: str | bytes, *, place: str = "ai.txt") -> AiTxt:
        """Read ``text`` (bytes as UTF-8, bad bytes replaced). Never raises: a line it
        cannot read is a problem naming the line and what to write instead."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        reader = _Reader(place)
        for number, raw in enumerate(_LINES.split(text.removeprefix("\ufeff")), 1):
            reader.read(number, raw.split("#", 1)[0].strip())
        return reader.result()

    def reservation(self, path: str = "/") -> Reservation:
        """What the file says of ``path`` (a URL path with its query, or a whole URL):
        per group, the deciding rule's allow or deny of train-ai and train-other, and
        the file's problems, which reserve every path."""
        target = _path_of(path)
        statements: list[Statement] = []
        for group in self.groups:
            rule = group.deciding(target)
            if rule is not None:
                source = Source(Signal.AI_TXT, f"{self.place} line {rule.line}")
                statements.extend(
                    statements_for(_DECISIONS[rule.allow], source, rule.written, agent=group.agent)
                )
        return Reservation(tuple(statements), self.problems)


class _Reader:
    """Groups lines as robots.txt does: User-Agent lines, then the rules under them."""

    def __init__(self, place: str) -> None:
        self.place = place
        self.rules: dict[str, tuple[str | None, list[AiTxtRule]]] = {}
        self.problems: list[Problem] = []
        self.unread = 0
        self.recognised = False
        self._agents: list[str] = []
        self._in_rules = False

    def problem(self, number: int, message: str) -> None:
        self.unread += 1
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(
                Problem(Source(Signal.AI_TXT, f"{self.place} line {number}"), message)
            )

    def read(self, number: int, line: str) -> None:
        if not line:
            return
        field, colon, value = line.partition(":")
        key, value = field.strip().lower(), value.strip()
        if not colon:
            self.problem(
                number,
                f'"{_shown(line)}" is not a field; write "User-Agent: *", '
                '"Disallow: <pattern>" or "Allow: <pattern>"',
            )
        elif key == "user-agent":
            self.recognised = True
            if self._in_rules:
                self._agents, self._in_rules = [], False
            if value:
                self._agents.append(value)
            else:
                self.problem(number, 'User-Agent names no crawler; write "User-Agent: *" for all')
        elif key in {"allow", "disallow"}:
            self.recognised = True
            self._rule(number, key == "allow", value, line)
        elif key not in _OTHER_RECORDS:
            self.problem(
                number,
                f'"{_shown(field.strip())}" is not an ai.txt field; ai.txt has User-Agent, '
                "Allow and Disallow lines",
            )

    def _rule(self, number: int, allow: bool, pattern: str, line: str) -> None:
        if not self._agents:
            self.problem(
                number,
                f'"{_shown(line)}" comes before any User-Agent line, so it binds no crawler; '
                'put "User-Agent: *" above it',
            )
            return
        self._in_rules = True
        if not pattern:
            return  # an empty rule matches nothing (RFC 9309 §2.2.2)
        if not pattern.startswith(("/", "*")):
            self.problem(
                number,
                f'pattern "{_shown(pattern)}" must start with "/" or "*", '
                'e.g. "*.jpg" or "/images/"',
            )
            return
        if len(pattern) > _MAX_PATTERN:
            self.problem(
                number, f"pattern is over {_MAX_PATTERN:,} characters; no file type needs one"
            )
            return
        rule = AiTxtRule(allow, pattern, number, line)
        for agent in self._agents:
            name = None if agent == "*" else agent
            self.rules.setdefault(agent.lower(), (name, []))[1].append(rule)

    def result(self) -> AiTxt:
        problems = self.problems
        if problems and not self.recognised:
            problems = [
                Problem(
                    Source(Signal.AI_TXT, self.place),
                    "this is not an ai.txt in Spawning's format: it has no User-Agent, Allow "
                    'or Disallow line; write "User-Agent: *" and then "Disallow: /" to '
                    'reserve AI training, or "Allow: /" to permit it',
                )
            ]
        elif self.unread > len(problems):
            more = self.unread - len(problems)
            problems = [
                *problems,
                Problem(
                    Source(Signal.AI_TXT, self.place), f"{more:,} more lines could not be read"
                ),
            ]
        groups = tuple(AiTxtGroup(agent, tuple(rules)) for agent, rules in self.rules.values())
        return AiTxt(self.place, groups, tuple(problems))


def write_ai_txt(terms: Terms) -> Rendering:
    """``terms`` as an ai.txt for every crawler: ``Disallow`` of everything where train-ai
    or train-other is reserved (the two lines Spawning's generator writes to opt out of
    every type), ``Allow`` of everything where both are allowed. What ai.txt cannot say
    (other categories, price, conditions, a licence) is ``unsaid``."""
    pair = [(c, terms.permission(c)) for c in _TRAINING]
    reserved = any(p is not Permission.ALLOW for _, p in pair)
    verb = "Disallow" if reserved else "Allow"
    text = (
        "# ai.txt in Spawning's format: https://site.spawning.ai/spawning-ai-txt\n"
        f"User-Agent: *\n{verb}: /\n{verb}: *\n"
    )
    unsaid = []
    for category, permission in pair:
        if reserved and permission is Permission.ALLOW:
            unsaid.append(
                f"{category.value}: allowed, but ai.txt rules train-ai and train-other "
                "together; it reads back as denied"
            )
        elif permission is Permission.LICENSE:
            unsaid.append(
                f"{category.value}: reserved for licensing, but ai.txt only allows or "
                "disallows; it reads back as denied"
            )
    unsaid += [
        f"{c.value}: {terms.permission(c).value}, but ai.txt says nothing of it"
        for c in Category
        if c not in _TRAINING
    ]
    if terms.price is not None:
        unsaid.append(f"price: {terms.price.describe()}, but ai.txt carries no price")
    if terms.conditions.to_json():
        unsaid.append("conditions: ai.txt carries none of them")
    return Rendering("ai.txt", text, unsaid=tuple(unsaid))


def _glob(parts: tuple[str, ...], text: str) -> bool:
    """Whether ``text`` is the literal ``parts`` with anything between them: each part
    found leftmost after the last, which is exact for ``*`` alone and, unlike a regular
    expression, never backtracks, so a hostile pattern costs one scan per part."""
    if len(parts) == 1:
        return text == parts[0]
    first, *middle, last = parts
    if not text.startswith(first):
        return False
    position = len(first)
    for part in middle:
        found = text.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return len(text) - position >= len(last) and text.endswith(last)


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# Left as they are: RFC 3986's unreserved and reserved characters, and "%".
_SAFE = "-._~:/?#[]@!$&'()*+,;=%"


def _normalised(text: str) -> str:
    """``text`` as RFC 9309 §2.2.2 compares paths: an escaped unreserved character
    decoded, other escapes upper-cased, characters outside ASCII encoded (UTF-8; a lone
    surrogate, which no URL can hold, as "?")."""

    def unescape(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return quote(_ESCAPE.sub(unescape, text), safe=_SAFE, errors="replace")


def _path_of(path: str) -> str:
    if "://" in path:
        try:
            parts = urlsplit(path)
        except ValueError:
            return "/"
        path = f"{parts.path}?{parts.query}" if parts.query else parts.path
    return path if path.startswith("/") else f"/{path}"


def _shown(text: str, limit: int = 60) -> str:
    cleaned = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."
