"""RSL licence tokens (RSL 1.0 §5.4, §5.5): issued to a licensee on a grant its owner
signed and that is in force, and answered for at introspection from the grant as the
events establish it then, so that a token stops licensing the moment its grant is
revoked or expires, whatever the token's own expiry says.

A token is an opaque bearer secret (``rsl_`` and 32 random bytes); the registry keeps
its SHA-256 only. Tokens license URLs, and the registry knows works by fingerprint, not
by where they are published: only a grant of all the owner's works (scope ``owner``)
can be mapped onto the owner's sites, so only such a grant is a token's basis.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from consentry.clock import utc_now
from consentry.crypto import PublicKey
from consentry.registry._context import RegistryContext
from consentry.registry.ledger import grants_recorded, revocations_recorded
from consentry.registry.records import Actor, Grant, PartyKind, Revocation, ScopeKind
from consentry.registry.rsl_requests import ContentUrl, LicenceAsk, OlpCode, TokenRefusedError
from consentry.store.models import GrantRow, LicenceTokenRow, OwnerRow
from consentry.terms import Category
from consentry.terms.evaluate import Permit, permit_problem

__all__ = ["ActiveToken", "IssuedToken", "LicenceTokens", "grant_problem", "token_digest"]

_log = logging.getLogger("consentry.registry")
_PURGE_EVERY = 200
_FAR = datetime.max.replace(tzinfo=UTC)


def token_digest(token: str) -> str:
    """What the registry keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just issued: the only time its value exists outside its holder."""

    token: str = field(repr=False)
    grant_id: str
    owner_id: str
    licensee_id: str
    content: str
    uses: frozenset[Category]
    issued_at: datetime
    expires_at: datetime

    @property
    def expires_in(self) -> int:
        """Seconds it is good for from its issue, at least 1 (RFC 6749 ``expires_in``)."""
        return max(1, int((self.expires_at - self.issued_at).total_seconds()))


@dataclass(frozen=True, slots=True)
class ActiveToken:
    """What introspection tells of an active token (RFC 7662 §2.2 with RSL 1.0 §5.5's
    members): the grant it rests on and its parties, what it licenses (``content``,
    the ``licence`` asked with, ``uses``), until when, and whether it ``permitted`` the
    asset asked about (``reason`` when not)."""

    grant_id: str
    owner_id: str
    licensee_id: str
    content: str
    licence: str
    uses: frozenset[Category]
    issued_at: datetime
    expires_at: datetime
    permitted: bool
    reason: str | None


def _uses_text(uses: frozenset[Category]) -> str:
    return " ".join(sorted(c.value for c in uses))


def grant_problem(
    grant: Grant,
    revocation: Revocation | None,
    *,
    owner_id: str,
    licensee_id: str,
    licensee_key: PublicKey,
    uses: frozenset[Category],
    at: datetime,
) -> str | None:
    """Why ``grant`` (verified as signed by its owner) is no basis for a token of
    ``uses`` for this licensee at ``at``; None when it is one."""
    if grant.owner_id != owner_id:
        return f"grant {grant.id} is from owner {grant.owner_id}, not {owner_id}"
    if grant.licensee_id != licensee_id or grant.licensee_key != licensee_key.hex:
        return f"grant {grant.id} is not for licensee {licensee_id} and its key"
    if grant.scope.kind is not ScopeKind.OWNER or grant.scope.ids != (owner_id,):
        return (
            f"grant {grant.id} covers {grant.scope.describe()}, which the registry cannot tie "
            "to URLs; a licence token rests on a grant of all the owner's works (ask with --owner)"
        )
    permit = Permit(
        grant_id=grant.id,
        purposes=grant.purposes,
        not_before=grant.not_before,
        not_after=grant.not_after,
        revoked_at=None if revocation is None else revocation.effective_at,
    )
    for use in sorted(uses):
        problem = permit_problem(permit, use, at)
        if problem is not None:
            return problem
    return None


def _until(grant: Grant, revocation: Revocation | None, latest: datetime) -> datetime:
    revoked = _FAR if revocation is None else revocation.effective_at
    return min(latest, grant.not_after or _FAR, revoked)


class LicenceTokens:
    """Issuing and introspecting licence tokens over one registry's database."""

    def __init__(self, context: RegistryContext) -> None:
        self._context = context
        self._issued = 0

    def issue(
        self, licensee: Actor, *, owner_id: str, ask: LicenceAsk, lifetime: timedelta
    ) -> IssuedToken:
        """A token for ``licensee`` on its grant from ``owner_id`` that covers ``ask``
        now: the one ``ask`` names, else of those that qualify the one in force longest.
        It expires after ``lifetime``, or when the grant ends or its revocation takes
        effect, if sooner.

        Raises ``TokenRefusedError``: ``unauthorized_client`` for a party that is not a
        licensee, ``invalid_resource`` for an owner the registry does not have, and
        ``invalid_license`` when no grant of the licensee's qualifies (naming why each
        fails; another party's grant reads as no grant at all); ``PermissionDeniedError``
        when the actor's key is not its registered one."""
        if licensee.kind is not PartyKind.LICENSEE:
            raise TokenRefusedError(
                f"{licensee.party_id} is an owner; licence tokens are issued to licensees",
                code=OlpCode.UNAUTHORIZED_CLIENT,
            )
        now = utc_now()
        with self._context.transaction() as session:
            key = self._context.require(session, licensee, PartyKind.LICENSEE)
            if session.get(OwnerRow, owner_id) is None:
                raise TokenRefusedError(
                    f"no owner {owner_id[:60]!r} at this licence server; the licence's server "
                    "URL names its owner (…/rsl/OWNER_ID)",
                    code=OlpCode.INVALID_RESOURCE,
                )
            grant, revocation = self._basis(session, licensee.party_id, key, owner_id, ask, now)
            token = "rsl_" + secrets.token_urlsafe(32)
            issued = IssuedToken(
                token=token,
                grant_id=grant.id,
                owner_id=owner_id,
                licensee_id=licensee.party_id,
                content=ask.content.text,
                uses=ask.uses,
                issued_at=now,
                expires_at=_until(grant, revocation, now + lifetime),
            )
            session.add(
                LicenceTokenRow(
                    digest=token_digest(token),
                    grant_id=grant.id,
                    owner_id=owner_id,
                    licensee_id=licensee.party_id,
                    resource=ask.content.text,
                    uses=_uses_text(ask.uses),
                    licence=ask.licence,
                    issued_at=now,
                    expires_at=issued.expires_at,
                )
            )
            self._issued += 1
            if self._issued % _PURGE_EVERY == 1:
                # An expired token answers as inactive with or without its row.
                session.execute(delete(LicenceTokenRow).where(LicenceTokenRow.expires_at < now))
        return issued

    def _basis(
        self,
        session: Session,
        licensee_id: str,
        key: PublicKey,
        owner_id: str,
        ask: LicenceAsk,
        now: datetime,
    ) -> tuple[Grant, Revocation | None]:
        query = select(GrantRow).where(
            GrantRow.licensee_id == licensee_id, GrantRow.owner_id == owner_id
        )
        if ask.grant_id is not None:
            query = query.where(GrantRow.id == ask.grant_id)
        rows: Sequence[GrantRow] = session.scalars(query.order_by(GrantRow.created_at)).all()
        if not rows:
            named = f"grant {ask.grant_id}" if ask.grant_id else "grant"
            raise TokenRefusedError(
                f"you hold no {named} from owner {owner_id}; ask for a licence with "
                f"'consentry license request --owner {owner_id} --purpose ...' and wait for "
                "the owner to grant it",
                code=OlpCode.INVALID_LICENSE,
            )
        grants, why = grants_recorded(self._context, session, [row.id for row in rows])
        revoked, refused = revocations_recorded(self._context, session, list(grants.values()))
        fit: list[tuple[Grant, Revocation | None]] = []
        problems: list[str] = []
        for row in rows:
            grant = grants.get(row.id)
            problem = why.get(row.id) or refused.get(row.id)
            if grant is not None and problem is None:
                problem = grant_problem(
                    grant,
                    revoked.get(grant.id),
                    owner_id=owner_id,
                    licensee_id=licensee_id,
                    licensee_key=key,
                    uses=ask.uses,
                    at=now,
                )
            if grant is None or problem is not None:
                problems.append(problem or f"grant {row.id} is refused")
                continue
            fit.append((grant, revoked.get(grant.id)))
        if not fit:
            asked = ", ".join(sorted(ask.uses))
            raise TokenRefusedError(
                f"no grant of yours from owner {owner_id} licenses {asked} now: "
                f"{'; '.join(problems)}",
                code=OlpCode.INVALID_LICENSE,
            )
        return max(fit, key=lambda held: (_until(held[0], held[1], _FAR), held[0].issued_at))

    def introspect(self, owner: Actor, token: str, resource: str) -> ActiveToken | None:
        """What ``token`` licenses, checked now against its grant as the events
        establish it, and whether it licenses the asset at absolute URL ``resource``;
        None when it is inactive: unknown, expired, its grant revoked, ended or no longer
        verifying, or on another owner's grant (RFC 7662 §4: ``owner`` learns nothing
        of tokens that are not on its own grants).

        Raises ``TokenRefusedError`` (``unauthorized_client``) for a party that is not an
        owner, and ``PermissionDeniedError`` when the actor's key is not its own."""
        if owner.kind is not PartyKind.OWNER:
            raise TokenRefusedError(
                f"{owner.party_id} is a licensee; the owner whose content a token licenses "
                "introspects it",
                code=OlpCode.UNAUTHORIZED_CLIENT,
            )
        now = utc_now()
        with self._context.reading() as session:
            self._context.require(session, owner, PartyKind.OWNER)
            row = session.get(LicenceTokenRow, token_digest(token))
            if row is None or row.owner_id != owner.party_id or row.expires_at <= now:
                return None
            grants, why = grants_recorded(self._context, session, [row.grant_id])
            grant = grants.get(row.grant_id)
            if grant is None:
                _log.warning("a licence token's grant does not hold: %s", why.get(row.grant_id))
                return None
            revoked, refused = revocations_recorded(self._context, session, [grant])
            if grant.id in refused:
                _log.warning("a licence token's grant does not hold: %s", refused[grant.id])
                return None
            uses = frozenset(Category(use) for use in row.uses.split())
            problem = grant_problem(
                grant,
                revoked.get(grant.id),
                owner_id=row.owner_id,
                licensee_id=row.licensee_id,
                licensee_key=self._context.party_key(session, row.licensee_id, PartyKind.LICENSEE),
                uses=uses,
                at=now,
            )
            if problem is not None:
                return None
            content = ContentUrl.parse(row.resource)
            permitted = content.matches(resource)
            return ActiveToken(
                grant_id=grant.id,
                owner_id=row.owner_id,
                licensee_id=row.licensee_id,
                content=row.resource,
                licence=row.licence,
                uses=uses,
                issued_at=row.issued_at,
                expires_at=row.expires_at,
                permitted=permitted,
                reason=None
                if permitted
                else f"the licence covers {row.resource}, not {resource[:300]}",
            )
