"""Who a signed HTTP request comes from, whether it was seen before, and invitations.

The service that serves the registry asks these; they hold no key and sign nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, text
from sqlalchemy.exc import IntegrityError

from consentry.clock import utc_now
from consentry.crypto import PublicKey
from consentry.errors import ReplayedRequestError, StateConflictError
from consentry.registry._context import RegistryContext
from consentry.registry.invitations import token_digest
from consentry.registry.records import Actor, PartyKind
from consentry.store.models import (
    InvitationRow,
    LicenseeRow,
    OwnerRow,
    PublicKeyRow,
    RequestNonceRow,
)

__all__ = ["Access", "Invitation"]

# A nonce is kept for twice the window in which its request's signature is accepted.
NONCE_KEPT = timedelta(minutes=10)
_PURGE_EVERY = 500


@dataclass(frozen=True, slots=True)
class Invitation:
    """A new invitation: the token is shown once, to be given to whoever is invited."""

    token: str
    expires_at: datetime
    note: str


class Access:
    def __init__(self, context: RegistryContext) -> None:
        self._context = context
        self._remembered = 0
        # A party's key never changes and is never reused: what was found stays true.
        self._actors: dict[str, Actor] = {}

    def actor_of_key(self, key_id: str) -> Actor | None:
        """The party whose registered key has ``key_id``, as an ``Actor``; ``None`` for
        a key no party holds."""
        known = self._actors.get(key_id)
        if known is not None:
            return known
        found = self._actor_of_key(key_id)
        if found is not None and len(self._actors) < 1_000_000:
            self._actors[key_id] = found
        return found

    def _actor_of_key(self, key_id: str) -> Actor | None:
        with self._context.reading() as session:
            row = session.get(PublicKeyRow, key_id)
            if row is None:
                return None
            key = PublicKey.from_hex(row.public_key)
            if session.get(OwnerRow, row.party_id) is not None:
                return Actor(row.party_id, PartyKind.OWNER, key)
            if session.get(LicenseeRow, row.party_id) is not None:
                return Actor(row.party_id, PartyKind.LICENSEE, key)
            return None

    def remember_nonce(self, key_id: str, nonce: str, at: datetime | None = None) -> None:
        """Note a request's nonce; ``ReplayedRequestError`` if this key used it before."""
        now = at or utc_now()
        try:
            with self._context.transaction() as session:
                if session.get_bind().dialect.name == "postgresql":
                    # A nonce lost to a crash reopens, for the few requests signed in the
                    # moment before it, a replay window that closes within five minutes:
                    # not worth a disk flush on every request.
                    session.execute(text("SET LOCAL synchronous_commit TO OFF"))
                session.add(RequestNonceRow(key_id=key_id, nonce=nonce, seen_at=now))
        except StateConflictError as exc:
            # The primary key refused it: the database itself says it was seen.
            if isinstance(exc.__cause__, IntegrityError):
                raise self._replayed(nonce) from None
            raise
        self._remembered += 1
        if self._remembered % _PURGE_EVERY == 1:
            with self._context.transaction() as session:
                session.execute(
                    delete(RequestNonceRow).where(RequestNonceRow.seen_at < now - NONCE_KEPT)
                )

    @staticmethod
    def _replayed(nonce: str) -> ReplayedRequestError:
        return ReplayedRequestError(
            f"nonce {nonce!r} was used before by this key: the request is a replay; sign "
            "each request with a new nonce"
        )

    def invite(self, note: str, *, valid_for: timedelta = timedelta(days=14)) -> Invitation:
        """A new single-use invitation (only its digest is stored)."""
        token = "inv_" + secrets.token_urlsafe(24)
        now = utc_now()
        with self._context.transaction() as session:
            session.add(
                InvitationRow(
                    digest=token_digest(token),
                    note=note[:200],
                    created_at=now,
                    expires_at=now + valid_for,
                )
            )
        return Invitation(token, now + valid_for, note[:200])
