"""The registry's domain values. Frozen; what the service returns instead of rows."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from consentry.clock import format_time, parse_time
from consentry.crypto import PublicKey
from consentry.errors import InputError
from consentry.ids import IdKind, kind_of
from consentry.terms import Category, Price

__all__ = [
    "Actor",
    "Collection",
    "CounterOffer",
    "EventKind",
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
]


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


def _parse(value: Any, what: str) -> datetime:
    return parse_time(str(value), what=what)


def _parse_optional(value: Any, what: str) -> datetime | None:
    return None if value is None else _parse(value, what)


def _price(value: Any) -> Price | None:
    return None if value is None else Price.from_json(value)


def _purposes(value: Any) -> frozenset[Category]:
    return frozenset(Category(str(p)) for p in value)


class EventKind(StrEnum):
    """What a registry event records; each is one leaf on the log."""

    OWNER_CREATED = "owner.created"
    LICENSEE_CREATED = "licensee.created"
    COLLECTION_CREATED = "collection.created"
    WORK_REGISTERED = "work.registered"
    DISPUTE_OPENED = "dispute.opened"
    TERMS_SET = "terms.set"
    REQUEST_CREATED = "request.created"
    REQUEST_COUNTERED = "request.countered"
    REQUEST_ACCEPTED = "request.accepted"
    REQUEST_DENIED = "request.denied"
    GRANT_ISSUED = "grant.issued"
    GRANT_REVOKED = "grant.revoked"
    RUN_STARTED = "run.started"
    MANIFEST_RECORDED = "manifest.recorded"


class PartyKind(StrEnum):
    OWNER = "owner"
    LICENSEE = "licensee"

    @property
    def created_event(self) -> EventKind:
        return EventKind.OWNER_CREATED if self is PartyKind.OWNER else EventKind.LICENSEE_CREATED

    @property
    def id_kind(self) -> IdKind:
        """The prefix this kind of party's ids carry."""
        return IdKind.OWNER if self is PartyKind.OWNER else IdKind.LICENSEE

    @classmethod
    def of(cls, party_id: str) -> PartyKind:
        """The kind of party ``party_id`` names; raises ``InputError`` for any other id."""
        match kind_of(party_id):
            case IdKind.OWNER:
                return cls.OWNER
            case IdKind.LICENSEE:
                return cls.LICENSEE
            case _:
                raise InputError(
                    f"{party_id!r} is not a party id; owner ids start with own_, "
                    "licensee ids with lic_"
                )


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a party and the public key the adapter has checked they hold
    (they read its private key file, or signed the request with it). Services compare
    the key with the party's registered one; they never see a private key."""

    party_id: str
    kind: PartyKind
    key: PublicKey


@dataclass(frozen=True, slots=True)
class Party:
    id: str
    kind: PartyKind
    name: str
    key_id: str
    public_key: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "key_id": self.key_id,
            "public_key": self.public_key,
            "created_at": format_time(self.created_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Party:
        return cls(
            id=str(data["id"]),
            kind=PartyKind(data["kind"]),
            name=str(data["name"]),
            key_id=str(data["key_id"]),
            public_key=str(data["public_key"]),
            created_at=_parse(data["created_at"], "created_at"),
        )


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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner_id": self.owner_id,
            "collection_id": self.collection_id,
            "digest": self.digest,
            "kind": self.kind,
            "media_type": self.media_type,
            "path": self.path,
            "title": self.title,
            "size": self.size,
            "spdx": self.spdx,
            "registered_at": format_time(self.created_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Work:
        return cls(
            id=str(data["id"]),
            owner_id=str(data["owner_id"]),
            collection_id=None if data["collection_id"] is None else str(data["collection_id"]),
            digest=str(data["digest"]),
            kind=str(data["kind"]),
            media_type=str(data["media_type"]),
            path=str(data["path"]),
            title=str(data["title"]),
            size=int(data["size"]),
            spdx=None if data["spdx"] is None else str(data["spdx"]),
            created_at=_parse(data["registered_at"], "registered_at"),
        )


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

    def to_json(self) -> dict[str, Any]:
        """The work's fields, with ``path`` as this registration named the file and
        ``work_path`` as the work was first registered (they differ for content that
        was registered before under another name)."""
        return {
            "status": self.status.value,
            **self.work.to_json(),
            "path": self.path,
            "work_path": self.work.path,
            "dispute_id": self.dispute_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Registration:
        work = Work.from_json({**data, "path": data["work_path"]})
        return cls(
            status=RegistrationStatus(data["status"]),
            path=str(data["path"]),
            work=work,
            dispute_id=None if data.get("dispute_id") is None else str(data["dispute_id"]),
        )


class ScopeKind(StrEnum):
    WORKS = "works"
    COLLECTION = "collection"
    OWNER = "owner"


@dataclass(frozen=True, slots=True)
class Scope:
    """What a licence covers. ``ids`` are kept sorted: a scope is a set, and signed
    documents carry it in one order."""

    kind: ScopeKind
    ids: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(sorted(self.ids)))

    def covers(self, work: Work) -> bool:
        match self.kind:
            case ScopeKind.WORKS:
                return self._holds(work.id)
            case ScopeKind.COLLECTION:
                return work.collection_id is not None and self._holds(work.collection_id)
            case ScopeKind.OWNER:
                return self._holds(work.owner_id)

    def _holds(self, identifier: str) -> bool:
        # A grant may name a catalogue's hundred thousand works, and a run asks of each
        # work it meets: a search in the sorted ids, not a walk through them.
        at = bisect_left(self.ids, identifier)
        return at < len(self.ids) and self.ids[at] == identifier

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "ids": sorted(self.ids)}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Scope:
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

    def to_json(self) -> dict[str, Any]:
        return {
            "purposes": sorted(p.value for p in self.purposes),
            "not_after": _time(self.not_after),
            "price": None if self.price is None else self.price.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CounterOffer:
        return cls(
            purposes=_purposes(data["purposes"]),
            not_after=_parse_optional(data["not_after"], "not_after"),
            price=_price(data["price"]),
        )


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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state.value,
            "licensee_id": self.licensee_id,
            "owner_id": self.owner_id,
            "scope": self.scope.to_json(),
            "purposes": sorted(p.value for p in self.purposes),
            "not_before": format_time(self.not_before),
            "not_after": _time(self.not_after),
            "offer": None if self.offer is None else self.offer.to_json(),
            "commercial": self.commercial,
            "counter": None if self.counter is None else self.counter.to_json(),
            "note": self.note,
            "created_at": format_time(self.created_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LicenseRequest:
        counter = data.get("counter")
        return cls(
            id=str(data["id"]),
            licensee_id=str(data["licensee_id"]),
            owner_id=str(data["owner_id"]),
            scope=Scope.from_json(data["scope"]),
            purposes=_purposes(data["purposes"]),
            not_before=_parse(data["not_before"], "not_before"),
            not_after=_parse_optional(data["not_after"], "not_after"),
            offer=_price(data["offer"]),
            commercial=bool(data["commercial"]),
            state=RequestState(data["state"]),
            counter=None if counter is None else CounterOffer.from_json(counter),
            note=None if data.get("note") is None else str(data["note"]),
            created_at=_parse(data["created_at"], "created_at"),
        )


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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "request_id": self.request_id,
            "owner_id": self.owner_id,
            "licensee_id": self.licensee_id,
            "licensee_key": self.licensee_key,
            "scope": self.scope.to_json(),
            "purposes": sorted(p.value for p in self.purposes),
            "not_before": format_time(self.not_before),
            "not_after": _time(self.not_after),
            "price": None if self.price is None else self.price.to_json(),
            "issued_at": format_time(self.issued_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Grant:
        return cls(
            id=str(data["id"]),
            request_id=str(data["request_id"]),
            owner_id=str(data["owner_id"]),
            licensee_id=str(data["licensee_id"]),
            licensee_key=str(data["licensee_key"]),
            scope=Scope.from_json(data["scope"]),
            purposes=_purposes(data["purposes"]),
            not_before=_parse(data["not_before"], "not_before"),
            not_after=_parse_optional(data["not_after"], "not_after"),
            price=_price(data["price"]),
            issued_at=_parse(data["issued_at"], "issued_at"),
        )


@dataclass(frozen=True, slots=True)
class Revocation:
    id: str
    grant_id: str
    owner_id: str
    effective_at: datetime
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "grant_id": self.grant_id,
            "owner_id": self.owner_id,
            "effective_at": format_time(self.effective_at),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Revocation:
        return cls(
            id=str(data["id"]),
            grant_id=str(data["grant_id"]),
            owner_id=str(data["owner_id"]),
            effective_at=_parse(data["effective_at"], "effective_at"),
            reason=None if data.get("reason") is None else str(data["reason"]),
        )
