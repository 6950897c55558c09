"""Client credentials for the RSL licence server (RSL 1.0 §5.3: every OLP request is
authenticated with HTTP Basic ``client_id:client_secret``), mapped onto the parties'
own keys: a party gets its secret only by a request signed with its registered key,
its client id is its party id, and a new secret replaces the old one (rotation, and
revocation of a leaked one). Only the secret's SHA-256 is kept.

A credential acts for its party only where a signed request would, and on the licence
server alone: a licensee's asks for tokens on its own grants, an owner's introspects
tokens on its own. It signs nothing: every consent document is still signed with the
party's key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from consentry.clock import utc_now
from consentry.errors import InputError, NotFoundError, VerificationError
from consentry.registry._context import RegistryContext
from consentry.registry.records import Actor, PartyKind
from consentry.store.models import OlpClientRow

__all__ = ["ClientAuthenticationError", "ClientCredentials", "OlpClients"]

# Compared against when no credential is on file, so that an unknown client id costs
# what a known one does.
_NO_DIGEST = hashlib.sha256(b"no such client").hexdigest()


class ClientAuthenticationError(VerificationError):
    """Client credentials that do not authenticate any party (OLP ``invalid_client``)."""


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """A party's new client credentials; the secret is shown this once."""

    client_id: str
    client_secret: str = field(repr=False)
    created_at: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class OlpClients:
    def __init__(self, context: RegistryContext) -> None:
        self._context = context

    def issue(self, party: Actor) -> ClientCredentials:
        """New credentials for ``party`` (whose key was verified by the adapter), in
        place of any it had. Raises ``PermissionDeniedError`` when the key is not the
        party's registered one."""
        secret = "olp_" + secrets.token_urlsafe(32)
        now = utc_now()
        with self._context.transaction() as session:
            self._context.require(session, party)
            row = session.get(OlpClientRow, party.party_id, with_for_update=True)
            if row is None:
                session.add(
                    OlpClientRow(party_id=party.party_id, digest=_digest(secret), created_at=now)
                )
            else:
                row.digest, row.created_at = _digest(secret), now
        return ClientCredentials(party.party_id, secret, now)

    def actor_of(self, client_id: str, client_secret: str) -> Actor:
        """The party the credentials are for, with its registered key.

        Raises ``ClientAuthenticationError`` alike for an unknown client, a wrong secret
        and a party no longer registered, so that none can be told from another."""
        refused = ClientAuthenticationError(
            f"client credentials for {client_id[:60]!r} are refused; get new ones with a "
            "request signed by your key (POST /v1/olp/credentials)"
        )
        with self._context.reading() as session:
            row = session.get(OlpClientRow, client_id[:40])
            kept = _NO_DIGEST if row is None else row.digest
            if not hmac.compare_digest(kept, _digest(client_secret)) or row is None:
                raise refused
            try:
                kind = PartyKind.of(row.party_id)
                row_key = self._context.party_key(session, row.party_id, kind)
            except (InputError, NotFoundError):
                raise refused from None
            return Actor(row.party_id, kind, row_key)
