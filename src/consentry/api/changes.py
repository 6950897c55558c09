"""A change sent over HTTP, in the rounds of ``consentry.app.served``: the route says
what the change is; this runs the round and answers 202 with the messages still to
sign, or 201 with what the change made."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from consentry.api.auth import Caller
from consentry.api.models import SigningModel
from consentry.api.service import Service
from consentry.app.served import ServedWorkspace, SigningProof, SigningRequest
from consentry.crypto import PublicKey
from consentry.registry import Actor

__all__ = ["run_change"]

_T = TypeVar("_T")


def intent_of(body: BaseModel) -> dict[str, Any]:
    """What a change body asks for: everything in it but its signatures."""
    return body.model_dump(mode="json", exclude={"signing"})


def run_change(
    service: Service,
    caller: Caller,
    *,
    operation: str,
    body: BaseModel,
    signing: SigningModel | None,
    make: Callable[[ServedWorkspace], _T],
    render: Callable[[_T], dict[str, Any]],
    actor: Actor | None = None,
    key: PublicKey | None = None,
) -> JSONResponse:
    """One round of ``make``, acting as ``actor`` (default: the request's signer)."""
    acting = actor or caller.require()
    proof = None if signing is None else SigningProof.from_json(signing.model_dump())

    def change(signer: Any) -> _T:
        return make(ServedWorkspace(service.settings, service.registry, acting, signer))

    result = service.signing.run(
        key=key or acting.key,
        operation=operation,
        intent=intent_of(body),
        proof=proof,
        change=change,
    )
    if isinstance(result, SigningRequest):
        return JSONResponse(result.to_json(), status_code=202)
    return JSONResponse(render(result), status_code=201)
