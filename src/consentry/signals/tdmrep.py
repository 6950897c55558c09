"""W3C TDMRep, the TDM Reservation Protocol (TDMRep Community Group Final Report of
10 May 2024, https://www.w3.org/community/reports/tdmrep/CG-FINAL-tdmrep-20240510/;
sections cited by their ids, e.g. §sec-tdm-file): ``tdm-reservation`` and
``tdm-policy`` as HTTP header fields, as HTML ``<meta>`` tags and in
``/.well-known/tdmrep.json``. EPUB and PDF carry the same two properties
(``consentry.signals.publications``); the policy a ``tdm-policy`` points to is an ODRL
Offer (``consentry.signals.odrl``).

What a reservation covers. TDMRep is the machine-readable opt-out of Article 4(3) of
Directive (EU) 2019/790 (TDMRep §Abstract, §sec-tdm-reservation), whose Article 2(2)
defines text and data mining as "any automated analytical technique aimed at analysing
text and data in digital form in order to generate information". Regulation (EU)
2024/1689 (the AI Act), Article 53(1)(c) and Recital 105, makes providers of
general-purpose models honour that reservation when they train, so a reservation
reaches training; analysing a work at inference time to generate an answer is the
same analysis, so it reaches AI input too. It does not reach search: the TDMRep group
states that search indexing is not TDM and that the protocol leaves it alone
(TDMRep docs/tdm-meaning.md, "TDM vs search engines"; Recital 18: "Other uses should
not be affected"), nor the publishing of a model's output, which is no reproduction
for mining. ``TDM_CATEGORIES`` is that reach.

Unreadable input becomes a ``Problem`` beside the statements, which the gate reads as
reserving every category. The specification instead asks agents to treat a bad value
as unset (§sec-tdm-reservation); consentry never lets unreadable input allow a use.
Nothing here raises on input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from consentry.signals._robots_syntax import PathPattern
from consentry.signals.model import (
    Problem,
    Rendering,
    Reservation,
    Signal,
    Source,
    Statement,
    most_restrictive,
)
from consentry.terms import Category, Permission, Terms
from consentry.terms.money import quoted

__all__ = [
    "TDM_CATEGORIES",
    "TdmDeclaration",
    "TdmrepJson",
    "TdmrepRule",
    "read_declaration",
    "read_tdmrep_headers",
    "read_tdmrep_meta",
    "tdm_unsaid",
    "write_tdmrep_headers",
    "write_tdmrep_json",
    "write_tdmrep_meta",
]

TDM_CATEGORIES = frozenset(
    {Category.DATA_MINING, Category.TRAIN_AI, Category.TRAIN_OTHER, Category.AI_INPUT}
)
"""The categories a TDMRep reservation speaks of (see the module docstring)."""

# A tdmrep.json larger than this is refused unread: the file lists path rules, and no
# site needs megabytes of them.
MAX_JSON_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class TdmDeclaration:
    """One pair of TDMRep properties: whether TDM rights are reserved, and the policy
    that says how to license them (TDMRep §sec-tdm-reservation, §sec-tdm-policy)."""

    reserved: bool
    policy: str | None = None

    @property
    def permission(self) -> Permission:
        """``tdm-reservation: 0`` allows; ``1`` denies, or reserves for licensing under
        ``tdm-policy`` when one is given. A policy beside ``0`` is ignored, as
        §sec-tdm-policy asks ("SHOULD NOT process")."""
        if not self.reserved:
            return Permission.ALLOW
        return Permission.DENY if self.policy is None else Permission.LICENSE

    def statements(self, source: Source, label: str) -> tuple[Statement, ...]:
        """One statement per TDM category, in ``Category`` order."""
        licence = self.policy if self.permission is Permission.LICENSE else None
        return tuple(
            Statement(c, self.permission, source, label, licence=licence)
            for c in Category
            if c in TDM_CATEGORIES
        )

    @classmethod
    def of_terms(cls, terms: Terms, *, policy: str | None) -> TdmDeclaration:
        """What TDMRep can say of ``terms``: one switch for every TDM category, set by
        the most restrictive of them. A licence is written as ``tdm-policy`` only when
        a ``policy`` URL is given and no TDM category is denied (a policy offered
        beside a denial would license it); ``tdm_unsaid`` says what is lost."""
        strictest = most_restrictive(terms.permission(c) for c in TDM_CATEGORIES)
        if strictest is Permission.ALLOW:
            return cls(False)
        if strictest is Permission.LICENSE:
            return cls(True, policy)
        return cls(True)


def tdm_unsaid(terms: Terms, *, policy: str | None, where: str) -> tuple[str, ...]:
    """One sentence per part of ``terms`` that ``TdmDeclaration.of_terms`` cannot say
    in ``where``, each starting with the category, ``price:`` or ``conditions:``."""
    written = TdmDeclaration.of_terms(terms, policy=policy).permission
    unsaid: list[str] = []
    for category in Category:
        permission = terms.permission(category)
        if category not in TDM_CATEGORIES:
            unsaid.append(
                f"{category.value}: a TDMRep reservation is about text and data mining "
                f"only, so {where} says nothing of its {permission.value}"
            )
        elif permission is not written and permission is Permission.LICENSE:
            reason = (
                "no tdm-policy URL was given"
                if policy is None
                else "another TDM category is denied, and a policy would license it"
            )
            unsaid.append(
                f"{category.value}: reserved for licensing, but {reason}, so {where} "
                f"reserves it with no licence on offer"
            )
        elif permission is not written:
            unsaid.append(
                f"{category.value}: TDMRep has one switch for every TDM category, so "
                f"its {permission.value} is written as the stricter {written.value}"
            )
    if terms.price is not None:
        unsaid.append(
            f"price: {terms.price.describe()} has no place in {where}; an ODRL Offer "
            "at the tdm-policy URL can carry it"
        )
    conditions = terms.conditions.to_json()
    if conditions:
        unsaid.append(f"conditions: {', '.join(sorted(conditions))} have no place in {where}")
    return tuple(unsaid)


def _reservation_value(value: object) -> bool | None:
    # §sec-tdm-reservation: 1 reserves, 0 does not; anything else is a protocol error.
    # ``type(...) is int`` keeps JSON's true and false (Python bools) out.
    if isinstance(value, str):
        value = value.strip()
        return {"1": True, "0": False}.get(value)
    if type(value) is int and value in (0, 1):
        return value == 1
    return None


def _policy_url(value: str) -> str | None:
    # §sec-tdm-policy: "a URL pointing to a TDM Policy", fetched by agents: absolute http(s).
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme in {"http", "https"} and parts.netloc and not any(c.isspace() for c in text):
        return text
    return None


def read_declaration(
    reservation: object | None,
    policy: object | None,
    *,
    source: Source,
    names: tuple[str, str] = ("tdm-reservation", "tdm-policy"),
) -> Reservation:
    """The statements one pair of TDMRep values makes, as read from any carrier.

    ``reservation`` None means the property is absent: nothing is said, whatever the
    policy (§sec-processing-priority: absence resets nothing). A value other than 0 or
    1, or a policy that is not an absolute http(s) URL, becomes a ``Problem``; a bad
    policy beside ``1`` still reserves. ``names`` are the carrier's property names.
    """
    if reservation is None:
        return Reservation()
    reserved = _reservation_value(reservation)
    if reserved is None:
        return Reservation(
            problems=(
                Problem(
                    source,
                    f"{names[0]} is {quoted(reservation)}, which TDMRep does not define; "
                    f"write 1 to reserve TDM rights or 0 not to",
                ),
            )
        )
    label = f"{names[0]}: {1 if reserved else 0}"
    problems: tuple[Problem, ...] = ()
    url = None
    if reserved and policy is not None:
        url = _policy_url(policy) if isinstance(policy, str) else None
        if url is None:
            problems = (
                Problem(
                    source,
                    f"{names[1]} {quoted(policy)} is not an absolute http(s) URL, so no "
                    f"licence can be found; write e.g. https://example.com/policies/1.json",
                ),
            )
        else:
            label += f", {names[1]}: {url}"
    return Reservation(TdmDeclaration(reserved, url).statements(source, label), problems)


def _lowered(mapping: Mapping[str, str]) -> dict[str, str]:
    return {k.strip().lower(): v for k, v in mapping.items()}


def read_tdmrep_headers(
    headers: Mapping[str, str], *, place: str = "HTTP header tdm-reservation"
) -> Reservation:
    """The ``tdm-reservation`` and ``tdm-policy`` fields of one HTTP response
    (§sec-tdm-header); names in any case, repeated fields joined with commas."""
    fields = _lowered(headers)
    return read_declaration(
        fields.get("tdm-reservation"),
        fields.get("tdm-policy"),
        source=Source(Signal.TDMREP_HEADER, place),
    )


def read_tdmrep_meta(
    meta: Mapping[str, str], *, place: str = '<meta name="tdm-reservation">'
) -> Reservation:
    """The ``<meta name="tdm-reservation">`` and ``<meta name="tdm-policy">`` contents
    of one HTML page, by name in any case (§sec-tdm-html-meta)."""
    names = _lowered(meta)
    return read_declaration(
        names.get("tdm-reservation"),
        names.get("tdm-policy"),
        source=Source(Signal.TDMREP_META, place),
    )


@dataclass(frozen=True, slots=True)
class TdmrepRule:
    """One rule of tdmrep.json: its ``location`` pattern, what it declares, and its
    1-based ``position`` in the file (the first matching rule wins)."""

    location: str
    declaration: TdmDeclaration
    position: int
    pattern: PathPattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", PathPattern.of(self.location))


# §sec-tdm-file: "In each rule, `location` and `tdm-reservation` are mandatory". A rule
# missing either is reported, never read as silence.
_NO_LOCATION = (
    'the rule is not an object with a "location" path, so it cannot be matched; give '
    'every rule one, e.g. {"location": "/articles/", "tdm-reservation": 1}'
)
_NO_RESERVATION = (
    'the rule has no "tdm-reservation", which TDMRep makes mandatory; add '
    '"tdm-reservation": 1 to reserve TDM rights, or 0 not to'
)


@dataclass(frozen=True, slots=True)
class _Fault:
    position: int
    pattern: PathPattern | None  # None: the rule names no readable location
    problem: Problem


@dataclass(frozen=True, slots=True)
class TdmrepJson:
    """A site's ``/.well-known/tdmrep.json`` (§sec-tdm-file): its rules in order, and
    what could not be read."""

    place: str
    rules: tuple[TdmrepRule, ...] = ()
    problems: tuple[Problem, ...] = ()
    _faults: tuple[_Fault, ...] = field(default=(), repr=False)

    @classmethod
    def parse(cls, text: str | bytes, *, place: str) -> TdmrepJson:
        """Read a tdmrep.json. Never raises on input: what cannot be read becomes a
        ``Problem``, kept with the file (the whole file unreadable) or with its rule."""
        source = Source(Signal.TDMREP_JSON, place)

        def fails(message: str) -> TdmrepJson:
            return cls(place, problems=(Problem(source, message),))

        if len(text) > MAX_JSON_BYTES:
            return fails(f"the file is over {MAX_JSON_BYTES} bytes; list path rules only")
        try:
            document = json.loads(text)
        except (ValueError, RecursionError) as exc:
            return fails(
                f"the file is not JSON ({quoted(str(exc), limit=80)}); write an array of "
                'rules, e.g. [{"location": "/", "tdm-reservation": 1}]'
            )
        if not isinstance(document, list):
            # §sec-tdm-file: "an array of JSON objects", mandatory even for one rule.
            return fails(
                "the file is not a JSON array; put the rules in brackets, e.g. "
                '[{"location": "/", "tdm-reservation": 1}]'
            )
        rules: list[TdmrepRule] = []
        faults: list[_Fault] = []
        for position, entry in enumerate(document, start=1):
            rule_source = Source(Signal.TDMREP_JSON, f"{place} rule {position}")
            if not isinstance(entry, dict) or not isinstance(entry.get("location"), str):
                faults.append(_Fault(position, None, Problem(rule_source, _NO_LOCATION)))
                continue
            location = entry["location"]
            pattern = PathPattern.of(location)
            rule_source = Source(Signal.TDMREP_JSON, f"{place} rule {position} ({location})")
            if "tdm-reservation" not in entry:
                faults.append(_Fault(position, pattern, Problem(rule_source, _NO_RESERVATION)))
                continue
            read = read_declaration(
                entry["tdm-reservation"], entry.get("tdm-policy"), source=rule_source
            )
            for problem in read.problems:
                faults.append(_Fault(position, pattern, problem))
            if read.statements:
                reserved = read.statements[0].permission is not Permission.ALLOW
                policy = read.statements[0].licence
                rules.append(TdmrepRule(location, TdmDeclaration(reserved, policy), position))
        return cls(place, tuple(rules), (), tuple(faults))

    def reservation(self, url: str) -> Reservation:
        """What the file says of ``url`` (a full URL or a path with its query): the
        first rule whose location matches (§sec-tdm-file: "The most specific match is
        the first in sequence"), matched as robots.txt paths are (§sec-tdm-file-regexp).
        No match says nothing (tdm-reservation is unset). Problems of the file, and of
        unreadable rules that come before the match and may have covered ``url``, are
        kept beside it."""
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        statements: tuple[Statement, ...] = ()
        until = None
        for rule in self.rules:
            if rule.pattern.matches(path):
                source = Source(Signal.TDMREP_JSON, f"{self.place} rule {rule.position}")
                label = f'location "{rule.location}": tdm-reservation: ' + (
                    "1" if rule.declaration.reserved else "0"
                )
                if rule.declaration.policy is not None:
                    label += f", tdm-policy: {rule.declaration.policy}"
                statements = rule.declaration.statements(source, label)
                until = rule.position
                break
        faults = tuple(
            f.problem
            for f in self._faults
            if (until is None or f.position < until)
            and (f.pattern is None or f.pattern.matches(path))
        )
        return Reservation(statements, self.problems + faults)


def write_tdmrep_headers(terms: Terms, *, policy: str | None = None) -> Rendering:
    """The ``tdm-reservation`` (and ``tdm-policy``) header fields stating ``terms``."""
    declaration = TdmDeclaration.of_terms(terms, policy=policy)
    lines = [f"tdm-reservation: {1 if declaration.reserved else 0}"]
    if declaration.policy is not None:
        lines.append(f"tdm-policy: {declaration.policy}")
    return Rendering(
        "http-headers.txt",
        text="".join(f"{line}\r\n" for line in lines),
        unsaid=tdm_unsaid(terms, policy=policy, where="the tdm-reservation header"),
    )


def write_tdmrep_meta(terms: Terms, *, policy: str | None = None) -> Rendering:
    """The HTML ``<meta>`` tags stating ``terms``, for a page's ``<head>``."""
    declaration = TdmDeclaration.of_terms(terms, policy=policy)
    lines = [f'<meta name="tdm-reservation" content="{1 if declaration.reserved else 0}">']
    if declaration.policy is not None:
        lines.append(f'<meta name="tdm-policy" content="{_attribute(declaration.policy)}">')
    return Rendering(
        "head.html",
        text="\n".join(lines) + "\n",
        unsaid=tdm_unsaid(terms, policy=policy, where="the tdm-reservation meta tag"),
    )


def write_tdmrep_json(
    rules: Sequence[tuple[str, Terms]], *, policy: str | None = None
) -> Rendering:
    """A ``/.well-known/tdmrep.json`` with one rule per ``(location, terms)``, in the
    order given: put the most specific location first, as the first match wins."""
    entries = []
    unsaid: list[str] = []
    for location, terms in rules:
        declaration = TdmDeclaration.of_terms(terms, policy=policy)
        entry: dict[str, object] = {
            "location": location,
            "tdm-reservation": 1 if declaration.reserved else 0,
        }
        if declaration.policy is not None:
            entry["tdm-policy"] = declaration.policy
        entries.append(entry)
        where = f'tdmrep.json rule "{location}"'
        unsaid.extend(tdm_unsaid(terms, policy=policy, where=where))
    return Rendering(
        ".well-known/tdmrep.json",
        text=json.dumps(entries, indent=2, ensure_ascii=False) + "\n",
        unsaid=tuple(unsaid),
    )


def _attribute(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )
