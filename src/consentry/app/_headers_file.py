"""The static-host headers file, ``_headers``: the response headers a static site's host
adds by path, in the format Netlify and Cloudflare Pages read.

A block is a path pattern on a line of its own, starting in the first column, followed
by indented ``Name: value`` lines::

    /*
      Content-Usage: train-ai=n
      X-Robots-Tag: noai
    /images/*
      ! X-Robots-Tag

``*`` matches any run of characters (a splat, slashes included) and ``:name`` one path
segment; a pattern may be an absolute URL, of which the path is matched (the file
serves its own site, so the host only names one of its deployments). Every rule whose
pattern matches a path adds its headers; a header set by several is joined with commas,
as the hosts do; an indented ``! Name`` detaches a header the other matching rules set
(Cloudflare Pages). Lines starting with ``#`` are comments.

Pure: text in, rules and problems out. Nothing here raises on input; a line that cannot
be read is a ``Problem`` naming the line and what to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from consentry.signals import Problem, Signal, Source

__all__ = ["HeaderLine", "HeaderRule", "HeadersFile", "format_headers_file"]

_LINES = re.compile(r"\r\n|\r|\n")
# RFC 9110 §5.6.2: a field name is a token.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_WILDCARD = re.compile(r"\*+|:[A-Za-z_][A-Za-z0-9_]*")
# Beyond these a file is not read line by line into problems: one sentence says the rest.
_MAX_PROBLEMS = 20
_STAR, _SEGMENT = "*", ":"
# Which signal a header carries, for a problem on its line; other lines' problems are
# reported as the Content-Usage header's, the signal the file exists to carry here.
_SIGNAL_OF = {
    "x-robots-tag": Signal.X_ROBOTS_TAG,
    "tdm-reservation": Signal.TDMREP_HEADER,
    "tdm-policy": Signal.TDMREP_HEADER,
}


@dataclass(frozen=True, slots=True)
class HeaderLine:
    """One ``Name: value`` line: the name as written, its value and its line number."""

    name: str
    value: str
    line: int = 0


@dataclass(frozen=True, slots=True)
class HeaderRule:
    """One block: its pattern and line, the headers it sets and those it detaches
    (lower-cased names)."""

    pattern: str
    line: int = 0
    headers: tuple[HeaderLine, ...] = ()
    detached: tuple[str, ...] = ()
    _tokens: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tokens", _tokens(_pattern_path(self.pattern)))

    def matches(self, path: str) -> bool:
        """Whether the rule covers ``path`` (a URL path; a query is ignored)."""
        return _glob(self._tokens, path.split("?", 1)[0] or "/")


@dataclass(frozen=True, slots=True)
class HeadersFile:
    """A parsed ``_headers`` file: its rules in order, and the lines it could not read."""

    place: str
    rules: tuple[HeaderRule, ...] = ()
    problems: tuple[Problem, ...] = ()

    @classmethod
    def parse(cls, text: str | bytes, *, place: str = "_headers") -> HeadersFile:
        """Read ``text`` (bytes as UTF-8, bad bytes replaced). Never raises."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        reader = _Reader(place)
        for number, raw in enumerate(_LINES.split(text.removeprefix("\ufeff")), 1):
            reader.read(number, raw)
        return reader.result()

    def headers_for(self, path: str) -> tuple[HeaderLine, ...]:
        """Every header the rules matching ``path`` set, in file order, less those
        another matching rule detaches."""
        matching = [rule for rule in self.rules if rule.matches(path)]
        return tuple(
            header
            for rule in matching
            for header in rule.headers
            if not any(
                other is not rule and header.name.lower() in other.detached for other in matching
            )
        )


class _Reader:
    """Reads lines one at a time into rules and problems."""

    def __init__(self, place: str) -> None:
        self.place = place
        self.rules: list[HeaderRule] = []
        self.problems: list[Problem] = []
        self.unread = 0

    def problem(self, number: int, message: str, *, name: str = "") -> None:
        if len(self.problems) >= _MAX_PROBLEMS:
            self.unread += 1
            return
        signal = _SIGNAL_OF.get(name.lower(), Signal.CONTENT_USAGE_HEADER)
        self.problems.append(Problem(Source(signal, f"{self.place} line {number}"), message))

    def read(self, number: int, raw: str) -> None:
        line = raw.strip()
        if not line or line.startswith("#"):
            return
        if raw[0] in " \t":
            self._header(number, line)
        else:
            self._pattern(number, line)

    def _pattern(self, number: int, line: str) -> None:
        if any(c.isspace() for c in line) or not (
            line.startswith("/") or line.lower().startswith(("http://", "https://"))
        ):
            self.problem(
                number,
                f"{_shown(line)} is neither a path pattern (one word starting with /, such "
                "as /*) nor an indented header line; indent the headers under their path",
            )
            # Headers under an unreadable pattern belong to no rule: each is reported.
            self.rules.append(HeaderRule("", number))
            return
        self.rules.append(HeaderRule(line, number))

    def _header(self, number: int, line: str) -> None:
        if not self.rules:
            self.problem(
                number,
                f"{_shown(line)} is a header with no path above it; put a path pattern such "
                "as /* on the line before it",
            )
            return
        rule = self.rules[-1]
        if line.startswith("!"):
            name = line[1:].strip()
            if not _TOKEN.fullmatch(name):
                self.problem(number, f"{_shown(line)} does not name one header to detach")
                return
            self._replace(rule, detached=(*rule.detached, name.lower()))
            return
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _TOKEN.fullmatch(name):
            self.problem(
                number,
                f"{_shown(line)} is not a header line; write Name: value, e.g. "
                "Content-Usage: train-ai=n",
                name=name,
            )
            return
        if not rule.pattern:
            self.problem(number, f"{name} is under an unreadable path pattern", name=name)
            return
        header = HeaderLine(name, value.strip(), number)
        self._replace(rule, headers=(*rule.headers, header))

    def _replace(
        self,
        rule: HeaderRule,
        *,
        headers: tuple[HeaderLine, ...] | None = None,
        detached: tuple[str, ...] | None = None,
    ) -> None:
        self.rules[-1] = HeaderRule(
            rule.pattern,
            rule.line,
            rule.headers if headers is None else headers,
            rule.detached if detached is None else detached,
        )

    def result(self) -> HeadersFile:
        if self.unread:
            self.problems.append(
                Problem(
                    Source(Signal.CONTENT_USAGE_HEADER, self.place),
                    f"{self.unread} more lines could not be read; fix the lines above first",
                )
            )
        rules = tuple(rule for rule in self.rules if rule.pattern)
        return HeadersFile(self.place, rules, tuple(self.problems))


def format_headers_file(rules: Iterable[HeaderRule]) -> str:
    """``rules`` written as a ``_headers`` file that ``HeadersFile.parse`` reads back.
    Raises ``ValueError`` for a pattern, name or value the format cannot hold."""
    lines: list[str] = []
    for rule in rules:
        if not rule.pattern or any(c.isspace() for c in rule.pattern) or rule.pattern[0] == "#":
            raise ValueError(f"{rule.pattern!r} cannot be a _headers path pattern")
        lines.append(rule.pattern)
        for header in rule.headers:
            if not _TOKEN.fullmatch(header.name) or header.name[0] in "#!":
                raise ValueError(f"{header.name!r} cannot be a _headers header name")
            if header.value != header.value.strip() or _LINES.search(header.value):
                raise ValueError(f"{header.value!r} cannot be a _headers header value")
            lines.append(f"  {header.name}: {header.value}")
        lines.extend(f"  ! {name}" for name in rule.detached)
    return "".join(f"{line}\n" for line in lines)


def _pattern_path(pattern: str) -> str:
    if pattern.lower().startswith(("http://", "https://")):
        try:
            return urlsplit(pattern).path or "/"
        except ValueError:
            return pattern
    return pattern


def _tokens(pattern: str) -> tuple[str, ...]:
    """The pattern as literals, ``*`` (any run) and ``:`` (one segment)."""
    out: list[str] = []
    position = 0
    for match in _WILDCARD.finditer(pattern):
        if match.start() > position:
            out.append("=" + pattern[position : match.start()])
        out.append(_STAR if match.group().startswith("*") else _SEGMENT)
        position = match.end()
    if position < len(pattern):
        out.append("=" + pattern[position:])
    return tuple(out)


def _glob(tokens: tuple[str, ...], path: str) -> bool:
    """Whether ``tokens`` match the whole of ``path``. Walks the set of positions the
    pattern can have reached, so a hostile pattern costs its length times the path's,
    never the exponential backtracking of a regular expression."""
    reached = {0}
    for token in tokens:
        if not reached:
            return False
        if token == _STAR:
            reached = set(range(min(reached), len(path) + 1))
        elif token == _SEGMENT:
            reached = _after_segment(path, reached)
        else:
            literal = token[1:]
            reached = {p + len(literal) for p in reached if path.startswith(literal, p)}
    return len(path) in reached


def _after_segment(path: str, starts: set[int]) -> set[int]:
    """The positions a non-empty run of characters other than ``/`` can end at, from
    any of ``starts``; each run of the path is scanned once."""
    ends: set[int] = set()
    covered = -1
    for start in sorted(starts):
        if start < covered or start >= len(path) or path[start] == "/":
            continue  # inside a run already covered, or at no segment
        slash = path.find("/", start)
        covered = len(path) if slash < 0 else slash
        ends.update(range(start + 1, covered + 1))
    return ends


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
