"""What machine-readable signals say about a resource's uses, in the categories of
DESIGN.md §5.4: each statement keeps its source and place, and conflicting statements
resolve to the most restrictive.

Every reader in this package returns a ``Reservation``; input it cannot read becomes a
``Problem`` beside the statements, never a silent allow: the gate treats an unreadable
signal as reserving every category (``Reservation.reserves``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from consentry.terms import Category, Permission, Price, Terms

__all__ = [
    "RESTRICTIVENESS",
    "Problem",
    "Rendering",
    "Reservation",
    "Signal",
    "Source",
    "Statement",
    "most_restrictive",
    "statements_for",
]


class Signal(StrEnum):
    """The kind of signal a statement was read from; the gate's summary counts by it."""

    CONTENT_USAGE_HEADER = "content-usage-header"  # IETF AI-preferences, HTTP header
    CONTENT_USAGE_ROBOTS = "content-usage-robots"  # IETF AI-preferences, robots.txt line
    ROBOTS_AGENT = "robots-agent"  # robots.txt rules for an AI crawler's user agent
    CONTENT_SIGNAL = "content-signal"  # Cloudflare's Content-Signal robots.txt line
    RSL = "rsl"  # an RSL 1.0 licence document, or robots.txt's License: pointer
    TDMREP_HEADER = "tdmrep-header"
    TDMREP_META = "tdmrep-meta"
    TDMREP_JSON = "tdmrep-json"
    TDMREP_EPUB = "tdmrep-epub"
    TDMREP_PDF = "tdmrep-pdf"
    X_ROBOTS_TAG = "x-robots-tag"
    ROBOTS_META = "robots-meta"  # <meta name="robots" content="noai">, or per agent
    AI_TXT = "ai-txt"  # Spawning's ai.txt
    CAWG = "cawg"  # a CAWG (or legacy C2PA) training-and-data-mining assertion
    IPTC = "iptc"  # IPTC PLUS plus:DataMining in XMP


@dataclass(frozen=True, slots=True)
class Source:
    """Where a statement was read: the signal and its place, e.g. ``robots.txt line 7``,
    ``HTTP header Content-Usage``, ``https://example.org/.well-known/tdmrep.json``."""

    signal: Signal
    place: str

    def describe(self) -> str:
        return f"{self.signal.value} at {self.place}"

    def to_json(self) -> dict[str, str]:
        return {"signal": self.signal.value, "place": self.place}


# A later entry is more restrictive: a denial outranks a licence, which outranks an allow.
RESTRICTIVENESS: tuple[Permission, ...] = (Permission.ALLOW, Permission.LICENSE, Permission.DENY)


def most_restrictive(permissions: Iterable[Permission]) -> Permission | None:
    """The most restrictive of ``permissions``, or None when there are none."""
    ranks = [RESTRICTIVENESS.index(p) for p in permissions]
    return RESTRICTIVENESS[max(ranks)] if ranks else None


@dataclass(frozen=True, slots=True)
class Statement:
    """One thing a signal says about one category.

    ``label`` is the signal's own words (``train-ai=n``, ``noai``, ``tdm-reservation: 1``);
    ``outdated`` flags a label from an earlier draft of its vocabulary. ``agent`` names
    the crawler (user-agent token) the statement is addressed to, None for every one.
    ``licence`` is where a licence or policy is offered (a TDMRep ``tdm-policy``, an RSL
    licence URL); ``price`` what it asks, where the signal states it.
    """

    category: Category
    permission: Permission
    source: Source
    label: str
    outdated: bool = False
    agent: str | None = None
    licence: str | None = None
    price: Price | None = None

    def describe(self) -> str:
        """One phrase a reason can quote: ``train-ai denied by content-usage-header at
        HTTP header Content-Usage ("train-ai=n")``."""
        verb = {
            Permission.ALLOW: "allowed",
            Permission.DENY: "denied",
            Permission.LICENSE: "reserved for licensing",
        }[self.permission]
        who = f" to {self.agent}" if self.agent else ""
        old = ", an outdated label" if self.outdated else ""
        return (
            f'{self.category.value} {verb}{who} by {self.source.describe()} ("{self.label}"{old})'
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "category": self.category.value,
            "permission": self.permission.value,
            "source": self.source.to_json(),
            "label": self.label,
        }
        if self.outdated:
            out["outdated"] = True
        if self.agent is not None:
            out["agent"] = self.agent
        if self.licence is not None:
            out["licence"] = self.licence
        if self.price is not None:
            out["price"] = self.price.to_json()
        return out


@dataclass(frozen=True, slots=True)
class Problem:
    """Input a reader could not read: where, and one sentence saying what is wrong and
    what the publisher should write instead."""

    source: Source
    message: str

    def describe(self) -> str:
        return f"{self.source.describe()}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source.to_json(), "message": self.message}


@dataclass(frozen=True, slots=True)
class Reservation:
    """Everything the signals on a resource say, every source kept."""

    statements: tuple[Statement, ...] = ()
    problems: tuple[Problem, ...] = ()

    @classmethod
    def merge(cls, reservations: Iterable[Reservation]) -> Reservation:
        statements: list[Statement] = []
        problems: list[Problem] = []
        for reservation in reservations:
            statements.extend(reservation.statements)
            problems.extend(reservation.problems)
        return cls(tuple(statements), tuple(problems))

    def __or__(self, other: Reservation) -> Reservation:
        return Reservation(self.statements + other.statements, self.problems + other.problems)

    def __bool__(self) -> bool:
        return bool(self.statements or self.problems)

    def for_agent(self, agent: str | None) -> Reservation:
        """The statements that bind ``agent`` (a user-agent token, compared without case):
        those addressed to every crawler and those addressed to it. With ``agent`` None,
        every statement binds, whoever it names: a party that does not say which crawler
        it is takes the most restrictive of them all."""
        if agent is None:
            return self
        wanted = agent.lower()
        kept = tuple(s for s in self.statements if s.agent is None or s.agent.lower() == wanted)
        return Reservation(kept, self.problems)

    def about(self, category: Category) -> tuple[Statement, ...]:
        return tuple(s for s in self.statements if s.category is category)

    def permission(self, category: Category) -> Permission | None:
        """The most restrictive permission any statement gives ``category``; None when
        no signal speaks of it."""
        return most_restrictive(s.permission for s in self.about(category))

    def deciding(self, category: Category) -> Statement | None:
        """The first statement that gives ``category`` its most restrictive permission."""
        permission = self.permission(category)
        return next((s for s in self.about(category) if s.permission is permission), None)

    def reserves(self, category: Category) -> bool:
        """Whether ``category`` may not be used without asking: a statement denies it or
        reserves it for licensing, or a signal could not be read (never a silent allow)."""
        return bool(self.problems) or self.permission(category) in {
            Permission.DENY,
            Permission.LICENSE,
        }

    @property
    def outdated(self) -> tuple[Statement, ...]:
        return tuple(s for s in self.statements if s.outdated)

    def signals(self) -> frozenset[Signal]:
        return frozenset(s.source.signal for s in self.statements) | frozenset(
            p.source.signal for p in self.problems
        )

    def to_terms(self) -> Terms:
        """The terms these signals state, for an owner to review: per category the most
        restrictive permission, and the first price a statement asks. Categories no
        signal speaks of are left out, to be inherited."""
        categories: dict[Category, Permission] = {}
        for category in Category:
            permission = self.permission(category)
            if permission is not None:
                categories[category] = permission
        price = next((s.price for s in self.statements if s.price is not None), None)
        return Terms(MappingProxyType(categories), price)

    def to_json(self) -> dict[str, Any]:
        return {
            "statements": [s.to_json() for s in self.statements],
            "problems": [p.to_json() for p in self.problems],
        }


def statements_for(
    decisions: Mapping[Category, Permission],
    source: Source,
    label: str,
    **details: Any,
) -> tuple[Statement, ...]:
    """One statement per category of ``decisions``, all from one source and label."""
    return tuple(Statement(c, p, source, label, **details) for c, p in decisions.items())


@dataclass(frozen=True, slots=True)
class Rendering:
    """Terms written in one signal's format: the ``text`` (or ``data`` for a binary
    format) to publish, and one sentence per thing the format cannot express
    (``unsaid``), so a round trip terms -> signal -> terms says what it dropped."""

    filename: str
    text: str = ""
    data: bytes = b""
    unsaid: tuple[str, ...] = ()
