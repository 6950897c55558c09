"""What every registry service shares: transactions, parties' keys, signed events."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from consentry.clock import format_time, utc_now
from consentry.crypto import PublicKey, SignedEnvelope, Signer, sign_document, verify_document
from consentry.errors import (
    ConsentryError,
    NotFoundError,
    PermissionDeniedError,
    StateConflictError,
    StorageError,
    VerificationError,
)
from consentry.registry._leaves import queue_event, write_events
from consentry.registry.records import Actor, EventKind, PartyKind
from consentry.replay import DryRunEndedError, spoiled
from consentry.store.models import EventRow, LicenseeRow, OwnerRow, PublicKeyRow

__all__ = ["RegistryContext"]


class RegistryContext:
    """Sessions and the helpers each service needs; one per open registry."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: everything in it, events included, commits
        together or not at all."""
        try:
            with self._sessions() as session, session.begin():
                yield session
                write_events(session)
                if spoiled():
                    raise DryRunEndedError  # everything was written; none of it stays
        except IntegrityError as exc:
            raise StateConflictError(
                f"the registry refused the change ({exc.orig}); "
                "another change may have raced it: retry"
            ) from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"registry database error: {exc}") from exc

    @contextmanager
    def reading(self) -> Iterator[Session]:
        try:
            with self._sessions() as session:
                yield session
        except ConsentryError:
            raise
        except SQLAlchemyError as exc:
            raise StorageError(f"registry database error: {exc}") from exc

    def party_row(self, session: Session, party_id: str, kind: PartyKind) -> OwnerRow | LicenseeRow:
        row: OwnerRow | LicenseeRow | None = (
            session.get(OwnerRow, party_id)
            if kind is PartyKind.OWNER
            else session.get(LicenseeRow, party_id)
        )
        if row is None:
            raise NotFoundError(
                f"no such {kind.value} {party_id!r} in this registry; check the id with "
                f"'consentry {kind.value} list', or create one with "
                f"'consentry {kind.value} create NAME'"
            )
        return row

    def public_key(self, session: Session, key_id: str) -> PublicKey:
        row = session.get(PublicKeyRow, key_id)
        if row is None:
            raise NotFoundError(f"no public key {key_id} in the registry")
        return PublicKey.from_hex(row.public_key)

    def party_key(self, session: Session, party_id: str, kind: PartyKind) -> PublicKey:
        """The party's public key, read once per session: a party's key never changes,
        and verifying many works of one owner would otherwise read it once per work."""
        keys: dict[tuple[PartyKind, str], PublicKey] = session.info.setdefault("party_keys", {})
        key = keys.get((kind, party_id))
        if key is None:
            key = self.public_key(session, self.party_row(session, party_id, kind).key_id)
            keys[(kind, party_id)] = key
        return key

    def load_party_keys(self, session: Session, party_ids: Iterable[str], kind: PartyKind) -> None:
        """Read the keys of ``party_ids`` not read yet in this session, a thousand per
        query, so that verifying a batch of many owners' works reads no key per work.
        A party not found is left to ``party_key``, which says so."""
        keys: dict[tuple[PartyKind, str], PublicKey] = session.info.setdefault("party_keys", {})
        wanted = sorted({p for p in party_ids if (kind, p) not in keys})
        party = OwnerRow if kind is PartyKind.OWNER else LicenseeRow
        for first in range(0, len(wanted), 1000):
            # Two lookups by primary key, not a join: the planner may read a small
            # table of keys whole for a join, and it grows with the parties.
            holders: dict[str, list[str]] = {}
            for key_id, party_id in session.execute(
                select(party.key_id, party.id).where(party.id.in_(wanted[first : first + 1000]))
            ):
                holders.setdefault(str(key_id), []).append(str(party_id))
            found = session.execute(
                select(PublicKeyRow.key_id, PublicKeyRow.public_key).where(
                    PublicKeyRow.key_id.in_(list(holders))
                )
            )
            for key_id, public_key in found:
                for party_id in holders[str(key_id)]:
                    keys[(kind, party_id)] = PublicKey.from_hex(str(public_key))

    def require_actor(
        self, session: Session, party_id: str, kind: PartyKind, key: PublicKey
    ) -> PublicKey:
        """Raise ``PermissionDeniedError`` unless ``key`` is the registered key of
        ``party_id``.

        Guarantee 7: only an owner's key changes that owner's works, terms and grants;
        only a licensee's key acts for that licensee.
        """
        registered = self.party_key(session, party_id, kind)
        if registered.key_id != key.key_id:
            raise PermissionDeniedError(
                f"key {key.key_id} does not belong to {kind.value} {party_id}; "
                f"act with {party_id}'s own key"
            )
        return registered

    def require(
        self, session: Session, actor: Actor, kind: PartyKind | None = None, *, to: str = ""
    ) -> PublicKey:
        """``require_actor`` for an ``Actor``: the key they showed is their own, and,
        given ``kind``, they are that kind of party (``to``: what only it may do)."""
        if kind is not None and actor.kind is not kind:
            raise PermissionDeniedError(f"only {kind.value}s {to}; {actor.party_id} is not one")
        return self.require_actor(session, actor.party_id, actor.kind, actor.key)

    def append_event(
        self,
        session: Session,
        *,
        kind: EventKind,
        actor_id: str,
        subject_id: str,
        signer: Signer,
        payload: dict[str, Any],
    ) -> None:
        """Append a signed event in the caller's transaction, and its signed log leaf
        for the sequencer (the log is built on these); both are written when the
        transaction commits."""
        now = utc_now()
        envelope = sign_document(
            "event",
            {
                "type": "consentry.event",
                "version": 1,
                "event": kind,
                "actor": actor_id,
                "subject": subject_id,
                "at": format_time(now),
                "payload": payload,
            },
            signer,
        )
        row = {
            "kind": kind,
            "actor_id": actor_id,
            "subject_id": subject_id,
            "created_at": now,
            "body": envelope.body.decode("utf-8"),
            "key_id": envelope.key_id,
            "signature": envelope.signature_b64,
        }
        queue_event(
            session, row, at=format_time(now), body=envelope.body, signer=signer, payload=payload
        )

    def add_signed(
        self,
        session: Session,
        row: Any,
        *,
        document: str,
        body: dict[str, Any],
        signer: Signer,
        event: EventKind,
        actor_id: str,
        subject_id: str,
        add: bool = True,
    ) -> SignedEnvelope:
        """Sign ``body`` as a ``document``, store it on ``row`` and add the row, then
        append the event that records it, all in the caller's transaction. ``add``
        False: the caller writes the row itself (in bulk) before the transaction ends."""
        envelope = sign_document(document, body, signer)
        row.body = envelope.body.decode("utf-8")
        row.key_id = envelope.key_id
        row.signature = envelope.signature_b64
        if add:
            session.add(row)
            session.flush()
        self.append_event(
            session,
            kind=event,
            actor_id=actor_id,
            subject_id=subject_id,
            signer=signer,
            payload={document: body, "signature": envelope.signature_b64},
        )
        return envelope

    @staticmethod
    def envelope(kind: str, body: str, key_id: str, signature: str) -> SignedEnvelope:
        return SignedEnvelope.from_stored(
            kind=kind, body=body, key_id=key_id, signature_b64=signature
        )

    def verified_body(
        self, session: Session, kind: str, row: Any, *, signer: PublicKey | None = None
    ) -> dict[str, Any]:
        """Verify a stored signed row and return its body (signature checked on load)."""
        envelope = self.envelope(kind, row.body, row.key_id, row.signature)
        key = signer if signer is not None else self.public_key(session, row.key_id)
        return verify_document(envelope, key)

    def verified_event(
        self, session: Session, row: EventRow, *, signer: PublicKey
    ) -> dict[str, Any]:
        """An event row's signed body, checked against ``signer`` (its actor's key), and
        its queried columns against what was signed: a row edited to file the event
        under another kind, subject or actor is refused as one not signed."""
        body = self.verified_body(session, "event", row, signer=signer)
        if (body["event"], body["subject"], body["actor"]) != (
            row.kind,
            row.subject_id,
            row.actor_id,
        ):
            raise VerificationError("its row differs from what its actor signed")
        return body

    @staticmethod
    def latest_events(session: Session, limit: int = 20) -> list[EventRow]:
        return list(session.scalars(select(EventRow).order_by(EventRow.seq.desc()).limit(limit)))
