"""Whether a grant authorises one use. Pure; fails by raising ``VerificationError``.

A grant authorises licensee L to use work W for purpose P at time t only if it is
signed by W's owner (checked when the grant is loaded: ``verify_grant``), names L and
L's key, its scope covers W, it lists P, t lies in its period, and no revocation in
force at t names it.
"""

from __future__ import annotations

from datetime import datetime

from consentry.crypto import PublicKey, SignedEnvelope, verify_document
from consentry.errors import VerificationError
from consentry.registry.documents import grant_from_body, revocation_from_body
from consentry.registry.records import Grant, Revocation, Work
from consentry.terms import Category, Permit
from consentry.terms.evaluate import permit_problem

__all__ = ["authorize", "verify_grant", "verify_revocation"]


def verify_grant(envelope: SignedEnvelope, *, owner_id: str, owner_key: PublicKey) -> Grant:
    """Check the owner's signature over a stored grant and return it.

    Raises ``VerificationError`` when another key signed it, it was altered after
    signing, or it names a different owner than the one whose key verified it.
    """
    grant = grant_from_body(verify_document(envelope, owner_key))
    if grant.owner_id != owner_id:
        raise VerificationError(
            f"grant {grant.id} names owner {grant.owner_id}, expected {owner_id}"
        )
    return grant


def verify_revocation(
    envelope: SignedEnvelope, *, owner_id: str, owner_key: PublicKey
) -> Revocation:
    revocation = revocation_from_body(verify_document(envelope, owner_key))
    if revocation.owner_id != owner_id:
        raise VerificationError(
            f"revocation {revocation.id} names owner {revocation.owner_id}, expected {owner_id}"
        )
    return revocation


def permit_for(grant: Grant, revocation: Revocation | None) -> Permit:
    return Permit(
        grant_id=grant.id,
        purposes=grant.purposes,
        not_before=grant.not_before,
        not_after=grant.not_after,
        revoked_at=None if revocation is None else revocation.effective_at,
    )


def check_parties(grant: Grant, *, work: Work, licensee_id: str, licensee_key: PublicKey) -> None:
    """Raise unless ``grant`` is for this licensee and key, and covers ``work``."""
    if grant.licensee_id != licensee_id:
        raise VerificationError(
            f"grant {grant.id} is for licensee {grant.licensee_id}, not {licensee_id}"
        )
    if grant.licensee_key != licensee_key.hex:
        raise VerificationError(
            f"grant {grant.id} names licensee key {grant.licensee_key[:16]}..., "
            f"not {licensee_key.hex[:16]}..."
        )
    if work.owner_id != grant.owner_id:
        raise VerificationError(
            f"grant {grant.id} is from owner {grant.owner_id}; work {work.id} belongs to "
            f"{work.owner_id}"
        )
    if not grant.scope.covers(work):
        raise VerificationError(
            f"grant {grant.id} covers {grant.scope.describe()}, not work {work.id}"
        )


def authorize(
    grant: Grant,
    *,
    work: Work,
    licensee_id: str,
    licensee_key: PublicKey,
    purpose: Category,
    at: datetime,
    revocation: Revocation | None = None,
) -> Permit:
    """Return the permit ``grant`` gives for this use, or raise ``VerificationError``
    saying which condition fails."""
    if revocation is not None and revocation.grant_id != grant.id:
        raise VerificationError(
            f"revocation {revocation.id} is for grant {revocation.grant_id}, not {grant.id}"
        )
    check_parties(grant, work=work, licensee_id=licensee_id, licensee_key=licensee_key)
    permit = permit_for(grant, revocation)
    problem = permit_problem(permit, purpose, at)
    if problem is not None:
        raise VerificationError(problem)
    return permit
