"""A registry served to parties on other machines: the workspace of one signed request,
and the rounds in which a party signs a change without giving up its key.

A change (a grant, a registration, a manifest) is made of documents, events and log
leaves, each signed by the party it is for. Over HTTP the party's key stays on the
party's machine, so a change is made in rounds:

1. The party sends what it wants done. The registry runs the change: every check,
   every row, and every message it needs signed. Holding no signature, it rolls the
   change back and answers with the messages and a token that fixes the change's moment
   and randomness (``consentry.replay``), so that running it again asks for the same.
2. The party reads the messages, signs on its own machine those it can check (see
   ``consentry.client``), and sends the request again with the token and its
   signatures. The registry runs the change again; each signature is verified against
   the party's registered key as it is used. A message that embeds an earlier
   signature (an event carries its document's signature, a log leaf commits to its
   event) is only final once that signature is real, so a change asks again, at most
   twice more, until every message it needs is signed; then it commits.

If the registry changed between rounds (another change committed first), the run asks
for other messages and the party signs those, or the window of five minutes passes and
it starts over. The registry never holds a party's key and never signs for one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

from consentry.app.workspace import Workspace
from consentry.clock import format_time, parse_time, utc_now
from consentry.crypto import PublicKey, Signer, canonical_json, parse_json_object
from consentry.errors import (
    InputError,
    PermissionDeniedError,
    StaleSigningError,
    VerificationError,
)
from consentry.registry import Actor, Party, PartyKind, Registry
from consentry.registry.access import Invitation
from consentry.replay import DryRunEndedError, replaying, spoil
from consentry.settings import Settings

__all__ = [
    "SIGNING_WINDOW",
    "ChangeSigning",
    "ServedWorkspace",
    "SigningProof",
    "SigningRequest",
    "StaleSigningError",
    "actor_of_key",
    "invite",
    "message_digest",
    "register_party",
    "registry_status",
    "remember_nonce",
]

SIGNING_WINDOW = timedelta(minutes=5)
_PLACEHOLDER = bytes(64)


@dataclass(frozen=True, slots=True)
class SigningRequest:
    """Round one's answer: the messages the party signs, in order, and the token that
    makes round two the same change."""

    token: str
    messages: tuple[bytes, ...]
    expires_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "messages": [base64.b64encode(m).decode("ascii") for m in self.messages],
            "expires_at": format_time(self.expires_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SigningRequest:
        return cls(
            str(data["token"]),
            tuple(_b64(m, what="a message to sign") for m in data["messages"]),
            parse_time(str(data["expires_at"]), what="expires_at"),
        )


@dataclass(frozen=True, slots=True)
class SigningProof:
    """A round's proof: the token, and the party's signatures by the SHA-256 (hex) of
    the message each signs."""

    token: str
    signatures: Mapping[str, bytes]

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "signatures": {
                digest: base64.b64encode(s).decode("ascii")
                for digest, s in sorted(self.signatures.items())
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SigningProof:
        signatures = data.get("signatures")
        if not isinstance(signatures, Mapping):
            raise InputError("signatures must map each message's SHA-256 (hex) to its signature")
        return cls(
            str(data["token"]),
            {str(k): _b64(v, what="a signature") for k, v in signatures.items()},
        )


def message_digest(message: bytes) -> str:
    """How a round names a message: its SHA-256, hex."""
    return hashlib.sha256(message).hexdigest()


def _b64(text: object, *, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"{what} is not base64; send what round one asked to sign") from exc


class _RoundSigner:
    """Answers each message with the party's signature of it, verified, or, where the
    round holds none, notes the message as wanted and spoils the run."""

    def __init__(self, key: PublicKey, signatures: Mapping[str, bytes]) -> None:
        self.public = key
        self._signatures = signatures
        self.wanted: list[bytes] = []

    def sign(self, message: bytes) -> bytes:
        signature = self._signatures.get(message_digest(message))
        if signature is None:
            self.wanted.append(message)
            spoil()
            return _PLACEHOLDER
        try:
            self.public.verify(signature, message)
        except VerificationError:
            raise VerificationError(
                f"the signature sent for message {message_digest(message)[:16]}… is not "
                f"key {self.public.key_id}'s signature of it; sign each message as sent"
            ) from None
        return signature


_T = TypeVar("_T")


class ChangeSigning:
    """The two rounds, keyed by the service's own secret (it makes the tokens and the
    seeds of the randomness, so neither can be forged or foreseen by a party)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise InputError("the service's signing secret must be at least 32 bytes")
        self._secret = secret

    def run(
        self,
        *,
        key: PublicKey,
        operation: str,
        intent: Mapping[str, Any],
        proof: SigningProof | None,
        change: Callable[[Signer], _T],
    ) -> _T | SigningRequest:
        """One round: ``change``'s result once every message it needs is signed (and it
        has committed), else the messages still wanted. ``intent``: what the party asked
        for, the same in every round; ``change(signer)`` makes the change with
        ``signer``."""
        digest = _digest(operation, key, intent)
        if proof is None:
            nonce, moment = os.urandom(16), utc_now()
            token = self._token(nonce, moment, key, digest)
            signatures: Mapping[str, bytes] = {}
        else:
            nonce, moment = self._open(proof.token, key, digest)
            token, signatures = proof.token, proof.signatures
        signer = _RoundSigner(key, signatures)
        try:
            with replaying(self._seed(nonce), moment):
                result = change(signer)
        except DryRunEndedError:
            pass
        except VerificationError:
            if not signer.wanted:
                raise
            # A check inside the change met a placeholder: the signatures it wanted come first.
        else:
            if not signer.wanted:
                return result
        return SigningRequest(token, tuple(dict.fromkeys(signer.wanted)), moment + SIGNING_WINDOW)

    def _seed(self, nonce: bytes) -> bytes:
        return hmac.new(self._secret, b"seed\0" + nonce, hashlib.sha256).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, b"token\0" + payload, hashlib.sha256).digest()

    def _token(self, nonce: bytes, now: datetime, key: PublicKey, digest: str) -> str:
        payload = canonical_json(
            {
                "nonce": base64.urlsafe_b64encode(nonce).decode("ascii"),
                "at": format_time(now),
                "key": key.key_id,
                "change": digest,
            }
        )
        return f"{_urlsafe(payload)}.{_urlsafe(self._mac(payload))}"

    def _open(self, token: str, key: PublicKey, digest: str) -> tuple[bytes, datetime]:
        refused = InputError(
            "the signing token is not one this registry issued for this request; send the "
            "request again without signatures to get a new one"
        )
        head, _, mac = token.partition(".")
        try:
            payload = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
            given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        except (binascii.Error, ValueError):
            raise refused from None
        if not hmac.compare_digest(given, self._mac(payload)):
            raise refused
        fields = parse_json_object(payload, what="signing token")
        if fields.get("key") != key.key_id or fields.get("change") != digest:
            raise refused
        moment = parse_time(str(fields["at"]), what="the signing token's time")
        if utc_now() - moment > SIGNING_WINDOW:
            raise StaleSigningError(
                "this change was signed more than 5 minutes after the registry prepared "
                "it; send the request again without signatures to sign anew"
            )
        nonce = base64.urlsafe_b64decode(str(fields["nonce"]))
        return nonce, moment


def _urlsafe(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _digest(operation: str, key: PublicKey, intent: Mapping[str, Any]) -> str:
    body = canonical_json({"operation": operation, "key": key.key_id, "intent": dict(intent)})
    return hashlib.sha256(body).hexdigest()


class ServedWorkspace(Workspace):
    """The workspace of one signed request: the registry the service keeps open, and
    the one party the request's signature proved. It acts for that party only."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        actor: Actor | None,
        signer: Signer | None = None,
    ) -> None:
        super().__init__(settings)
        self._registry = registry
        self.acting = actor
        self._signer = signer

    def close(self) -> None:
        """The service's registry outlives the request."""

    def _require(self, party_id: str, kind: PartyKind | None) -> Actor:
        actor = self.acting
        if actor is None:
            raise PermissionDeniedError(
                "this needs a request signed by a registered party; sign it with your key"
            )
        wanted = kind or PartyKind.of(party_id)
        if actor.kind is not wanted:
            raise PermissionDeniedError(
                f"only {wanted.value}s may do this; the request is signed by "
                f"{actor.kind.value} {actor.party_id}"
            )
        if party_id != actor.party_id:
            raise PermissionDeniedError(
                f"the request is signed by {actor.party_id}, who cannot act for {party_id}"
            )
        return actor

    def party(self, party_id: str, kind: PartyKind | None = None) -> Party:
        return self.registry.parties.get(party_id, kind or PartyKind.of(party_id))

    def signer(self, party_id: str, kind: PartyKind | None = None) -> Signer:
        self._require(party_id, kind)
        if self._signer is None:
            raise PermissionDeniedError("this request reads; a change needs the signing rounds")
        return self._signer

    def actor(self, party_id: str, kind: PartyKind | None = None) -> Actor:
        return self._require(party_id, kind)


def register_party(
    ws: ServedWorkspace,
    kind: PartyKind,
    name: str,
    *,
    party_id: str,
    invitation: str | None = None,
    invite_only: bool = False,
) -> Party:
    """Register the party whose key signed the request (its public key came with it);
    a registry served invite-only spends ``invitation`` in the same transaction."""
    return ws.registry.parties.create(
        kind,
        name,
        ws.signer(party_id, kind),
        party_id=party_id,
        invitation=invitation,
        invited_only=invite_only,
    )


def actor_of_key(ws: Workspace, key_id: str) -> Actor | None:
    """The registered party whose key has ``key_id``, if any."""
    return ws.registry.access.actor_of_key(key_id)


def remember_nonce(ws: Workspace, key_id: str, nonce: str) -> None:
    """Note a signed request's nonce; ``ReplayedRequestError`` if that key used it."""
    ws.registry.access.remember_nonce(key_id, nonce)


def invite(ws: Workspace, note: str, *, valid_for: timedelta) -> Invitation:
    """A single-use invitation to register (the operator's; only its digest is kept)."""
    return ws.registry.access.invite(note, valid_for=valid_for)


def registry_status(ws: Workspace) -> dict[str, Any]:
    """Which registry ``ws`` acts on (a URL, or a database with secrets hidden) and
    the size of its log."""
    url = ws.settings.registry_url or make_url(ws.settings.database_url).render_as_string(
        hide_password=True
    )
    return {"registry": url, "log_size": ws.registry.log.size()}
