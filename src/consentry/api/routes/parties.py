"""``/v1/owners`` and ``/v1/licensees``: registering a party with its public key (the
request signed with that key proves its holder sent it), and the public list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from consentry import app
from consentry.api.changes import run_change
from consentry.api.deps import Cursor, Limit, NewPartyCaller, Served, page
from consentry.api.models import PartyBody
from consentry.crypto import PublicKey
from consentry.errors import BadSignatureError
from consentry.registry import Actor, PartyKind

__all__ = ["router"]

router = APIRouter(tags=["parties"])


def _register(
    service: Served, caller: NewPartyCaller, body: PartyBody, kind: PartyKind
) -> JSONResponse:
    key = PublicKey.from_hex(body.public_key)
    if caller.key is None or caller.key.key_id != key.key_id:
        raise BadSignatureError(
            f"registering a {kind.value} must be signed with the key it registers "
            f"({key.key_id}): that signature proves you hold it"
        )
    actor = Actor(body.id, kind, key)
    invitation = body.invitation if service.options.invite_only else None
    return run_change(
        service,
        caller,
        operation=f"register-{kind.value}",
        body=body,
        signing=body.signing,
        actor=actor,
        make=lambda ws: app.register_party(
            ws,
            kind,
            body.name,
            party_id=body.id,
            invitation=invitation,
            invite_only=service.options.invite_only,
        ),
        render=lambda party: party.to_json(),
    )


def _list(service: Served, kind: PartyKind, cursor: str | None, limit: int) -> dict[str, Any]:
    parties = app.list_parties(service.public(), kind)
    return page(
        parties, key=lambda p: p.id, cursor=cursor, limit=limit, render=lambda p: p.to_json()
    )


@router.post("/v1/owners", status_code=201, summary="Register an owner with its public key")
def register_owner(service: Served, caller: NewPartyCaller, body: PartyBody) -> JSONResponse:
    return _register(service, caller, body, PartyKind.OWNER)


@router.post("/v1/licensees", status_code=201, summary="Register a licensee with its public key")
def register_licensee(service: Served, caller: NewPartyCaller, body: PartyBody) -> JSONResponse:
    return _register(service, caller, body, PartyKind.LICENSEE)


@router.get("/v1/owners", summary="Every owner (names and public keys are public)")
def owners(service: Served, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    return _list(service, PartyKind.OWNER, cursor, limit)


@router.get("/v1/licensees", summary="Every licensee (names and public keys are public)")
def licensees(service: Served, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    return _list(service, PartyKind.LICENSEE, cursor, limit)


@router.get("/v1/owners/{party_id}", summary="One owner")
def owner(service: Served, party_id: str) -> dict[str, Any]:
    return service.public().party(party_id, PartyKind.OWNER).to_json()


@router.get("/v1/licensees/{party_id}", summary="One licensee")
def licensee(service: Served, party_id: str) -> dict[str, Any]:
    return service.public().party(party_id, PartyKind.LICENSEE).to_json()
