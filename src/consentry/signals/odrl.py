"""TDM Policies: the TDMRep profile of ODRL 2.2 (TDMRep Community Group Final Report,
§sec-policy; ODRL Information Model 2.2, W3C Recommendation 15 February 2018).

A TDM Policy is the JSON-LD ``Offer`` a ``tdm-policy`` URL points to (§sec-odrl-profile):
a permission to ``tdm:mine``, with duties such as ``obtainConsent`` and ``compensate``
and constraints such as ``purpose eq tdm:research``. ``read_odrl_policy`` reads one into
the TDM categories of ``consentry.signals.tdmrep``: an Offer grants nothing by itself
(ODRL IM #policy-offer, "does not grant any Rules"), so each permission reserves its categories
for licensing; a prohibition denies them.

Written here: an Offer from an owner's published terms, and an ``Agreement`` from a
grant with a ``compensate`` duty carrying its price (DESIGN.md §5.4). consentry's
categories are finer than ``tdm:mine``; where an Offer or Agreement covers only some of
them it says so with a ``purpose isAnyOf`` constraint whose values are consentry's
category IRIs (``CATEGORY_IRI``), and names consentry's profile (``CONSENTRY_PROFILE``)
beside TDMRep's. A processor that does not know that profile must stop (ODRL IM
#profile-conformance), so the narrowing can never be read as a wider offer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from consentry.errors import InputError
from consentry.signals.model import Problem, Rendering, Reservation, Signal, Source, Statement
from consentry.signals.tdmrep import TDM_CATEGORIES
from consentry.terms import Category, Permission, Price, PriceUnit, Terms
from consentry.terms.money import amount_text, quoted, valid_amount, valid_currency

__all__ = [
    "CATEGORY_IRI",
    "CONSENTRY_PROFILE",
    "ODRL_CONTEXT",
    "TDMREP_CONTEXT",
    "TDMREP_PROFILE",
    "read_odrl_policy",
    "write_odrl_agreement",
    "write_odrl_offer",
]

# §sec-odrl-profile-context: "@context ... MUST be an array of two values";
# §sec-odrl-profile-identification: "profile ... with value http://www.w3.org/ns/tdmrep".
ODRL_CONTEXT = "http://www.w3.org/ns/odrl.jsonld"
TDMREP_CONTEXT = "http://www.w3.org/ns/tdmrep.jsonld"
TDMREP_PROFILE = "http://www.w3.org/ns/tdmrep"
CONSENTRY_PROFILE = "https://consentry.dev/ns/odrl"
CATEGORY_IRI = "https://consentry.dev/ns/category#"
"""A category's IRI is this followed by its name, e.g. ``...#train-ai``."""

MAX_POLICY_BYTES = 1 << 20

_TDM = "http://www.w3.org/ns/tdmrep#"
_ODRL = "http://www.w3.org/ns/odrl/2/"
# §sec-odrl-profile-permission-target-action: the action "MUST be" tdm:mine; the
# profile's context (tdmrep.jsonld) also names it "mine".
_MINE = frozenset({"tdm:mine", "mine", f"{_TDM}mine"})
_RESEARCH = {f"tdm:{n}": n for n in ("research", "non-research")} | {
    f"{_TDM}{n}": n for n in ("research", "non-research")
}
# ODRL's examples name currencies by DBpedia resource (ODRL IM #duty-perm, Example 15); a
# plain ISO 4217 code is read too, and written for any currency not listed here.
_CURRENCY_IRIS = {
    "EUR": "http://dbpedia.org/resource/Euro",
    "USD": "http://dbpedia.org/resource/United_States_dollar",
    "GBP": "http://dbpedia.org/resource/Pound_sterling",
    "JPY": "http://dbpedia.org/resource/Japanese_yen",
    "CHF": "http://dbpedia.org/resource/Swiss_franc",
}
_CURRENCIES = {iri: code for code, iri in _CURRENCY_IRIS.items()} | {
    iri.replace("http:", "https:"): code for code, iri in _CURRENCY_IRIS.items()
}


def _name(term: Any) -> str:
    """A term written as a compact name, a full IRI, or ``{"@id": ...}`` /
    ``{"rdf:value": {"@id": ...}}``, as an ``odrl:``-less name or the IRI."""
    if isinstance(term, dict):
        term = term.get("rdf:value", term)
        term = term.get("@id", "") if isinstance(term, dict) else term
    text = term if isinstance(term, str) else ""
    return text.removeprefix("odrl:").removeprefix(_ODRL)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


class _Reader:
    """Reads one policy's rules; collects statements and problems."""

    def __init__(self, source: Source, licence: str) -> None:
        self.source, self.licence = source, licence
        self.statements: list[Statement] = []
        self.problems: list[Problem] = []
        self.offered: set[Category] = set()

    def problem(self, message: str) -> None:
        self.problems.append(Problem(self.source, message))

    def rule(self, rule: Any, permission: Permission) -> None:
        if not isinstance(rule, dict):
            self.problem("a rule is not a JSON object; write each rule as an object")
            return
        actions = [_name(a) for a in _list(rule.get("action"))]
        if not actions or any(a not in _MINE for a in actions):
            self.problem(
                f"the action {quoted(rule.get('action'))} is not tdm:mine, the one action "
                "the TDMRep profile defines (§sec-odrl-profile-permission-target-action)"
            )
            return
        categories, notes = self.constraints(_list(rule.get("constraint")))
        price = None
        for duty in _list(rule.get("duty")):
            action, duty_price = self.duty(duty)
            notes.append(f"duty {action}" + (f" {duty_price.describe()}" if duty_price else ""))
            price = price or duty_price
        kind = "permission" if permission is not Permission.DENY else "prohibition"
        label = " ".join([f"{kind} tdm:mine", *notes])
        if permission is not Permission.DENY:
            self.offered |= categories
        for category in sorted(categories, key=list(Category).index):
            self.statements.append(
                Statement(
                    category,
                    permission,
                    self.source,
                    label,
                    licence=self.licence,
                    price=price if permission is Permission.LICENSE else None,
                )
            )

    def constraints(self, constraints: list[Any]) -> tuple[set[Category], list[str]]:
        categories, notes = set(TDM_CATEGORIES), []
        for constraint in constraints:
            if not isinstance(constraint, dict):
                self.problem("a constraint is not a JSON object")
                continue
            left, operator = _name(constraint.get("leftOperand")), _name(constraint.get("operator"))
            right = _list(constraint.get("rightOperand"))
            shown = (_name(r).removeprefix(CATEGORY_IRI) or r for r in right)
            notes.append(f"({left} {operator} {' '.join(quoted(v) for v in shown)})")
            if left != "purpose":
                continue  # noted in the label: consentry cannot evaluate it, so it licenses
            if operator not in {"eq", "isAnyOf"}:
                self.problem(f"purpose {operator} cannot be read; use eq or isAnyOf")
                continue
            named = set()
            for value in map(_name, right):
                if value.startswith(CATEGORY_IRI) and value.removeprefix(CATEGORY_IRI) in _VALUES:
                    named.add(Category(value.removeprefix(CATEGORY_IRI)))
                elif value not in _RESEARCH:
                    self.problem(
                        f"purpose {quoted(value)} is none the TDMRep profile defines; use "
                        "tdm:research or tdm:non-research (§sec-odrl-profile-permission-constraint)"
                    )
            if named:
                categories &= named
        return categories, notes

    def duty(self, duty: Any) -> tuple[str, Price | None]:
        if not isinstance(duty, dict):
            self.problem("a duty is not a JSON object")
            return "(unreadable)", None
        actions = _list(duty.get("action"))
        name = _name(actions[0]) if actions else ""
        if name != "compensate":
            return name or "(none)", None
        refinements = [
            r for a in actions if isinstance(a, dict) for r in _list(a.get("refinement"))
        ] + _list(duty.get("constraint"))
        amount = unit = None
        per = PriceUnit.WORK  # compensation for using the target, a work, is per work
        for refinement in refinements:
            if not isinstance(refinement, dict):
                continue
            left, right = _name(refinement.get("leftOperand")), refinement.get("rightOperand")
            if left == "payAmount":
                amount = right.get("@value") if isinstance(right, dict) else right
                unit = _name(refinement.get("unit"))
            elif left == "unitOfCount" and _name(right) in _UNITS:
                per = PriceUnit(_name(right))
        if amount is None:
            return name, None
        if type(amount) is int:
            amount = str(amount)  # a JSON integer; a JSON decimal is read as a Decimal
        try:
            # ODRL Vocabulary payAmount: "Right operand value MUST be an xsd:decimal",
            # which has no exponent; the amount rule (consentry.terms.money) bounds it.
            value = valid_amount(amount, what=f"payAmount {quoted(amount)}")
            currency = valid_currency(
                _CURRENCIES.get(unit or "", unit), what=f"payAmount unit {quoted(unit)}"
            )
        except InputError as exc:
            self.problem(f"the compensate duty's {exc}")
            return name, None
        return name, Price(per, value, currency)


_VALUES = frozenset(c.value for c in Category)
_UNITS = frozenset(u.value for u in PriceUnit)


def read_odrl_policy(document: str | bytes, *, place: str) -> Reservation:
    """The statements of a TDM Policy (an ODRL Offer in JSON-LD) at ``place``.

    Each permission to ``tdm:mine`` reserves the TDM categories (narrowed by a
    ``purpose`` constraint of consentry category IRIs) for licensing under the policy,
    with the price a ``compensate`` duty states; TDM categories no permission offers
    are denied, as are those a prohibition names. Constraints consentry cannot
    evaluate (``tdm:research``, ``dateTime``, ``spatial``) are kept in the label.
    Never raises on input: a policy that is not a TDMRep Offer, an unknown profile
    (ODRL IM #profile-conformance: processing MUST stop) or action, a bad amount, become Problems.
    """
    source = Source(Signal.TDMREP_JSON, place)

    def fails(message: str) -> Reservation:
        return Reservation(problems=(Problem(source, message),))

    if len(document) > MAX_POLICY_BYTES:
        return fails(f"the policy is over {MAX_POLICY_BYTES} bytes; refused unread")
    try:
        policy = json.loads(document, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        return fails(f"the policy is not JSON ({quoted(str(exc), limit=80)}); fix its syntax")
    if not isinstance(policy, dict) or ODRL_CONTEXT not in _list(policy.get("@context")):
        return fails(f'the document is not an ODRL policy; its "@context" must list {ODRL_CONTEXT}')
    kind = _name(policy.get("@type"))
    if kind != "Offer":
        return fails(
            f"its @type is {quoted(kind)}, but a TDM Policy is an Offer "
            "(§sec-odrl-profile-type); publish the Offer a licensee can accept"
        )
    profiles = set(_list(policy.get("profile")))
    unknown = profiles - {TDMREP_PROFILE, CONSENTRY_PROFILE}
    if TDMREP_PROFILE not in profiles or unknown:
        return fails(
            f"its profile {quoted(sorted(unknown) or None)} is not understood, so ODRL "
            f'says to stop (IM #profile-conformance); a TDM Policy names "profile": '
            f'"{TDMREP_PROFILE}"'
        )
    uid = policy.get("uid")
    reader = _Reader(source, uid if isinstance(uid, str) and uid else place)
    permissions = _list(policy.get("permission"))
    if not permissions:
        reader.problem('the Offer has no "permission", which the TDMRep profile requires')
    for rule in permissions:
        reader.rule(rule, Permission.LICENSE)
    for rule in _list(policy.get("prohibition")):
        reader.rule(rule, Permission.DENY)
    for category in sorted(TDM_CATEGORIES - reader.offered, key=list(Category).index):
        reader.statements.append(
            Statement(category, Permission.DENY, source, "not offered by the policy")
        )
    return Reservation(tuple(reader.statements), tuple(reader.problems))


def _iri(category: Category) -> str:
    return CATEGORY_IRI + category.value


def _compensate(price: Price, party: str | None = None) -> dict[str, Any]:
    # ODRL IM #duty-perm, Example 15: compensate refined by payAmount with its unit;
    # ODRL Vocabulary §unitOfCount counts what the amount is paid per.
    refinement: list[dict[str, Any]] = [
        {
            "leftOperand": "payAmount",
            "operator": "eq",
            "rightOperand": {"@value": amount_text(price.amount), "@type": "xsd:decimal"},
            "unit": _CURRENCY_IRIS.get(price.currency, price.currency),
        },
        {"leftOperand": "unitOfCount", "operator": "eq", "rightOperand": price.unit.value},
    ]
    duty: dict[str, Any] = {
        "action": [{"rdf:value": {"@id": "odrl:compensate"}, "refinement": refinement}]
    }
    if party is not None:
        duty["compensatedParty"] = party
    return duty


def _purposes(categories: Iterable[Category]) -> dict[str, Any]:
    return {
        "leftOperand": "purpose",
        "operator": "isAnyOf",
        "rightOperand": [{"@id": _iri(c)} for c in sorted(categories, key=list(Category).index)],
    }


def _rendering(policy: Mapping[str, Any], filename: str, unsaid: Sequence[str]) -> Rendering:
    return Rendering(
        filename, text=json.dumps(policy, indent=2, ensure_ascii=False) + "\n", unsaid=tuple(unsaid)
    )


def write_odrl_offer(
    terms: Terms,
    *,
    uid: str,
    assigner: str,
    target: str | None = None,
    assigner_name: str | None = None,
    licensing_url: str | None = None,
) -> Rendering:
    """The TDM Policy (an ODRL Offer, TDMRep profile) for ``terms``, to publish at the
    ``tdm-policy`` URL. ``uid`` identifies the policy, ``assigner`` the owner (an IRI),
    with ``vcard:fn`` and ``vcard:hasURL`` when given (§sec-odrl-profile-assigner).

    It offers ``tdm:mine`` for every TDM category the terms do not deny, with a
    ``compensate`` duty carrying the price, or ``obtainConsent`` without one. Raises
    ``InputError`` when the terms deny every TDM category: there is nothing to offer,
    and ``tdm-reservation: 1`` without a policy says so.
    """
    offered = [
        c for c in Category if c in TDM_CATEGORIES and terms.permission(c) is not Permission.DENY
    ]
    if not offered:
        raise InputError(
            "these terms deny every TDM use, so there is no TDM Policy to offer; publish "
            "tdm-reservation: 1 without a tdm-policy"
        )
    rule: dict[str, Any] = {"action": "tdm:mine"}
    if target is not None:
        rule["target"] = target
    profiles: list[str] = [TDMREP_PROFILE]
    if set(offered) != TDM_CATEGORIES:
        rule["constraint"] = [_purposes(offered)]
        profiles.append(CONSENTRY_PROFILE)
    duty = _compensate(terms.price) if terms.price is not None else {"action": "obtainConsent"}
    rule["duty"] = [duty]
    party: dict[str, Any] = {"uid": assigner}
    if assigner_name is not None:
        party["vcard:fn"] = assigner_name
    if licensing_url is not None:
        party["vcard:hasURL"] = licensing_url
    policy = {
        "@context": [ODRL_CONTEXT, TDMREP_CONTEXT],
        "@type": "Offer",
        "profile": profiles[0] if len(profiles) == 1 else profiles,
        "uid": uid,
        "assigner": party,
        "permission": [rule],
    }
    unsaid = []
    for category in Category:
        permission = terms.permission(category)
        if category not in TDM_CATEGORIES:
            unsaid.append(
                f"{category.value}: the TDMRep profile's one action, tdm:mine, does not "
                f"reach it, so the Offer says nothing of its {permission.value}"
            )
        elif permission is Permission.ALLOW:
            unsaid.append(
                f"{category.value}: allowed, but an Offer grants nothing (ODRL IM #policy-offer); "
                "it is offered under the same duty"
            )
    conditions = terms.conditions.to_json()
    if conditions:
        unsaid.append(f"conditions: {', '.join(sorted(conditions))} have no place in the Offer")
    return _rendering(policy, "tdm-policy.json", unsaid)


def _time(moment: datetime | date) -> dict[str, str]:
    if isinstance(moment, datetime):
        at = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        text = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {"@value": text, "@type": "xsd:dateTime"}
    return {"@value": moment.isoformat(), "@type": "xsd:date"}


def write_odrl_agreement(
    *,
    grant_id: str,
    owner_id: str,
    licensee_id: str,
    targets: Sequence[str],
    purposes: Iterable[Category],
    not_before: datetime | date | None = None,
    not_after: datetime | date | None = None,
    price: Price | None = None,
    base: str = "urn:consentry:",
) -> Rendering:
    """A grant as an ODRL Agreement (ODRL IM #policy-agreement): the owner (assigner) permits the
    licensee (assignee) the ``purposes`` on ``targets`` (work, collection or owner ids,
    as a grant's scope names them), while ``not_before <= dateTime < not_after``, with a
    ``compensate`` duty to the owner carrying ``price``. Ids become IRIs under
    ``base``. The action is ``tdm:mine`` when every purpose is a TDM category, else
    ODRL's ``use``, narrowed by a purpose constraint. Raises ``InputError`` when
    ``targets`` or ``purposes`` is empty."""
    granted = frozenset(purposes)
    if not targets or not granted:
        raise InputError("an Agreement needs at least one target and one purpose")
    rule: dict[str, Any] = {
        "target": [base + t for t in targets] if len(targets) > 1 else base + targets[0],
        "action": "tdm:mine" if granted <= TDM_CATEGORIES else "use",
        "constraint": [_purposes(granted)],
    }
    if not_before is not None:
        rule["constraint"].append(
            {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": _time(not_before)}
        )
    if not_after is not None:
        rule["constraint"].append(
            {"leftOperand": "dateTime", "operator": "lt", "rightOperand": _time(not_after)}
        )
    if price is not None:
        rule["duty"] = [_compensate(price, base + owner_id)]
    policy = {
        "@context": [ODRL_CONTEXT, TDMREP_CONTEXT],
        "@type": "Agreement",
        "profile": [TDMREP_PROFILE, CONSENTRY_PROFILE],
        "uid": base + grant_id,
        "assigner": base + owner_id,
        "assignee": base + licensee_id,
        "permission": [rule],
    }
    return _rendering(policy, f"{grant_id}.odrl.json", ())
