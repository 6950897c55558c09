"""Signed documents of the registry: their JSON bodies, both ways. Pure."""

from __future__ import annotations

from typing import Any

from consentry.clock import format_time, parse_time
from consentry.errors import InputError, VerificationError
from consentry.registry.records import (
    CounterOffer,
    Grant,
    LicenseRequest,
    RequestState,
    Revocation,
    Scope,
)
from consentry.terms import Category, Price

__all__ = [
    "counter_body",
    "counter_from_body",
    "grant_body",
    "grant_from_body",
    "price_from_json",
    "request_body",
    "request_from_body",
    "revocation_body",
    "revocation_from_body",
]


def _optional_time(value: Any, *, what: str) -> Any:
    return None if value is None else parse_time(str(value), what=what)


def price_from_json(value: Any, *, what: str = "price") -> Price | None:
    """The price a stored document states, or None.

    Raises ``VerificationError`` when it breaks the amount rule: a signature proves who
    wrote a price, not that it can be billed (a signed ``1E+999999999`` once stopped
    every run of its licensee), so a document carrying one is refused when read.
    """
    if value is None:
        return None
    try:
        return Price.from_json(value, what=what)
    except InputError as exc:
        raise VerificationError(str(exc)) from None


def _purposes(value: Any) -> frozenset[Category]:
    return frozenset(Category(p) for p in value)


def _expect_type(body: dict[str, Any], type_name: str) -> None:
    if body.get("type") != type_name or body.get("version") != 1:
        raise VerificationError(
            f"document is a {body.get('type')!r} v{body.get('version')}, expected {type_name} v1"
        )


def request_body(request: LicenseRequest) -> dict[str, Any]:
    return {
        "type": "consentry.license-request",
        "version": 1,
        "id": request.id,
        "licensee": request.licensee_id,
        "owner": request.owner_id,
        "scope": request.scope.to_json(),
        "purposes": sorted(p.value for p in request.purposes),
        "not_before": format_time(request.not_before),
        "not_after": None if request.not_after is None else format_time(request.not_after),
        "offer": None if request.offer is None else request.offer.to_json(),
        "commercial": request.commercial,
        "created_at": format_time(request.created_at),
    }


def request_from_body(
    body: dict[str, Any],
    *,
    state: RequestState,
    counter: CounterOffer | None,
    note: str | None,
) -> LicenseRequest:
    _expect_type(body, "consentry.license-request")
    return LicenseRequest(
        id=body["id"],
        licensee_id=body["licensee"],
        owner_id=body["owner"],
        scope=Scope.from_json(body["scope"]),
        purposes=_purposes(body["purposes"]),
        not_before=parse_time(body["not_before"], what="not_before"),
        not_after=_optional_time(body["not_after"], what="not_after"),
        offer=price_from_json(body["offer"], what=f"request {body['id']} offer"),
        commercial=bool(body["commercial"]),
        state=state,
        counter=counter,
        note=note,
        created_at=parse_time(body["created_at"], what="created_at"),
    )


def counter_body(request_id: str, counter: CounterOffer) -> dict[str, Any]:
    return {
        "type": "consentry.counter-offer",
        "version": 1,
        "request": request_id,
        "purposes": sorted(p.value for p in counter.purposes),
        "not_after": None if counter.not_after is None else format_time(counter.not_after),
        "price": None if counter.price is None else counter.price.to_json(),
    }


def counter_from_body(body: dict[str, Any]) -> CounterOffer:
    _expect_type(body, "consentry.counter-offer")
    return CounterOffer(
        purposes=_purposes(body["purposes"]),
        not_after=_optional_time(body["not_after"], what="not_after"),
        price=price_from_json(body["price"], what=f"counter-offer to {body['request']} price"),
    )


def grant_body(grant: Grant) -> dict[str, Any]:
    return {
        "type": "consentry.grant",
        "version": 1,
        "id": grant.id,
        "request": grant.request_id,
        "owner": grant.owner_id,
        "licensee": grant.licensee_id,
        "licensee_key": grant.licensee_key,
        "scope": grant.scope.to_json(),
        "purposes": sorted(p.value for p in grant.purposes),
        "not_before": format_time(grant.not_before),
        "not_after": None if grant.not_after is None else format_time(grant.not_after),
        "price": None if grant.price is None else grant.price.to_json(),
        "issued_at": format_time(grant.issued_at),
    }


def grant_from_body(body: dict[str, Any]) -> Grant:
    _expect_type(body, "consentry.grant")
    return Grant(
        id=body["id"],
        request_id=body["request"],
        owner_id=body["owner"],
        licensee_id=body["licensee"],
        licensee_key=body["licensee_key"],
        scope=Scope.from_json(body["scope"]),
        purposes=_purposes(body["purposes"]),
        not_before=parse_time(body["not_before"], what="not_before"),
        not_after=_optional_time(body["not_after"], what="not_after"),
        price=price_from_json(body["price"], what=f"grant {body['id']} price"),
        issued_at=parse_time(body["issued_at"], what="issued_at"),
    )


def revocation_body(revocation: Revocation) -> dict[str, Any]:
    return {
        "type": "consentry.revocation",
        "version": 1,
        "id": revocation.id,
        "grant": revocation.grant_id,
        "owner": revocation.owner_id,
        "effective_at": format_time(revocation.effective_at),
        "reason": revocation.reason,
    }


def revocation_from_body(body: dict[str, Any]) -> Revocation:
    _expect_type(body, "consentry.revocation")
    return Revocation(
        id=body["id"],
        grant_id=body["grant"],
        owner_id=body["owner"],
        effective_at=parse_time(body["effective_at"], what="effective_at"),
        reason=body["reason"],
    )
