"""Owners and licensees: a name and an Ed25519 public key each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeAlias

from sqlalchemy import Select, select

from consentry.clock import format_time, utc_now
from consentry.crypto import Signer
from consentry.errors import InputError, StateConflictError
from consentry.ids import kind_of, new_id
from consentry.registry._context import RegistryContext
from consentry.registry.invitations import spend_invitation
from consentry.registry.records import Party, PartyKind
from consentry.store.models import LicenseeRow, OwnerRow, PublicKeyRow

__all__ = ["Parties"]


class Parties:
    def __init__(self, context: RegistryContext) -> None:
        self._context = context

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
        """Register a party with its signer's public key; the event is self-signed,
        proving the creator holds the private key. ``invited_only``: the registry takes
        only parties that spend an ``invitation`` (in the same transaction)."""
        key = signer.public
        name = name.strip()
        if not name or len(name) > 200:
            raise InputError(f"{kind.value} name must be 1 to 200 characters, got {len(name)}")
        party_id = party_id or new_id(kind.id_kind)
        if kind_of(party_id) is not kind.id_kind:
            raise InputError(f"{kind.value} ids start with {kind.id_kind}_, got {party_id!r}")
        now = utc_now()
        with self._context.transaction() as session:
            holder = session.get(PublicKeyRow, key.key_id)
            if holder is not None:
                raise StateConflictError(
                    f"key {key.key_id} is already registered, to {holder.party_id}; each "
                    "party has a key of its own: make a new one"
                )
            if invited_only:
                spend_invitation(session, invitation, party_id, now)
            session.add(
                PublicKeyRow(
                    key_id=key.key_id,
                    party_id=party_id,
                    public_key=key.hex,
                    created_at=now,
                )
            )
            session.flush()
            row_type = OwnerRow if kind is PartyKind.OWNER else LicenseeRow
            session.add(row_type(id=party_id, name=name, key_id=key.key_id, created_at=now))
            session.flush()
            self._context.append_event(
                session,
                kind=kind.created_event,
                actor_id=party_id,
                subject_id=party_id,
                signer=signer,
                payload={
                    "id": party_id,
                    "public_key": key.hex,
                    "created_at": format_time(now),
                },
            )
        return Party(party_id, kind, name, key.key_id, key.hex, now)

    def get(self, party_id: str, kind: PartyKind) -> Party:
        with self._context.reading() as session:
            row = self._context.party_row(session, party_id, kind)
            key = self._context.public_key(session, row.key_id)
            return Party(row.id, kind, row.name, row.key_id, key.hex, row.created_at)

    def all(self, kind: PartyKind) -> list[Party]:
        return self._listed(kind, lambda rows: rows.order_by(_row_type(kind).created_at))

    def search(self, kind: PartyKind, text: str, *, limit: int = 20) -> list[Party]:
        """Parties of ``kind`` whose name contains ``text`` (any case), by name; their
        names and keys are public, as ``all`` lists them."""
        row_type = _row_type(kind)
        return self._listed(
            kind,
            lambda rows: (
                rows.where(row_type.name.icontains(text, autoescape=True))
                .order_by(row_type.name, row_type.id)
                .limit(limit)
            ),
        )

    def _listed(self, kind: PartyKind, narrow: Callable[[_Listed], _Listed]) -> list[Party]:
        """Parties of ``kind`` with their keys, read as columns, as ``narrow`` picks them."""
        row_type = _row_type(kind)
        listed = select(
            row_type.id,
            row_type.name,
            row_type.key_id,
            row_type.created_at,
            PublicKeyRow.public_key,
        ).join(PublicKeyRow, PublicKeyRow.key_id == row_type.key_id)
        with self._context.reading() as session:
            rows = session.execute(narrow(listed)).all()
            return [
                Party(party_id, kind, name, key_id, public, created)
                for party_id, name, key_id, created, public in rows
            ]


_Listed: TypeAlias = "Select[str, str, str, datetime, str]"


def _row_type(kind: PartyKind) -> type[OwnerRow] | type[LicenseeRow]:
    return OwnerRow if kind is PartyKind.OWNER else LicenseeRow
