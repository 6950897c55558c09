"""Licences: a licensee asks, the owner grants (signing), denies or counters, and may
later revoke. ``may_use`` answers whether a licensee may use a work now."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consentry.clock import utc_now
from consentry.crypto import (
    Signer,
    sign_document,
    verify_document,
)
from consentry.errors import (
    InputError,
    NotFoundError,
    StateConflictError,
    VerificationError,
)
from consentry.ids import IdKind, new_id
from consentry.registry._context import RegistryContext
from consentry.registry.consent import Consent
from consentry.registry.documents import (
    counter_body,
    counter_from_body,
    grant_body,
    request_body,
    request_from_body,
    revocation_body,
)
from consentry.registry.ledger import grants_recorded, revocations_recorded
from consentry.registry.records import (
    Actor,
    CounterOffer,
    EventKind,
    Grant,
    LicenseRequest,
    PartyKind,
    RequestState,
    Revocation,
    Scope,
    ScopeKind,
)
from consentry.registry.terms_service import TermsService
from consentry.registry.works import Works
from consentry.store.models import (
    CollectionRow,
    GrantRow,
    LicenseRequestRow,
    RevocationRow,
    WorkRow,
)
from consentry.terms import Category, Price, UseDecision

__all__ = ["Licensing"]


class Licensing:
    def __init__(self, context: RegistryContext, works: Works, terms: TermsService) -> None:
        self._context = context
        self._works = works
        self._terms = terms

    # -- requests ---------------------------------------------------------------------

    def _scope_owner(self, session: Session, scope: Scope) -> str:
        match scope.kind:
            case ScopeKind.WORKS:
                rows = list(session.scalars(select(WorkRow).where(WorkRow.id.in_(scope.ids))))
                missing = set(scope.ids) - {row.id for row in rows}
                if missing:
                    raise NotFoundError(f"no work {sorted(missing)[0]!r}; check the work ids")
                owners = {row.owner_id for row in rows}
                if len(owners) != 1:
                    raise InputError(
                        f"the works belong to {len(owners)} owners; ask each owner in a "
                        "separate request"
                    )
                return owners.pop()
            case ScopeKind.COLLECTION:
                collection = session.get(CollectionRow, scope.ids[0])
                if collection is None:
                    raise NotFoundError(f"no collection {scope.ids[0]!r}")
                return collection.owner_id
            case ScopeKind.OWNER:
                self._context.party_row(session, scope.ids[0], PartyKind.OWNER)
                return scope.ids[0]

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
        """Ask the owner of ``scope`` for a licence; signed by the licensee."""
        purposes = frozenset(purposes)
        if not purposes:
            raise InputError("a licence request needs at least one purpose (--purpose)")
        if not scope.ids:
            raise InputError("a licence request needs --work, --collection or --owner")
        now = utc_now()
        start = not_before or now
        if not_after is not None and not_after <= start:
            raise InputError(
                f"--until {not_after.date().isoformat()} is not after the start "
                f"{start.date().isoformat()}; give a later date"
            )
        with self._context.transaction() as session:
            self._context.require_actor(session, licensee_id, PartyKind.LICENSEE, signer.public)
            owner_id = self._scope_owner(session, scope)
            request = LicenseRequest(
                id=new_id(IdKind.REQUEST),
                licensee_id=licensee_id,
                owner_id=owner_id,
                scope=scope,
                purposes=purposes,
                not_before=start,
                not_after=not_after,
                offer=offer,
                commercial=commercial,
                state=RequestState.PENDING,
                counter=None,
                note=None,
                created_at=now,
            )
            body = request_body(request)
            row = LicenseRequestRow(
                id=request.id,
                licensee_id=licensee_id,
                owner_id=owner_id,
                state=request.state.value,
                created_at=now,
                updated_at=now,
            )
            self._context.add_signed(
                session,
                row,
                document="license-request",
                body=body,
                signer=signer,
                event=EventKind.REQUEST_CREATED,
                actor_id=licensee_id,
                subject_id=request.id,
            )
        return request

    def _load_request(self, session: Session, row: LicenseRequestRow) -> LicenseRequest:
        licensee_key = self._context.party_key(session, row.licensee_id, PartyKind.LICENSEE)
        body = self._context.verified_body(session, "license-request", row, signer=licensee_key)
        counter = None
        if row.counter_body is not None:
            owner_key = self._context.party_key(session, row.owner_id, PartyKind.OWNER)
            envelope = self._context.envelope(
                "counter-offer",
                row.counter_body,
                row.counter_key_id or "",
                row.counter_signature or "",
            )
            counter = counter_from_body(verify_document(envelope, owner_key))
        request = request_from_body(
            body, state=RequestState(row.state), counter=counter, note=row.note
        )
        if (request.id, request.licensee_id, request.owner_id) != (
            row.id,
            row.licensee_id,
            row.owner_id,
        ):
            raise VerificationError(f"request {row.id} row differs from what was signed")
        return request

    def _request_row(self, session: Session, request_id: str) -> LicenseRequestRow:
        row = session.get(LicenseRequestRow, request_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"no licence request {request_id!r}; see 'consentry license list'")
        return row

    def _transition(
        self,
        session: Session,
        row: LicenseRequestRow,
        allowed: set[RequestState],
        action: str,
    ) -> None:
        state = RequestState(row.state)
        if state is RequestState.GRANTED and state not in allowed:
            # A request is answered once; a licence after a revocation is a new request.
            raise StateConflictError(
                f"request {row.id} was granted already, so it cannot be {action}; "
                "for a new licence (after a revocation, say) ask anew with "
                "'consentry license request'"
            )
        if state not in allowed:
            raise StateConflictError(
                f"request {row.id} is {state.value}, so it cannot be {action}: only a request "
                f"that is {' or '.join(sorted(s.value for s in allowed))} can be"
            )

    # -- owner's answers ----------------------------------------------------------------

    def grant(self, request_id: str, owner_id: str, signer: Signer) -> Grant:
        """Sign a grant for a pending (or accepted counter-offered) request."""
        with self._context.transaction() as session:
            self._context.require_actor(session, owner_id, PartyKind.OWNER, signer.public)
            row = self._request_row(session, request_id)
            self._require_owner(row, owner_id)
            self._transition(session, row, {RequestState.PENDING, RequestState.ACCEPTED}, "granted")
            request = self._load_request(session, row)
            counter = request.counter if request.state is RequestState.ACCEPTED else None
            price = (
                counter.price
                if counter is not None and counter.price is not None
                else request.offer or self._terms.effective(owner_id).terms.price
            )
            licensee_key = self._context.party_key(session, request.licensee_id, PartyKind.LICENSEE)
            grant = Grant(
                id=new_id(IdKind.GRANT),
                request_id=request.id,
                owner_id=owner_id,
                licensee_id=request.licensee_id,
                licensee_key=licensee_key.hex,
                scope=request.scope,
                purposes=counter.purposes if counter else request.purposes,
                not_before=request.not_before,
                not_after=counter.not_after if counter else request.not_after,
                price=price,
                issued_at=utc_now(),
            )
            row.state = RequestState.GRANTED.value
            row.updated_at = grant.issued_at
            self._context.add_signed(
                session,
                GrantRow(
                    id=grant.id,
                    request_id=request.id,
                    owner_id=owner_id,
                    licensee_id=grant.licensee_id,
                    created_at=grant.issued_at,
                ),
                document="grant",
                body=grant_body(grant),
                signer=signer,
                event=EventKind.GRANT_ISSUED,
                actor_id=owner_id,
                subject_id=grant.id,
            )
        return grant

    @staticmethod
    def _require_owner(row: LicenseRequestRow, owner_id: str) -> None:
        if row.owner_id != owner_id:
            raise NotFoundError(f"no licence request {row.id!r} addressed to owner {owner_id}")

    def deny(
        self, request_id: str, owner_id: str, signer: Signer, reason: str | None = None
    ) -> None:
        with self._context.transaction() as session:
            self._context.require_actor(session, owner_id, PartyKind.OWNER, signer.public)
            row = self._request_row(session, request_id)
            self._require_owner(row, owner_id)
            self._transition(
                session,
                row,
                {RequestState.PENDING, RequestState.COUNTERED, RequestState.ACCEPTED},
                "denied",
            )
            row.state = RequestState.DENIED.value
            row.note = reason
            row.updated_at = utc_now()
            self._context.append_event(
                session,
                kind=EventKind.REQUEST_DENIED,
                actor_id=owner_id,
                subject_id=request_id,
                signer=signer,
                payload={"request": request_id, "reason": reason},
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
        """Answer a pending request with other terms; the licensee may accept them."""
        with self._context.transaction() as session:
            self._context.require_actor(session, owner_id, PartyKind.OWNER, signer.public)
            row = self._request_row(session, request_id)
            self._require_owner(row, owner_id)
            self._transition(session, row, {RequestState.PENDING}, "countered")
            request = self._load_request(session, row)
            counter = CounterOffer(
                purposes=frozenset(purposes) if purposes else request.purposes,
                not_after=not_after if not_after is not None else request.not_after,
                price=price if price is not None else request.offer,
            )
            body = counter_body(request_id, counter)
            envelope = sign_document("counter-offer", body, signer)
            row.counter_body = envelope.body.decode("utf-8")
            row.counter_key_id = envelope.key_id
            row.counter_signature = envelope.signature_b64
            row.state = RequestState.COUNTERED.value
            row.updated_at = utc_now()
            self._context.append_event(
                session,
                kind=EventKind.REQUEST_COUNTERED,
                actor_id=owner_id,
                subject_id=request_id,
                signer=signer,
                payload={"counter": body, "signature": envelope.signature_b64},
            )
            return self._load_request(session, row)

    def accept(self, request_id: str, licensee_id: str, signer: Signer) -> LicenseRequest:
        """The licensee accepts the owner's counter-offer; the owner can then grant it."""
        with self._context.transaction() as session:
            self._context.require_actor(session, licensee_id, PartyKind.LICENSEE, signer.public)
            row = self._request_row(session, request_id)
            if row.licensee_id != licensee_id:
                raise NotFoundError(f"no licence request {request_id!r} from {licensee_id}")
            self._transition(session, row, {RequestState.COUNTERED}, "accepted")
            row.state = RequestState.ACCEPTED.value
            row.updated_at = utc_now()
            self._context.append_event(
                session,
                kind=EventKind.REQUEST_ACCEPTED,
                actor_id=licensee_id,
                subject_id=request_id,
                signer=signer,
                payload={"request": request_id, "counter_signature": row.counter_signature},
            )
            return self._load_request(session, row)

    def revoke(
        self,
        grant_id: str,
        owner_id: str,
        signer: Signer,
        *,
        effective_at: datetime | None = None,
        reason: str | None = None,
    ) -> Revocation:
        """Revoke a grant from ``effective_at`` (default now) on; never retroactively,
        since runs already made under it were consented to."""
        now = utc_now()
        effective = effective_at or now
        if effective < now:
            raise InputError(
                "a revocation takes effect now or later, not in the past; runs made under "
                "the grant before now stay licensed"
            )
        with self._context.transaction() as session:
            self._context.require_actor(session, owner_id, PartyKind.OWNER, signer.public)
            grant = self._load_grant(session, grant_id)
            if grant.owner_id != owner_id:
                raise NotFoundError(f"no grant {grant_id!r} from owner {owner_id}")
            revoked, refused = revocations_recorded(self._context, session, [grant])
            if grant_id in refused:
                raise VerificationError(refused[grant_id])
            if grant_id in revoked:
                raise StateConflictError(f"grant {grant_id} is already revoked")
            revocation = Revocation(
                new_id(IdKind.REVOCATION), grant_id, owner_id, effective, reason
            )
            body = revocation_body(revocation)
            row = RevocationRow(
                id=revocation.id,
                grant_id=grant_id,
                owner_id=owner_id,
                effective_at=effective,
                created_at=now,
            )
            self._context.add_signed(
                session,
                row,
                document="revocation",
                body=body,
                signer=signer,
                event=EventKind.GRANT_REVOKED,
                actor_id=owner_id,
                subject_id=grant_id,
            )
        return revocation

    # -- reading ------------------------------------------------------------------------

    def _load_grant(self, session: Session, grant_id: str) -> Grant:
        """The grant as its event issued it (the row only says it exists)."""
        if session.get(GrantRow, grant_id) is None:
            raise NotFoundError(f"no grant {grant_id!r}; see 'consentry license list'")
        grants, why = grants_recorded(self._context, session, [grant_id])
        if grant_id in why:
            raise VerificationError(why[grant_id])
        return grants[grant_id]

    def _held(
        self, session: Session, rows: Sequence[GrantRow]
    ) -> tuple[list[tuple[Grant, Revocation | None]], list[tuple[str, str]]]:
        """The grants the rows point to, as their events issued and revoked them, and
        (owner id, why) for each that the events do not establish."""
        # Each grant is checked against its owner's key: read together, not per grant.
        self._context.load_party_keys(session, {row.owner_id for row in rows}, PartyKind.OWNER)
        grants, why = grants_recorded(self._context, session, [row.id for row in rows])
        revoked, refused = revocations_recorded(self._context, session, list(grants.values()))
        held, rejected = [], []
        for row in rows:
            grant = grants.get(row.id)
            problem = why.get(row.id) or refused.get(row.id)
            if grant is None or problem is not None:
                rejected.append((row.owner_id, problem or f"grant {row.id} is refused"))
                continue
            held.append((grant, revoked.get(grant.id)))
        return held, rejected

    def requests(self, actor: Actor) -> list[LicenseRequest]:
        """Requests the party made (licensee) or received (owner); only its own."""
        party_id, kind = actor.party_id, actor.kind
        with self._context.reading() as session:
            self._context.require(session, actor)
            column = (
                LicenseRequestRow.owner_id
                if kind is PartyKind.OWNER
                else LicenseRequestRow.licensee_id
            )
            rows = session.scalars(
                select(LicenseRequestRow)
                .where(column == party_id)
                .order_by(LicenseRequestRow.created_at)
            )
            return [self._load_request(session, row) for row in rows]

    def grants(self, actor: Actor) -> list[tuple[Grant, Revocation | None]]:
        """Grants the party issued (owner) or holds (licensee), with any revocation."""
        party_id, kind = actor.party_id, actor.kind
        with self._context.reading() as session:
            self._context.require(session, actor)
            column = GrantRow.owner_id if kind is PartyKind.OWNER else GrantRow.licensee_id
            rows = session.scalars(
                select(GrantRow).where(column == party_id).order_by(GrantRow.created_at)
            ).all()
            held, rejected = self._held(session, rows)
            if rejected:
                raise VerificationError(rejected[0][1])
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
        """May ``licensee`` use ``work_id`` for ``purpose`` at ``at`` (default now)?"""
        consent = self.consent(licensee, purpose, at=at, commercial=commercial)
        decision = consent.decide([work_id]).get(work_id)
        if decision is None:
            raise NotFoundError(f"no work {work_id!r}; list works with 'consentry work list'")
        return decision

    def consent(
        self,
        licensee: Actor,
        purpose: Category,
        *,
        at: datetime | None = None,
        commercial: bool = True,
    ) -> Consent:
        """``may_use`` for many works (a gate run): the licensee's key and grants are
        checked once here; ``Consent.decide`` takes the works in batches."""
        licensee_id = licensee.party_id
        with self._context.reading() as session:
            licensee_key = self._context.require(
                session, licensee, PartyKind.LICENSEE, to="use works under their grants"
            )
            rows = session.scalars(
                select(GrantRow)
                .where(GrantRow.licensee_id == licensee_id)
                .order_by(GrantRow.created_at)
            ).all()
            held, rejected = self._held(session, rows)
        return Consent(
            self._works,
            self._terms,
            licensee_id=licensee_id,
            licensee_key=licensee_key,
            held=held,
            rejected=rejected,
            purpose=purpose,
            at=at or utc_now(),
            commercial=commercial,
        )

    def grants_checked(
        self, actor: Actor
    ) -> tuple[list[tuple[Grant, Revocation | None, str]], list[tuple[str, str, str]]]:
        """``grants``, each with the id of the owner's key its signature was verified
        with; and (grant id, owner id, why) for each grant the events do not establish,
        set aside rather than refusing the whole list, so that a page can show the
        party which of its grants do not hold and why."""
        party_id, kind = actor.party_id, actor.kind
        with self._context.reading() as session:
            self._context.require(session, actor)
            column = GrantRow.owner_id if kind is PartyKind.OWNER else GrantRow.licensee_id
            rows = session.scalars(
                select(GrantRow).where(column == party_id).order_by(GrantRow.created_at)
            ).all()
            grants, why = grants_recorded(self._context, session, [row.id for row in rows])
            revoked, refused = revocations_recorded(self._context, session, list(grants.values()))
            held: list[tuple[Grant, Revocation | None, str]] = []
            rejected: list[tuple[str, str, str]] = []
            for row in rows:
                grant = grants.get(row.id)
                problem = why.get(row.id) or refused.get(row.id)
                if grant is not None and problem is None:
                    # A row moved to another party names a grant that is not its own.
                    named = grant.owner_id if kind is PartyKind.OWNER else grant.licensee_id
                    if named != party_id:
                        problem = f"grant {row.id} was signed for {named}, not {party_id}"
                if grant is None or problem is not None:
                    rejected.append((row.id, row.owner_id, problem or f"grant {row.id} is refused"))
                    continue
                key = self._context.party_key(session, grant.owner_id, PartyKind.OWNER)
                held.append((grant, revoked.get(grant.id), key.key_id))
            return held, rejected
