"""RSL 1.0, Really Simple Licensing (RSL Technical Steering Committee, RSL-SPEC-1.0,
Recommendation, https://rslstandard.org/rsl): licence documents read into statements
and written from terms.

An RSL document (root ``<rsl>`` in the namespace ``https://rslstandard.org/rsl``)
lists ``<content>`` assets by URL pattern (RFC 9309 path rules, ``*`` and ``$``), each
with one or more ``<license>`` elements: ``<permits>`` and ``<prohibits>`` of
``usage``, ``user`` and ``geo`` values (§3.4.1 to §3.6) and a ``<payment>`` (§3.7 to
§3.10). Sections are those of RSL-SPEC-1.0 as amended by its errata.

How a content entry reads, per category (consentry's ``USAGE`` mapping below):

- A licence grants the categories its ``<permits type="usage">`` covers, or every one
  when it has none; ``<permits>`` is a closed list (§3.5). A category no licence grants
  is denied: a client that holds no licence for a use must treat the asset as
  unlicensed.
- An explicit ``<prohibits type="usage">`` denies, whatever another licence says:
  conflicting terms resolve to their most restrictive combination (§4.9).
- A grant is ``allow`` when the licence is free (no ``<payment>``, or ``free``), and
  ``license`` otherwise: when it asks any payment (``attribution`` and ``contribution``
  included), names a licence ``server`` (``<content server>``: clients "must obtain a
  license ... even if the license is free"), asks ``<reporting>`` consentry cannot
  perform (§3.12), or is narrowed by ``user`` or ``geo`` (a licensee's class and place
  are not known to the gate, so it must show it qualifies). The label keeps the
  narrowing.
- Prices: only ``<payment type="training">`` (paid each time the content is used for
  AI training) meters in a consentry unit, per work. ``purchase`` (one-time),
  ``subscription`` (recurring), ``crawl`` (per fetch), ``use`` (per AI output) and
  ``contribution`` have none; their amounts stay in the label.

Unreadable input (not XML, a DTD or entities, the wrong namespace, an unknown element
of the RSL namespace or value, a bad amount) becomes a ``Problem``: never a silent
allow. Nothing here raises on input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml  # type: ignore[import-untyped]  # defusedxml ships no type hints
import defusedxml.ElementTree  # type: ignore[import-untyped]

from consentry.errors import InputError
from consentry.signals._robots_syntax import PathPattern
from consentry.signals._rsl_vocabulary import (
    GEO,
    MAX_DOCUMENT_BYTES,
    PAYMENT_TYPES,
    PAYMENT_UNITS,
    RSL_CATEGORIES,
    RSL_NS,
    TOUCHES,
    TRAINING,
    USAGE,
    USERS,
    ordered,
)
from consentry.signals._rsl_write import write_rsl
from consentry.signals.model import Problem, Reservation, Signal, Source, Statement
from consentry.terms import Category, Permission, Price, PriceUnit
from consentry.terms.money import quoted, valid_amount, valid_currency

__all__ = [
    "PAYMENT_TYPES",
    "RSL_CATEGORIES",
    "RSL_NS",
    "USAGE",
    "RslContent",
    "RslDocument",
    "RslLicence",
    "RslLimits",
    "RslPayment",
    "read_rsl",
    "write_rsl",
]

# The elements RSL 1.0 defines in its namespace, by parent: any other element of the
# namespace makes the document non-conformant; other namespaces' elements are ignored.
_CHILDREN = MappingProxyType(
    {
        "content": frozenset({"license", "schema", "alternate", "copyright", "terms"}),
        "license": frozenset({"permits", "prohibits", "payment", "legal", "reporting"}),
        "payment": frozenset({"standard", "custom", "amount", "accepts"}),
    }
)


@dataclass(frozen=True, slots=True)
class RslLimits:
    """The values of a licence's ``<permits>`` (or ``<prohibits>``) elements, by type;
    None where the licence has no element of that type."""

    usage: tuple[str, ...] | None = None
    user: tuple[str, ...] | None = None
    geo: tuple[str, ...] | None = None

    def describe(self, verb: str) -> list[str]:
        return [
            f"{verb} {kind} {' '.join(values)}"
            for kind, values in (("usage", self.usage), ("user", self.user), ("geo", self.geo))
            if values is not None
        ]


@dataclass(frozen=True, slots=True)
class RslPayment:
    """A ``<payment>``: its type, ``<amount>``s, ``<standard>`` and ``<custom>`` URLs."""

    type: str
    amounts: tuple[tuple[Decimal, str], ...] = ()
    standard: str | None = None
    custom: str | None = None

    def describe(self) -> str:
        amounts = "".join(f" {a} {c}" for a, c in self.amounts)
        return f"payment {self.type}{amounts}"


@dataclass(frozen=True, slots=True)
class RslLicence:
    """One ``<license>``."""

    permits: RslLimits = field(default_factory=RslLimits)
    prohibits: RslLimits = field(default_factory=RslLimits)
    payments: tuple[RslPayment, ...] = ()
    reporting: tuple[str, ...] = ()

    @property
    def free(self) -> bool:
        # §3.7: a licence without <payment> is free.
        return all(p.type == "free" for p in self.payments)

    @property
    def narrowed(self) -> bool:
        return any(
            v is not None
            for v in (self.permits.user, self.permits.geo, self.prohibits.user, self.prohibits.geo)
        )

    def grants(self) -> frozenset[Category]:
        """The categories this licence permits and does not prohibit."""
        permitted = (
            RSL_CATEGORIES
            if self.permits.usage is None
            else frozenset().union(*(USAGE.get(t, frozenset()) for t in self.permits.usage))
        )
        return permitted - self.prohibited()

    def prohibited(self) -> frozenset[Category]:
        tokens = self.prohibits.usage or ()
        return frozenset().union(
            *(USAGE.get(t, frozenset()) | TOUCHES.get(t, frozenset()) for t in tokens)
        )

    def price(self, category: Category) -> Price | None:
        for payment in self.payments:
            unit = PAYMENT_UNITS.get(payment.type)
            if unit is PriceUnit.WORK and category in TRAINING and payment.amounts:
                amount, currency = payment.amounts[0]
                return Price(unit, amount, currency)
        return None

    def licence_url(self) -> str | None:
        return next((p.standard or p.custom for p in self.payments if p.standard or p.custom), None)


@dataclass(frozen=True, slots=True)
class RslContent:
    """One ``<content>``: its URL pattern, licence server, licences, and what they say
    (``reservation``), with the problems met in it."""

    url: str
    server: str | None
    licences: tuple[RslLicence, ...]
    reservation: Reservation
    terms: str | None = None
    _pattern: PathPattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        path = _path(parts.path, parts.query) if parts.netloc else self.url
        object.__setattr__(self, "_pattern", PathPattern.of(path))

    def specificity(self, url: str) -> int | None:
        """How closely ``url`` (absolute, or a path) matches this entry's pattern: the
        pattern's length, as RFC 9309 §2.2.2 ranks rules; None when it does not match.
        An empty pattern (``<content url="">``, where the association gives the scope)
        matches everything."""
        if not self.url:
            return 0
        pattern, wanted = urlsplit(self.url), urlsplit(url)
        if pattern.netloc and (
            pattern.scheme.lower() != wanted.scheme.lower()
            or pattern.netloc.lower() != wanted.netloc.lower()
        ):
            return None  # a pattern naming a host binds only URLs on that host
        if not self._pattern.matches(_path(wanted.path, wanted.query)):
            return None
        # A pattern that names the host is more specific than any path alone.
        return self._pattern.length + (_HOST_NAMED if pattern.netloc else 0)


_HOST_NAMED = 1 << 24  # longer than any path pattern a document can hold


def _path(path: str, query: str) -> str:
    return (path or "/") + (f"?{query}" if query else "")


@dataclass(frozen=True, slots=True)
class RslDocument:
    """An RSL document: its ``<content>`` entries and the problems of the whole."""

    place: str
    contents: tuple[RslContent, ...] = ()
    problems: tuple[Problem, ...] = ()

    def content_for(self, url: str) -> RslContent | None:
        """The entry that governs ``url``: the most specific matching pattern, the
        first of equals (§4.9: the more specific declaration wins)."""
        best: tuple[int, RslContent] | None = None
        for content in self.contents:
            score = content.specificity(url)
            if score is not None and (best is None or score > best[0]):
                best = (score, content)
        return None if best is None else best[1]

    def reservation(self, url: str) -> Reservation:
        """What the document says of ``url``, with the document's problems; only
        those when no entry covers it (the document then licenses nothing there)."""
        content = self.content_for(url)
        said = content.reservation if content is not None else Reservation()
        return Reservation(said.statements, self.problems + said.problems)


class _Reader:
    """Reads one ``<content>``; collects its problems."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, message: str) -> None:
        self.problems.append(Problem(self.source, message))

    def children(self, element: Element, parent: str) -> list[Element]:
        kept = []
        for child in element:
            if not isinstance(child.tag, str) or not child.tag.startswith(f"{{{RSL_NS}}}"):
                continue  # RSL 1.0: extensions from other namespaces are ignored
            name = _local(child.tag)
            if name not in _CHILDREN[parent]:
                self.problem(
                    f"<{name}> inside <{parent}> is not an RSL 1.0 element, so the document "
                    "does not conform; remove it or move it to your own namespace"
                )
            kept.append(child)
        return kept

    def licence(self, element: Element) -> RslLicence:
        limits: dict[str, dict[str, tuple[str, ...]]] = {"permits": {}, "prohibits": {}}
        payments: list[RslPayment] = []
        reporting: list[str] = []
        for child in self.children(element, "license"):
            name = _local(child.tag)
            if name in limits:
                kind = child.get("type", "")
                if kind not in ("usage", "user", "geo"):
                    self.problem(f'<{name} type="{kind}"> is not one of usage, user, geo')
                elif kind in limits[name]:
                    self.problem(f'<license> has two <{name} type="{kind}">; merge their values')
                else:
                    limits[name][kind] = self.values(name, kind, child.text or "")
            elif name == "payment":
                payments.append(self.payment(child))
            elif name == "reporting":
                reporting.append(f"{child.get('type', '')} {child.get('profile', '')}".strip())
        return RslLicence(
            RslLimits(**limits["permits"]),
            RslLimits(**limits["prohibits"]),
            tuple(payments),
            tuple(reporting),
        )

    def values(self, name: str, kind: str, text: str) -> tuple[str, ...]:
        # RSL 1.0 separates values with white space; its drafts used commas.
        values = tuple(v for v in re.split(r"[\s,]+", text.strip()) if v)
        for value in values:
            known = (
                value in USAGE
                if kind == "usage"
                else value in USERS
                if kind == "user"
                else GEO.fullmatch(value) is not None
            )
            if not known:
                self.problem(
                    f'<{name} type="{kind}"> value {quoted(value)} is not in RSL 1.0\'s '
                    f"{kind} vocabulary (§3.4.1); use e.g. "
                    + {
                        "usage": "ai-train, ai-input, search",
                        "user": "commercial, education",
                        "geo": "US, DE",
                    }[kind]
                )
        return values

    def payment(self, element: Element) -> RslPayment:
        kind = element.get("type")
        if kind not in PAYMENT_TYPES:
            said = "has no type" if kind is None else f"type {quoted(kind)} is not an RSL 1.0 type"
            self.problem(f"<payment> {said}; use one of " + ", ".join(sorted(PAYMENT_TYPES)))
            kind = kind or "(none)"
        amounts: list[tuple[Decimal, str]] = []
        urls: dict[str, str | None] = {"standard": None, "custom": None}
        for child in self.children(element, "payment"):
            name = _local(child.tag)
            if name == "amount":
                amount = self.amount(child)
                if amount is not None:
                    amounts.append(amount)
            elif name in urls:
                urls[name] = (child.text or "").strip() or None
        return RslPayment(kind, tuple(amounts), urls["standard"], urls["custom"])

    def amount(self, element: Element) -> tuple[Decimal, str] | None:
        text, currency = (element.text or "").strip(), element.get("currency", "")
        what = f"<amount currency={quoted(currency)}>{quoted(text)}</amount>"
        try:
            # §3.10: the currency attribute is required, an ISO 4217 code.
            return valid_amount(text, what=what), valid_currency(currency, what=what)
        except InputError as exc:
            self.problem(str(exc))
            return None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def read_rsl(xml: str | bytes, *, place: str) -> RslDocument:
    """Read an RSL document (a licence file, or an RSS feed with ``rsl:content``
    items, the RSS module) found at ``place``. Never raises on input."""
    source = Source(Signal.RSL, place)

    def fails(message: str) -> RslDocument:
        return RslDocument(place, problems=(Problem(source, message),))

    if len(xml) > MAX_DOCUMENT_BYTES:
        return fails(f"the document is over {MAX_DOCUMENT_BYTES} bytes; refused unread")
    try:
        root: Element = defusedxml.ElementTree.fromstring(xml, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        return fails(
            "the document declares a DTD or entities, which RSL never needs and "
            "which are refused unread; remove the <!DOCTYPE>"
        )
    except ParseError as exc:
        return fails(f"the document is not well-formed XML ({exc}); fix it so it parses")
    if root.tag == f"{{{RSL_NS}}}rsl":
        entries = [c for c in root if c.tag == f"{{{RSL_NS}}}content"]
    elif _local(root.tag) == "rss":
        entries = list(root.iter(f"{{{RSL_NS}}}content"))
    else:
        return fails(
            f"the root element is {quoted(root.tag)}, not <rsl> in the RSL namespace; write "
            f'<rsl xmlns="{RSL_NS}">'
        )
    if not entries:
        return fails("the document has no <content> element, so it licenses nothing")
    problems, contents = [], []
    for number, element in enumerate(entries, start=1):
        url = element.get("url")
        if url is None:
            problems.append(
                Problem(
                    source,
                    f"<content> {number} has no url attribute, which "
                    'RSL requires; give one, e.g. url="/"',
                )
            )
            continue
        contents.append(
            _content(element, url, Source(Signal.RSL, f"{place} content {number} ({url})"))
        )
    return RslDocument(place, tuple(contents), tuple(problems))


def _content(element: Element, url: str, source: Source) -> RslContent:
    reader = _Reader(source)
    licences, terms = [], None
    for child in reader.children(element, "content"):
        if _local(child.tag) == "license":
            licences.append(reader.licence(child))
        elif _local(child.tag) == "terms":
            terms = (child.text or "").strip() or None
    if not licences:
        reader.problem("<content> has no <license>, which RSL requires; add one")
    server = element.get("server")
    statements = _statements(licences, server, source)
    return RslContent(
        url, server, tuple(licences), Reservation(statements, tuple(reader.problems)), terms
    )


def _statements(
    licences: Iterable[RslLicence], server: str | None, source: Source
) -> tuple[Statement, ...]:
    statements: list[Statement] = []
    granted: set[Category] = set()
    denied: set[Category] = set()
    for number, licence in enumerate(licences, start=1):
        paid = not licence.free or server is not None or licence.reporting or licence.narrowed
        permission = Permission.LICENSE if paid else Permission.ALLOW
        words = [
            *licence.permits.describe("permits"),
            *licence.prohibits.describe("prohibits"),
            *(p.describe() for p in licence.payments),
            *(f"reporting {r}" for r in licence.reporting),
        ]
        if server is not None:
            words.append(f"server {server}")
        label = f"license {number}: " + ("; ".join(words) or "no terms (free, every use)")
        where = server or licence.licence_url()
        for category in ordered(licence.grants()):
            granted.add(category)
            statements.append(
                Statement(
                    category,
                    permission,
                    source,
                    label,
                    licence=where,
                    price=licence.price(category) if paid else None,
                )
            )
        for category in ordered(licence.prohibited()):
            denied.add(category)
            statements.append(Statement(category, Permission.DENY, source, label))
    for category in ordered(RSL_CATEGORIES - granted - denied):
        statements.append(
            Statement(category, Permission.DENY, source, "no license permits it (§3.5)")
        )
    return tuple(statements)
