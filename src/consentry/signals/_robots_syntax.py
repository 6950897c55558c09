"""The lines of a robots.txt file as RFC 9309 §2 groups them, the path patterns its
rules match (RFC 9309 §2.2.2, §2.2.3), and the values of the lines protego does not
read: the AI-preferences ``Content-Usage`` rule, Cloudflare's ``Content-Signal`` and
RSL's ``License`` record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from consentry.signals.model import Problem, Reservation, Signal, Source, Statement
from consentry.terms import Category, Permission

__all__ = [
    "CONTENT_SIGNALS",
    "RULE_NAMES",
    "Group",
    "Line",
    "PathPattern",
    "licence_problem",
    "lines",
    "misplaced_rule",
    "read_content_signal",
    "split_path",
]

# RFC 9309 §2.2: EOL = CR / LF / CRLF.
_EOL = re.compile(r"\r\n|\r|\n")
_WS = " \t"


@dataclass(frozen=True, slots=True)
class Line:
    """One record: its 1-based line number, its lower-cased key and its value (comment
    and surrounding white space removed)."""

    number: int
    key: str
    value: str


@dataclass(slots=True)
class Group:
    """RFC 9309 §2.1: one or more user-agent lines and the rules that follow them.

    ``agents`` are the user-agent values as written; ``access`` the Allow and Disallow
    lines; ``preferences`` the Content-Usage and Content-Signal lines.
    """

    first_line: int
    agents: list[str] = field(default_factory=list)
    access: list[Line] = field(default_factory=list)
    preferences: list[Line] = field(default_factory=list)


def lines(text: str) -> list[Line]:
    """The records of ``text``: lines with a key and a colon (RFC 9309 §2.2). A line
    that is not a record (no colon) is skipped, as §2.3.1.5 asks: crawlers use the
    parseable rules."""
    records = []
    for number, raw in enumerate(_EOL.split(text.removeprefix("\ufeff")), start=1):
        # RFC 9309 §2.2.3 and draft-ietf-aipref-attach-05 §3.2: "#" starts a comment.
        content = raw.split("#", 1)[0]
        key, colon, value = content.partition(":")
        if not colon:
            continue
        records.append(Line(number, key.strip(_WS).lower(), value.strip(_WS)))
    return records


def split_path(value: str) -> tuple[str, str]:
    """A rule value's path and the rest (draft-ietf-aipref-attach-05 §3.2): a value
    starting with "/" has a path, which ends at the first SP or HTAB; any other value
    has none (the empty path, which matches every URI)."""
    if not value.startswith("/"):
        return "", value
    end = next((i for i, c in enumerate(value) if c in _WS), len(value))
    return value[:end], value[end:].strip(_WS)


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# Characters left as they are: RFC 3986's unreserved and reserved sets and "%".
_SAFE = "-._~:/?#[]@!$&'()*+,;=%"


def _normalised(text: str) -> str:
    """``text`` percent-encoded for comparison (RFC 9309 §2.2.2): an escape of an
    unreserved character is decoded, other escapes are upper-cased, and octets outside
    printable ASCII are encoded (UTF-8)."""

    def unescape(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return quote(_ESCAPE.sub(unescape, text), safe=_SAFE)


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A rule's path pattern (RFC 9309 §2.2.2, §2.2.3): matched from the first octet
    of the path, ``*`` for any run of characters, a final ``$`` for the end of the path.
    ``length`` is the number of octets of the encoded pattern, which ranks matches
    (the most specific match is the longest)."""

    pattern: str
    parts: tuple[str, ...]
    anchored: bool

    @classmethod
    def of(cls, written: str) -> PathPattern:
        anchored = written.endswith("$")
        body = written[:-1] if anchored else written
        parts = tuple(_normalised(part) for part in re.sub(r"\*+", "*", body).split("*"))
        return cls("*".join(parts) + ("$" if anchored else ""), parts, anchored)

    @property
    def length(self) -> int:
        return len(self.pattern.encode("ascii"))

    def matches(self, path: str) -> bool:
        """Whether this pattern matches ``path`` (a URI path with its query). Parts
        are found left to right, each at its first place after the one before: for
        patterns whose only wildcard is ``*`` that is exact, and linear in the path,
        so a hostile pattern cannot make matching slow."""
        target = _normalised(path if path.startswith("/") else "/" + path)
        first, *rest = self.parts
        if not target.startswith(first):
            return False
        if not rest:
            return not self.anchored or target == first
        position = len(first)
        for part in rest[:-1]:
            found = target.find(part, position)
            if found == -1:
                return False
            position = found + len(part)
        last = rest[-1]
        if self.anchored:
            return len(target) - len(last) >= position and target.endswith(last)
        return target.find(last, position) != -1


# Cloudflare's Content Signals Policy (contentsignals.org): "ai-train: training or
# fine-tuning AI models", any model, so it speaks of both training categories.
CONTENT_SIGNALS = {
    "search": (Category.SEARCH,),
    "ai-input": (Category.AI_INPUT,),
    "ai-train": (Category.TRAIN_AI, Category.TRAIN_OTHER),
}
_YES_NO = {"yes": Permission.ALLOW, "no": Permission.DENY}
RULE_NAMES = {"content-usage": "Content-Usage", "content-signal": "Content-Signal"}


def read_content_signal(value: str, source: Source) -> Reservation:
    """``search=yes, ai-input=no, ai-train=no``: comma-separated signals with yes or no
    (contentsignals.org). Keys it does not define, such as ``use``, are ignored."""
    statements: list[Statement] = []
    problems: list[Problem] = []
    for written in (part.strip(" \t") for part in value.split(",")):
        if not written:
            continue
        key, equals, answer = (piece.strip(" \t") for piece in written.partition("="))
        if not equals:
            problems.append(
                Problem(
                    source,
                    f'Content-Signal entry "{written}" has no "=", so it says nothing; '
                    f"write it as {key.lower()}=yes or {key.lower()}=no",
                )
            )
            continue
        categories = CONTENT_SIGNALS.get(key.lower())
        if categories is None:
            continue
        permission = _YES_NO.get(answer.lower())
        if permission is None:
            problems.append(
                Problem(
                    source,
                    f'Content-Signal {key.lower()} has "{answer}" where yes or no belongs, '
                    f"so its preference is unknown; write {key.lower()}=yes or "
                    f"{key.lower()}=no",
                )
            )
            continue
        statements.extend(
            Statement(category, permission, source, f"{key}={answer}") for category in categories
        )
    return Reservation(tuple(statements), tuple(problems))


def misplaced_rule(line: Line, where: str) -> Problem:
    """The problem of a preference rule outside any group. RFC 9309 §2.2.2 ignores
    rules before the first user-agent line; a preference ignored so could be a denial
    lost, so it is reported, which reserves every category."""
    name = RULE_NAMES[line.key]
    signal = Signal.CONTENT_USAGE_ROBOTS if line.key == "content-usage" else Signal.CONTENT_SIGNAL
    return Problem(
        Source(signal, where),
        f"{name} comes before any User-agent line, so it binds no crawler "
        f'(draft-ietf-aipref-attach-05 §3); put it in a group, e.g. under "User-agent: *"',
    )


def licence_problem(value: str, where: str) -> Problem | None:
    """None when ``value`` is an absolute URL, as RSL 1.0 asks of ``License``."""
    try:
        parts = urlsplit(value)
        absolute = bool(parts.scheme and parts.netloc) and not any(c.isspace() for c in value)
    except ValueError:
        absolute = False
    if absolute:
        return None
    return Problem(
        Source(Signal.RSL, where),
        f'License "{value}" is not an absolute URL, so its licence cannot be found; RSL 1.0 '
        'asks for a fully qualified URL, e.g. "License: https://example.com/license.xml"',
    )
