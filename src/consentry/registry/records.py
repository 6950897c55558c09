"""The registry's domain values. Frozen; what the service returns instead of rows."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from consentry.errors import InputError
from consentry.terms import Category, Price

__all__ = [
    "Collection",
    "CounterOffer",
    "Grant",
    "LicenseRequest",
    "Party",
    "PartyKind",
    "Registration",
    "RegistrationStatus",
    "RequestState",
    "Revocation",
    "Scope",
    "ScopeKind",
    "Work",
    "format_time",
    "new_id",
    "parse_time",
    "utc_now",
]


def new_id(prefix: str) -> str:
    """``prefix_`` followed by 16 random base32 characters (80 bits)."""
    return f"{prefix}_{base64.b32encode(os.urandom(10)).decode('ascii').lower()}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, to the microsecond: the form signed documents carry."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str, *, what: str) -> datetime:
    """Parse an RFC 3339 time or a plain date (midnight UTC); naive times are UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{what} {text!r} is not a date or time; use YYYY-MM-DD") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class PartyKind(StrEnum):
    OWNER = "owner"
    LICENSEE = "licensee"


@dataclass(frozen=True, slots=True)
class Party:
    id: str
    kind: PartyKind
    name: str
    key_id: str
    public_key: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Collection:
    id: str
    owner_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Work:
    id: str
    owner_id: str
    collection_id: str | None
    digest: str
    kind: str
    media_type: str
    path: str
    title: str
    size: int
    spdx: str | None
    created_at: datetime


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"
    EXISTING = "existing"
    DISPUTED = "disputed"


@dataclass(frozen=True, slots=True)
class Registration:
    """What happened to one file: a new work, the same owner's existing work, or a
    dispute with the owner who registered that content first."""

    status: RegistrationStatus
    path: str
    work: Work
    dispute_id: str | None = None


class ScopeKind(StrEnum):
    WORKS = "works"
    COLLECTION = "collection"
    OWNER = "owner"


@dataclass(frozen=True, slots=True)
class Scope:
    kind: ScopeKind
    ids: tuple[str, ...]

    def covers(self, work: Work) -> bool:
        match self.kind:
            case ScopeKind.WORKS:
                return work.id in self.ids
            case ScopeKind.COLLECTION:
                return work.collection_id is not None and work.collection_id in self.ids
            case ScopeKind.OWNER:
                return work.owner_id in self.ids

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind.value, "ids": sorted(self.ids)}

    @classmethod
    def from_json(cls, document: dict[str, object]) -> Scope:
        ids = document["ids"]
        if not isinstance(ids, list):
            raise InputError("scope ids must be a list")
        return cls(ScopeKind(str(document["kind"])), tuple(str(i) for i in ids))

    def describe(self) -> str:
        match self.kind:
            case ScopeKind.WORKS:
                return f"{len(self.ids)} work(s)"
            case ScopeKind.COLLECTION:
                return f"collection {self.ids[0]}"
            case ScopeKind.OWNER:
                return f"all works of {self.ids[0]}"


class RequestState(StrEnum):
    PENDING = "pending"
    COUNTERED = "countered"
    ACCEPTED = "accepted"
    GRANTED = "granted"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class CounterOffer:
    purposes: frozenset[Category]
    not_after: datetime | None
    price: Price | None


@dataclass(frozen=True, slots=True)
class LicenseRequest:
    id: str
    licensee_id: str
    owner_id: str
    scope: Scope
    purposes: frozenset[Category]
    not_before: datetime
    not_after: datetime | None
    offer: Price | None
    commercial: bool
    state: RequestState
    counter: CounterOffer | None
    note: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Grant:
    """A licence the owner signed. Built only from a verified signature."""

    id: str
    request_id: str
    owner_id: str
    licensee_id: str
    licensee_key: str
    scope: Scope
    purposes: frozenset[Category]
    not_before: datetime
    not_after: datetime | None
    price: Price | None
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class Revocation:
    id: str
    grant_id: str
    owner_id: str
    effective_at: datetime
    reason: str | None
