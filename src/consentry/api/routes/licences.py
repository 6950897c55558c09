"""``/v1/requests`` and ``/v1/grants``: a licensee asks, the owner grants, denies or
counters, the licensee accepts, the owner revokes. Each party sees only its own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from consentry import app
from consentry.api.changes import run_change
from consentry.api.deps import Cursor, Limit, Served, Signed, page
from consentry.api.models import (
    AcceptBody,
    CounterBody,
    DenyBody,
    GrantBody,
    RequestBody,
    RevokeBody,
    dump,
)
from consentry.clock import parse_time
from consentry.errors import InputError, NotFoundError
from consentry.registry import LicenseRequest, Scope
from consentry.terms import Category, Price

__all__ = ["router"]

router = APIRouter(tags=["licences"])


def _category(text: str) -> Category:
    try:
        return Category(text)
    except ValueError:
        names = ", ".join(c.value for c in Category)
        raise InputError(f"purpose {text!r} is not a use category; use one of {names}") from None


def _time(text: str | None, what: str) -> Any:
    return None if text is None else parse_time(text, what=what)


def _price(data: dict[str, Any] | None, what: str) -> Price | None:
    return None if data is None else Price.from_json(data, what=what)


@router.post("/v1/requests", status_code=201, summary="Ask an owner for a licence (licensee)")
def make_request(service: Served, caller: Signed, body: RequestBody) -> JSONResponse:
    actor = caller.require()
    return run_change(
        service,
        caller,
        operation="request",
        body=body,
        signing=body.signing,
        make=lambda ws: app.request(
            ws,
            licensee_id=actor.party_id,
            scope=Scope.from_json(body.scope.model_dump()),
            purposes=[_category(p) for p in body.purposes],
            not_after=_time(body.not_after, "not_after"),
            offer=_price(dump(body.offer), "offer"),
            commercial=body.commercial,
        ),
        render=lambda made: made.to_json(),
    )


def _own_requests(service: Served, caller: Signed) -> list[LicenseRequest]:
    actor = caller.require()
    return app.requests_of(service.reading_as(actor), actor.party_id, actor.kind)


@router.get("/v1/requests", summary="The requests you made (licensee) or received (owner)")
def requests(
    service: Served, caller: Signed, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    return page(
        _own_requests(service, caller),
        key=lambda r: r.id,
        cursor=cursor,
        limit=limit,
        render=lambda r: r.to_json(),
    )


@router.get("/v1/requests/{request_id}", summary="One of your requests")
def one_request(service: Served, caller: Signed, request_id: str) -> dict[str, Any]:
    for made in _own_requests(service, caller):
        if made.id == request_id:
            return made.to_json()
    raise NotFoundError(f"no request {request_id!r} of yours; list yours at /v1/requests")


@router.post("/v1/requests/{request_id}/grant", status_code=201, summary="Grant it (owner)")
def grant(service: Served, caller: Signed, request_id: str, body: GrantBody) -> JSONResponse:
    actor = caller.require()
    return run_change(
        service,
        caller,
        operation=f"grant {request_id}",
        body=body,
        signing=body.signing,
        make=lambda ws: app.grant(ws, request_id, owner_id=actor.party_id),
        render=lambda made: made.to_json(),
    )


@router.post("/v1/requests/{request_id}/deny", status_code=201, summary="Deny it (owner)")
def deny(service: Served, caller: Signed, request_id: str, body: DenyBody) -> JSONResponse:
    actor = caller.require()

    def denied(ws: Any) -> dict[str, Any]:
        app.deny(ws, request_id, owner_id=actor.party_id, reason=body.reason)
        return {"id": request_id, "state": "denied"}

    return run_change(
        service,
        caller,
        operation=f"deny {request_id}",
        body=body,
        signing=body.signing,
        make=denied,
        render=lambda done: done,
    )


@router.post(
    "/v1/requests/{request_id}/counter", status_code=201, summary="Counter with other terms"
)
def counter(service: Served, caller: Signed, request_id: str, body: CounterBody) -> JSONResponse:
    actor = caller.require()
    return run_change(
        service,
        caller,
        operation=f"counter {request_id}",
        body=body,
        signing=body.signing,
        make=lambda ws: app.counter(
            ws,
            request_id,
            owner_id=actor.party_id,
            purposes=None if body.purposes is None else [_category(p) for p in body.purposes],
            not_after=_time(body.not_after, "not_after"),
            price=_price(dump(body.price), "price"),
        ),
        render=lambda made: made.to_json(),
    )


@router.post("/v1/requests/{request_id}/accept", status_code=201, summary="Accept a counter-offer")
def accept(service: Served, caller: Signed, request_id: str, body: AcceptBody) -> JSONResponse:
    actor = caller.require()
    return run_change(
        service,
        caller,
        operation=f"accept {request_id}",
        body=body,
        signing=body.signing,
        make=lambda ws: app.accept(ws, request_id, licensee_id=actor.party_id),
        render=lambda made: made.to_json(),
    )


@router.get("/v1/grants", summary="The grants you issued (owner) or hold (licensee)")
def grants(
    service: Served, caller: Signed, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    actor = caller.require()
    held = app.grants_of(service.reading_as(actor), actor.party_id, actor.kind)
    return page(
        held, key=lambda h: h.grant.id, cursor=cursor, limit=limit, render=lambda h: h.to_json()
    )


@router.post("/v1/grants/{grant_id}/revoke", status_code=201, summary="Revoke it (owner)")
def revoke(service: Served, caller: Signed, grant_id: str, body: RevokeBody) -> JSONResponse:
    actor = caller.require()
    return run_change(
        service,
        caller,
        operation=f"revoke {grant_id}",
        body=body,
        signing=body.signing,
        make=lambda ws: app.revoke(
            ws,
            grant_id,
            owner_id=actor.party_id,
            effective_at=_time(body.effective_at, "effective_at"),
            reason=body.reason,
        ),
        render=lambda made: made.to_json(),
    )


@router.get("/v1/may-use", summary="May you use this work for this purpose? (licensee)")
def may_use(
    service: Served,
    caller: Signed,
    work: str = Query(max_length=40),
    purpose: str = Query(max_length=40),
    at: str | None = Query(default=None, max_length=40),
    commercial: bool = True,
) -> dict[str, Any]:
    actor = caller.require()
    decision = app.may_use(
        service.reading_as(actor),
        work,
        licensee_id=actor.party_id,
        purpose=_category(purpose),
        at=_time(at, "at"),
        commercial=commercial,
    )
    return decision.to_json()
