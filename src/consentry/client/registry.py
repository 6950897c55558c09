"""A served registry, shaped as the local one: the application layer calls the same
services, and these carry each call over HTTP. Reads are signed with the acting party's
key; changes go through their signing rounds, signed on this machine."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from consentry.client.checking import RemoteSketches
from consentry.client.http import RegistryClient
from consentry.client.log import RemoteTransparencyLog
from consentry.client.works import RemoteTerms, RemoteWorks
from consentry.clock import format_time, parse_time
from consentry.crypto import Signer, canonical_json
from consentry.errors import InputError, KeyStoreError, VerificationError
from consentry.ids import IdKind
from consentry.registry import (
    Actor,
    EventKind,
    Grant,
    LicenseRequest,
    Party,
    PartyKind,
    Registry,
    RequestState,
    Revocation,
    Scope,
    ScopeKind,
)
from consentry.registry.licensing import Licensing
from consentry.registry.parties import Parties
from consentry.terms import Category, Price, UseDecision

__all__ = ["Keyring", "RemoteRegistry"]

_PARTIES = {PartyKind.OWNER: "/v1/owners", PartyKind.LICENSEE: "/v1/licensees"}


class Keyring:
    """The signers this machine has read for its parties, by key id: a read names its
    party by an ``Actor``, and over HTTP it is signed with that party's key."""

    def __init__(self) -> None:
        self._signers: dict[str, Signer] = {}

    def add(self, signer: Signer) -> None:
        self._signers[signer.public.key_id] = signer

    def of(self, actor: Actor) -> Signer:
        signer = self._signers.get(actor.key.key_id)
        if signer is None:
            raise KeyStoreError(
                f"this machine holds no key for {actor.party_id} to sign its request with"
            )
        return signer


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


class RemoteParties(Parties):
    def __init__(self, client: RegistryClient, invitation: str | None) -> None:
        self._client = client
        self._invitation = invitation

    def create(
        self,
        kind: PartyKind,
        name: str,
        signer: Signer,
        *,
        party_id: str | None = None,
        invitation: str | None = None,
        invited_only: bool = False,
    ) -> Party:
        if party_id is None:
            raise ValueError("a party registered over HTTP names its id")
        body: dict[str, Any] = {
            "id": party_id,
            "name": name,
            "public_key": signer.public.hex,
        }
        if invitation or self._invitation:
            body["invitation"] = invitation or self._invitation
        made = self._client.change(
            "POST",
            _PARTIES[kind],
            body,
            signer=signer,
            party_id=party_id,
            events=frozenset({kind.created_event}),
            subjects=frozenset({party_id}),
        )
        return Party.from_json(made)

    def get(self, party_id: str, kind: PartyKind) -> Party:
        return Party.from_json(self._client.get(f"{_PARTIES[kind]}/{party_id}"))

    def all(self, kind: PartyKind) -> list[Party]:
        return [Party.from_json(p) for p in self._client.pages(_PARTIES[kind])]


class RemoteLicensing(Licensing):
    def __init__(self, client: RegistryClient, keyring: Keyring) -> None:
        self._client = client
        self._keyring = keyring

    def _change(
        self,
        path: str,
        body: Mapping[str, Any],
        signer: Signer,
        party_id: str,
        event: EventKind,
        documents: Mapping[str, Callable[[dict[str, Any]], bool]] | None = None,
        subject: str | None = None,
    ) -> Any:
        return self._client.change(
            "POST",
            path,
            body,
            signer=signer,
            party_id=party_id,
            events=frozenset({event}),
            documents=documents,
            subjects=None if subject is None else frozenset({subject}),
        )

    def request(
        self,
        licensee_id: str,
        signer: Signer,
        *,
        scope: Scope,
        purposes: Iterable[Category],
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        offer: Price | None = None,
        commercial: bool = True,
    ) -> LicenseRequest:
        body = {
            "scope": scope.to_json(),
            "purposes": sorted(p.value for p in purposes),
            "not_after": _time(not_after),
            "offer": None if offer is None else offer.to_json(),
            "commercial": commercial,
        }
        asked = {
            "type": "consentry.license-request",
            "version": 1,
            "licensee": licensee_id,
            "owner": self._owner_of(scope),
            **body,
        }
        made = self._change(
            "/v1/requests",
            body,
            signer,
            licensee_id,
            EventKind.REQUEST_CREATED,
            {"license-request": lambda d: _asks(d, asked, datetime.now(UTC))},
        )
        return LicenseRequest.from_json(made)

    def _owner_of(self, scope: Scope) -> str | None:
        """The owner of ``scope``'s works as the registry's public records say (a
        request is signed only as addressed to them), or None if they are several."""
        match scope.kind:
            case ScopeKind.OWNER:
                owners = set(scope.ids)
            case ScopeKind.COLLECTION:
                owners = {
                    str(
                        self._client.get(f"/v1/collections/{_segment(i)}", params={"owner": i})[
                            "owner_id"
                        ]
                    )
                    for i in scope.ids
                }
            case ScopeKind.WORKS:
                owners = {
                    str(self._client.get(f"/v1/works/{_segment(i)}")["owner_id"]) for i in scope.ids
                }
        return owners.pop() if len(owners) == 1 else None

    def grant(self, request_id: str, owner_id: str, signer: Signer) -> Grant:
        # A grant is signed only for exactly what was asked (or countered and accepted),
        # as the request the owner can read says, never for what the registry composes.
        asked = self._request(request_id, signer)
        # The grant binds the licensee's key as registered (public, on the log).
        licensee = self._client.get(f"/v1/licensees/{_segment(asked.licensee_id)}")
        published = None
        if _price_asked(asked) is None:
            # Neither offered nor countered: the owner's own published price.
            found = self._client.get(f"/v1/terms/{_segment(owner_id)}")
            published = found["effective"].get("price")
        expected = _grant_expected(
            asked, owner_id, licensee_key=str(licensee["public_key"]), published_price=published
        )
        made = self._change(
            f"/v1/requests/{request_id}/grant",
            {},
            signer,
            owner_id,
            EventKind.GRANT_ISSUED,
            {"grant": lambda d: _grants(d, expected, datetime.now(UTC))},
        )
        return Grant.from_json(made)

    def _request(self, request_id: str, signer: Signer) -> LicenseRequest:
        asked = LicenseRequest.from_json(
            self._client.get(f"/v1/requests/{_segment(request_id)}", signer=signer)
        )
        if asked.id != request_id:
            raise VerificationError(
                f"the registry answered request {asked.id} when asked for {request_id}; "
                "nothing was signed"
            )
        return asked

    def deny(
        self, request_id: str, owner_id: str, signer: Signer, reason: str | None = None
    ) -> None:
        self._change(
            f"/v1/requests/{request_id}/deny",
            {"reason": reason},
            signer,
            owner_id,
            EventKind.REQUEST_DENIED,
            subject=request_id,
        )

    def counter(
        self,
        request_id: str,
        owner_id: str,
        signer: Signer,
        *,
        purposes: Iterable[Category] | None = None,
        not_after: datetime | None = None,
        price: Price | None = None,
    ) -> LicenseRequest:
        body = {
            "purposes": None if purposes is None else sorted(p.value for p in purposes),
            "not_after": _time(not_after),
            "price": None if price is None else price.to_json(),
        }
        expected = _counter_expected(body, self._request(request_id, signer))
        made = self._change(
            f"/v1/requests/{request_id}/counter",
            body,
            signer,
            owner_id,
            EventKind.REQUEST_COUNTERED,
            {"counter-offer": lambda d: _exactly(d, expected)},
            subject=request_id,
        )
        return LicenseRequest.from_json(made)

    def accept(self, request_id: str, licensee_id: str, signer: Signer) -> LicenseRequest:
        made = self._change(
            f"/v1/requests/{request_id}/accept",
            {},
            signer,
            licensee_id,
            EventKind.REQUEST_ACCEPTED,
            subject=request_id,
        )
        return LicenseRequest.from_json(made)

    def revoke(
        self,
        grant_id: str,
        owner_id: str,
        signer: Signer,
        *,
        effective_at: datetime | None = None,
        reason: str | None = None,
    ) -> Revocation:
        made = self._change(
            f"/v1/grants/{grant_id}/revoke",
            {"effective_at": _time(effective_at), "reason": reason},
            signer,
            owner_id,
            EventKind.GRANT_REVOKED,
            {
                "revocation": lambda d: _revokes(
                    d, grant_id, owner_id, _time(effective_at), reason, datetime.now(UTC)
                )
            },
        )
        return Revocation.from_json(made)

    def requests(self, actor: Actor) -> list[LicenseRequest]:
        signer = self._keyring.of(actor)
        return [
            LicenseRequest.from_json(r) for r in self._client.pages("/v1/requests", signer=signer)
        ]

    def grants(self, actor: Actor) -> list[tuple[Grant, Revocation | None]]:
        signer = self._keyring.of(actor)
        held = []
        for item in self._client.pages("/v1/grants", signer=signer):
            revocation = item.get("revocation")
            held.append(
                (
                    Grant.from_json(item),
                    None if revocation is None else Revocation.from_json(revocation),
                )
            )
        return held

    def may_use(
        self,
        licensee: Actor,
        work_id: str,
        purpose: Category,
        *,
        at: datetime | None = None,
        commercial: bool = True,
    ) -> UseDecision:
        params: dict[str, Any] = {
            "work": work_id,
            "purpose": purpose.value,
            "commercial": str(commercial).lower(),
        }
        if at is not None:
            params["at"] = format_time(at)
        answer = self._client.get("/v1/may-use", params=params, signer=self._keyring.of(licensee))
        return UseDecision.from_json(answer)


# A time the registry sets to "now" as it composes a document (a request's start and
# making, a grant's issue, a revocation without a time) is signed only within this of
# the party's own clock: clocks differ a little, and a round takes a while to sign.
_NOW_WINDOW = timedelta(minutes=5)


def _segment(text: str) -> str:
    """``text`` as one path segment: an id may hold '/', '?' or be '..'."""
    return quote(text, safe="").replace(".", "%2E")


def _is_id(value: Any, kind: IdKind) -> bool:
    """Whether ``value`` is an id of ``kind`` as ``consentry.ids.new_id`` makes them."""
    return (
        isinstance(value, str) and re.fullmatch(rf"{kind.value}_[a-z2-7]{{16}}", value) is not None
    )


def _is_now(value: Any, now: datetime) -> bool:
    """Whether ``value`` is a time as documents carry it, within ``_NOW_WINDOW`` of ``now``."""
    if not isinstance(value, str):
        return False
    try:
        moment = parse_time(value, what="time")
    except InputError:
        return False
    return format_time(moment) == value and abs(moment - now) <= _NOW_WINDOW


def _exactly(document: Mapping[str, Any], expected: Mapping[str, Any], *made: str) -> bool:
    """Whether ``document`` has exactly the fields of ``expected``, each saying what it
    says as signed bytes do (``True`` is not ``1``), and those the registry ``made``."""
    if set(document) != {*expected, *made}:
        return False
    try:
        return all(canonical_json(document[k]) == canonical_json(v) for k, v in expected.items())
    except InputError:  # a float, say: nothing a party asks for
        return False


def _asks(document: dict[str, Any], asked: Mapping[str, Any], now: datetime) -> bool:
    """Whether a licence request document says exactly what the licensee asked: the
    fields ``asked`` names; its own new id; a start the moment it is made (the API
    takes no start), now."""
    return (
        _exactly(document, asked, "id", "not_before", "created_at")
        and _is_id(document["id"], IdKind.REQUEST)
        and document["not_before"] == document["created_at"]
        and _is_now(document["created_at"], now)
    )


def _counter_expected(given: Mapping[str, Any], asked: LicenseRequest) -> dict[str, Any]:
    """The counter-offer document answering ``asked`` with what is ``given``: what is
    left out (None), the registry fills from the request as the owner reads it."""
    return {
        "type": "consentry.counter-offer",
        "version": 1,
        "request": asked.id,
        "purposes": given["purposes"] or sorted(p.value for p in asked.purposes),
        "not_after": given["not_after"] or _time(asked.not_after),
        "price": given["price"] or (None if asked.offer is None else asked.offer.to_json()),
    }


def _price_asked(asked: LicenseRequest) -> Any:
    """The price of the request as answered: the accepted counter-offer's, else the offer."""
    counter = asked.counter if asked.state is RequestState.ACCEPTED else None
    price = counter.price if counter is not None and counter.price else asked.offer
    return None if price is None else price.to_json()


def _grant_expected(
    asked: LicenseRequest,
    owner_id: str,
    *,
    licensee_key: str,
    published_price: Any = None,
) -> dict[str, Any] | None:
    """Every field of the grant of ``asked`` but its new id and time of issue, or None
    when ``asked`` is no request this owner can grant: another owner's, one already
    answered, or one said to start before it was made."""
    if (
        asked.owner_id != owner_id
        or asked.state not in (RequestState.PENDING, RequestState.ACCEPTED)
        or asked.not_before < asked.created_at
    ):
        return None
    counter = asked.counter if asked.state is RequestState.ACCEPTED else None
    terms = counter or asked
    return {
        "type": "consentry.grant",
        "version": 1,
        "request": asked.id,
        "owner": owner_id,
        "licensee": asked.licensee_id,
        "licensee_key": licensee_key,
        "scope": asked.scope.to_json(),
        "purposes": sorted(p.value for p in terms.purposes),
        # From the request as the licensee signed it, never earlier: a backdated start
        # would license runs made before the owner agreed.
        "not_before": format_time(asked.not_before),
        "not_after": _time(terms.not_after),
        "price": _price_asked(asked) or published_price,
    }


def _grants(document: dict[str, Any], expected: Mapping[str, Any] | None, now: datetime) -> bool:
    """Whether a grant document licenses exactly what ``expected`` says
    (``_grant_expected``), under a new grant id, issued now."""
    return (
        expected is not None
        and _exactly(document, expected, "id", "issued_at")
        and _is_id(document["id"], IdKind.GRANT)
        and _is_now(document["issued_at"], now)
    )


def _revokes(
    document: dict[str, Any],
    grant_id: str,
    owner_id: str,
    effective_at: str | None,
    reason: str | None,
    now: datetime,
) -> bool:
    """Whether a revocation document revokes exactly ``grant_id`` from ``effective_at``
    (None: now) for ``reason``, under a new revocation id."""
    expected = {
        "type": "consentry.revocation",
        "version": 1,
        "grant": grant_id,
        "owner": owner_id,
        "reason": reason,
    }
    effective = document.get("effective_at")
    return (
        _exactly(document, expected, "id", "effective_at")
        and _is_id(document["id"], IdKind.REVOCATION)
        and (effective == effective_at if effective_at is not None else _is_now(effective, now))
    )


class RemoteRegistry(Registry):
    """The services the application layer calls, over HTTP to ``client``'s registry."""

    def __init__(
        self, client: RegistryClient, keyring: Keyring, *, invitation: str | None = None
    ) -> None:
        self.client = client
        self.parties = RemoteParties(client, invitation)
        self.licensing = RemoteLicensing(client, keyring)
        self.log = RemoteTransparencyLog(client, keyring)
        self.works, self.terms = RemoteWorks(client), RemoteTerms(client)
        self.sketches = RemoteSketches(client)

    def close(self) -> None:
        self.client.close()
