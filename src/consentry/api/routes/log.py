"""``/v1/log/...``, ``/v1/usage`` and ``/v1/royalties``: the transparency log as JSON,
and where an owner's works were used and what they earned.

The log is public: its key, its newest checkpoint and a proof of any entry are read
unsigned. Usage and royalties are the owner's alone: the request is signed by the owner
and answers for that owner only (a licensee is refused, another owner sees its own).
Every answer is against the newest checkpoint the service published."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from consentry import app
from consentry.api.auth import Caller
from consentry.api.deps import Served, Signed
from consentry.api.routes import tiles
from consentry.registry import PartyKind

__all__ = ["router"]

router = APIRouter(tags=["log"])
# The tiles under /log/ come with the JSON: one router for the log.
router.include_router(tiles.router)

Index = Annotated[int | None, Query(ge=0, le=2**62, description="The entry's index in the log.")]
Event = Annotated[int | None, Query(ge=1, le=2**62, description="The event's sequence number.")]


def _reading(service: Served, caller: Caller) -> app.PublishedLogWorkspace:
    return app.PublishedLogWorkspace(service.settings, service.registry, caller.actor)


def _up_to_date(service: Served) -> None:
    """An owner reading where its works went, or anyone asking for a proof, reads the
    log as it is now: what has grown since the last checkpoint is signed first. Where
    witnesses must cosign each checkpoint, they are asked by the checkpointer, and a
    read waits for its next step instead."""
    if not service.options.witnesses:
        app.publish_checkpoint(service.public())


@router.get("/v1/log/key", summary="The log's origin and verifier key")
def log_key(service: Served, caller: Signed) -> dict[str, Any]:
    identity = app.published_identity(_reading(service, caller))
    return {"origin": identity.name, "public_key": identity.public.hex, "vkey": identity.vkey()}


@router.get("/v1/log/checkpoint", summary="The newest signed checkpoint, with cosignatures")
def log_checkpoint(service: Served, caller: Signed) -> dict[str, Any]:
    return app.published_checkpoint(_reading(service, caller)).to_json()


@router.get(
    "/v1/log/proof",
    summary="A c2sp.org/tlog-proof@v1 of one entry, by index or by event",
    description="Give exactly one of `index` and `event`. The proof is against the "
    "newest published checkpoint and verifies offline with only the log's key "
    "(`consentry log verify-proof`).",
)
def log_proof(
    service: Served, caller: Signed, index: Index = None, event: Event = None
) -> dict[str, Any]:
    ws = _reading(service, caller)
    _up_to_date(service)
    app.published_checkpoint(ws)  # none yet is "not yet", not a server error
    bundle = app.prove(ws, event=event, index=index)
    return {"index": bundle.index, "event": event, "proof": bundle.to_text()}


def _owner(caller: Caller) -> str:
    return caller.require().party_id


@router.get(
    "/v1/usage",
    summary="Every manifest on the log that lists one of the signing owner's works",
    description="Signed by the owner. Each item carries its usage proof "
    "(`consentry usage verify`).",
)
def usage(service: Served, caller: Signed) -> dict[str, Any]:
    ws = _reading(service, caller)
    owner = _owner(caller)
    ws.actor(owner, PartyKind.OWNER)  # a licensee is refused before anything is read
    _up_to_date(service)
    app.published_checkpoint(ws)
    signed, found = app.usage(ws, owner)
    return {"checkpoint": signed.to_json(), "items": [used.to_json() for used in found]}


@router.get(
    "/v1/royalties",
    summary="The signing owner's royalty statement, from every manifest on the log",
)
def royalties(service: Served, caller: Signed) -> dict[str, Any]:
    ws = _reading(service, caller)
    owner = _owner(caller)
    ws.actor(owner, PartyKind.OWNER)
    _up_to_date(service)
    app.published_checkpoint(ws)
    return app.owner_statement(ws, owner).to_json()
