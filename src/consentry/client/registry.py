"""A served registry, shaped as the local one: the application layer calls the same
services, and these carry each call over HTTP. Reads are signed with the acting party's
key; changes go through their signing rounds, signed on this machine."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from consentry.client.checking import RemoteSketches
from consentry.client.http import RegistryClient
from consentry.client.log import RemoteTransparencyLog
from consentry.client.works import RemoteTerms, RemoteWorks
from consentry.clock import format_time
from consentry.crypto import Signer
from consentry.errors import KeyStoreError
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
        asked = {"licensee": licensee_id, **body}
        made = self._change(
            "/v1/requests",
            body,
            signer,
            licensee_id,
            EventKind.REQUEST_CREATED,
            {"license-request": lambda d: all(d.get(k) == v for k, v in asked.items())},
        )
        return LicenseRequest.from_json(made)

    def grant(self, request_id: str, owner_id: str, signer: Signer) -> Grant:
        # A grant is signed only for exactly what was asked (or countered and accepted),
        # as the request the owner can read says, never for what the registry composes.
        asked = LicenseRequest.from_json(
            self._client.get(f"/v1/requests/{request_id}", signer=signer)
        )
        made = self._change(
            f"/v1/requests/{request_id}/grant",
            {},
            signer,
            owner_id,
            EventKind.GRANT_ISSUED,
            {"grant": lambda d: _grants(d, asked, owner_id)},
        )
        return Grant.from_json(made)

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
        made = self._change(
            f"/v1/requests/{request_id}/counter",
            body,
            signer,
            owner_id,
            EventKind.REQUEST_COUNTERED,
            {"counter-offer": lambda d: d.get("request") == request_id and _says(d, body)},
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
                "revocation": lambda d: (
                    (d.get("grant"), d.get("owner"), d.get("reason"))
                    == (grant_id, owner_id, reason)
                    and (effective_at is None or d.get("effective_at") == _time(effective_at))
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


def _says(document: dict[str, Any], given: Mapping[str, Any]) -> bool:
    """Whether ``document`` says what was given (fields given as None are the
    registry's to fill from the request)."""
    return all(document.get(k) == v for k, v in given.items() if v is not None)


def _grants(document: dict[str, Any], asked: LicenseRequest, owner_id: str) -> bool:
    """Whether a grant document licenses exactly what ``asked`` says."""
    counter = asked.counter if asked.state is RequestState.ACCEPTED else None
    terms = counter or asked
    price = counter.price if counter is not None and counter.price else asked.offer
    expected = {
        "request": asked.id,
        "owner": owner_id,
        "licensee": asked.licensee_id,
        "scope": asked.scope.to_json(),
        "purposes": sorted(p.value for p in terms.purposes),
        "not_after": _time(terms.not_after),
    }
    if price is not None:  # else the owner's own published price, filled in by the registry
        expected["price"] = price.to_json()
    return all(document.get(k) == v for k, v in expected.items())


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
