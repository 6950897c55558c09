"""Who sent a request: its RFC 9421 signature, verified, names the party. No passwords,
no sessions: every request that reads or changes a party's objects is signed with the
party's key, and its nonce is remembered so that it cannot be sent twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from consentry.api.service import Service
from consentry.app.served import actor_of_key, remember_nonce
from consentry.crypto import PublicKey
from consentry.crypto.httpsig import verify_request
from consentry.errors import BadSignatureError, UnknownKeyError
from consentry.registry import Actor

__all__ = ["Caller", "read_caller"]


@dataclass(frozen=True, slots=True)
class Caller:
    """One request's sender: the party its signature proved (``None`` for an unsigned
    request, which sees only what is public), the key that signed, and the body sent."""

    actor: Actor | None
    key: PublicKey | None
    body: bytes

    def require(self) -> Actor:
        if self.actor is None:
            raise BadSignatureError(
                "this request must be signed by a registered party (RFC 9421, Ed25519, "
                "keyid your key id); the consentry CLI signs with your key when "
                "CONSENTRY_REGISTRY is set"
            )
        return self.actor


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


async def read_caller(
    request: Request,
    service: Service,
    *,
    new_key: Callable[[bytes], PublicKey | None] | None = None,
) -> Caller:
    """Verify the request's signature, if it has one, and spend its nonce.

    ``new_key(body)``: for registering a party, the key the body brings (its signature
    with that key is the proof that the sender holds it)."""
    body = await request.body()
    service.per_address.take(_address(request))
    headers = {k.lower(): v for k, v in request.headers.items()}
    if "signature" not in headers and "signature-input" not in headers:
        return Caller(None, None, body)
    brought = new_key(body) if new_key is not None else None
    public = service.public()
    actors: dict[str, Actor | None] = {}

    def key_for(key_id: str) -> PublicKey | None:
        if brought is not None and key_id == brought.key_id:
            return brought
        actors[key_id] = actor_of_key(public, key_id)
        found = actors[key_id]
        return None if found is None else found.key

    def verify() -> Caller:
        signed = verify_request(
            method=request.method,
            url=str(request.url),
            headers=headers,
            body=body,
            key_for=key_for,
            now=int(time.time()),
        )
        service.per_key.take(signed.key_id)
        remember_nonce(public, signed.key_id, signed.nonce)
        actor = actors.get(signed.key_id)
        if actor is None and brought is None:
            raise UnknownKeyError(f"key {signed.key_id} is not registered here")
        return Caller(actor, signed.key, body)

    return await run_in_threadpool(verify)
