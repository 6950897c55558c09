"""Licences between parties: a licensee asks, the owner grants, denies or counters,
the licensee accepts a counter-offer, the owner revokes. Each act is signed by the
party it is for, with the key this machine holds for that party, and no other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from consentry.app.workspace import Workspace
from consentry.errors import InputError
from consentry.registry import (
    Grant,
    LicenseRequest,
    PartyKind,
    Revocation,
    Scope,
    ScopeKind,
)
from consentry.terms import Category, Price, UseDecision

__all__ = [
    "CheckedGrant",
    "HeldGrant",
    "Licences",
    "accept",
    "checked_grants_of",
    "counter",
    "deny",
    "grant",
    "grants_of",
    "licences",
    "may_use",
    "request",
    "requests_of",
    "revoke",
    "scope_of",
]


def scope_of(works: Sequence[str], owner: str | None, collection: str | None) -> Scope:
    """The scope named by exactly one of: work ids, an owner, a collection."""
    given = [bool(works), owner is not None, collection is not None]
    if sum(given) != 1:
        raise InputError("name exactly one of --work (repeatable), --owner or --collection")
    if works:
        return Scope(ScopeKind.WORKS, tuple(works))
    if collection is not None:
        return Scope(ScopeKind.COLLECTION, (collection,))
    return Scope(ScopeKind.OWNER, (str(owner),))


def request(
    ws: Workspace,
    *,
    licensee_id: str,
    scope: Scope,
    purposes: Sequence[Category],
    not_after: datetime | None = None,
    offer: Price | None = None,
    commercial: bool = True,
) -> LicenseRequest:
    """Ask the owner of ``scope`` for a licence, signed by the licensee."""
    return ws.registry.licensing.request(
        licensee_id,
        ws.signer(licensee_id, PartyKind.LICENSEE),
        scope=scope,
        purposes=purposes,
        not_after=not_after,
        offer=offer,
        commercial=commercial,
    )


def grant(ws: Workspace, request_id: str, *, owner_id: str) -> Grant:
    """Sign a licence for exactly what was asked (or countered and accepted)."""
    return ws.registry.licensing.grant(request_id, owner_id, ws.signer(owner_id, PartyKind.OWNER))


def deny(ws: Workspace, request_id: str, *, owner_id: str, reason: str | None = None) -> None:
    ws.registry.licensing.deny(request_id, owner_id, ws.signer(owner_id, PartyKind.OWNER), reason)


def counter(
    ws: Workspace,
    request_id: str,
    *,
    owner_id: str,
    purposes: Sequence[Category] | None = None,
    not_after: datetime | None = None,
    price: Price | None = None,
) -> LicenseRequest:
    """Answer a request with other terms, signed by the owner."""
    return ws.registry.licensing.counter(
        request_id,
        owner_id,
        ws.signer(owner_id, PartyKind.OWNER),
        purposes=purposes,
        not_after=not_after,
        price=price,
    )


def accept(ws: Workspace, request_id: str, *, licensee_id: str) -> LicenseRequest:
    """Accept the owner's counter-offer; the owner can then grant it."""
    return ws.registry.licensing.accept(
        request_id, licensee_id, ws.signer(licensee_id, PartyKind.LICENSEE)
    )


def revoke(
    ws: Workspace,
    grant_id: str,
    *,
    owner_id: str,
    effective_at: datetime | None = None,
    reason: str | None = None,
) -> Revocation:
    """Revoke a grant for later runs; earlier runs stay licensed."""
    return ws.registry.licensing.revoke(
        grant_id,
        owner_id,
        ws.signer(owner_id, PartyKind.OWNER),
        effective_at=effective_at,
        reason=reason,
    )


@dataclass(frozen=True, slots=True)
class HeldGrant:
    grant: Grant
    revocation: Revocation | None

    def to_json(self) -> dict[str, object]:
        return {
            **self.grant.to_json(),
            "revocation": None if self.revocation is None else self.revocation.to_json(),
        }


@dataclass(frozen=True, slots=True)
class Licences:
    """A party's own requests and grants; nobody else's."""

    requests: list[LicenseRequest]
    grants: list[HeldGrant]


def licences(ws: Workspace, party_id: str, kind: PartyKind) -> Licences:
    """The requests and grants of the owner or licensee ``party_id`` (made or
    received), read with its key."""
    return Licences(requests_of(ws, party_id, kind), grants_of(ws, party_id, kind))


def requests_of(ws: Workspace, party_id: str, kind: PartyKind) -> list[LicenseRequest]:
    """The requests the owner received or the licensee made, read with its key."""
    return ws.registry.licensing.requests(ws.actor(party_id, kind))


def grants_of(ws: Workspace, party_id: str, kind: PartyKind) -> list[HeldGrant]:
    """The grants the owner issued or the licensee holds, each with any revocation."""
    return [HeldGrant(g, r) for g, r in ws.registry.licensing.grants(ws.actor(party_id, kind))]


def may_use(
    ws: Workspace,
    work_id: str,
    *,
    licensee_id: str,
    purpose: Category,
    at: datetime | None = None,
    commercial: bool = True,
) -> UseDecision:
    """May the licensee use the work for the purpose at that moment (default now)?"""
    return ws.registry.licensing.may_use(
        ws.actor(licensee_id, PartyKind.LICENSEE), work_id, purpose, at=at, commercial=commercial
    )


@dataclass(frozen=True, slots=True)
class CheckedGrant:
    """One of a party's grants as the registry's events establish it: ``grant`` is
    None and ``problem`` says why when it does not hold (its record was altered, or
    another key signed it); ``key_id`` is the owner's key its signature verified
    with, for one that holds."""

    grant_id: str
    owner_id: str
    grant: Grant | None
    revocation: Revocation | None
    key_id: str | None
    problem: str | None


def checked_grants_of(ws: Workspace, party_id: str, kind: PartyKind) -> list[CheckedGrant]:
    """The grants the owner issued or the licensee holds, oldest first, each checked
    as it is loaded (``verify_grant``): those that verify and those that do not,
    with why, so that one altered record does not hide the others."""
    held, rejected = ws.registry.licensing.grants_checked(ws.actor(party_id, kind))
    checked = [CheckedGrant(g.id, g.owner_id, g, r, key, None) for g, r, key in held]
    checked += [CheckedGrant(g, o, None, None, None, why) for g, o, why in rejected]
    return checked
