"""The log leaf for each event, written in the event's own transaction.

The salts that make its commitments hiding are created here, one per identity (a party,
a work, a record) and one per event for its content, and kept in ``log_salts`` tagged
with the party whose data they protect, so that erasing that party deletes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from consentry.crypto import KeyPair
from consentry.log.leaf import Commitment, Domain, Leaf, new_salt, sign_leaf
from consentry.store.models import LogManifestWorksRow, LogPendingRow, LogSaltRow

__all__ = ["commitment_for", "domain_of", "record_leaf"]

_PARTY_PREFIXES = ("own_", "lic_")


def domain_of(identifier: str) -> Domain:
    """The commitment domain an id belongs to, read from its prefix."""
    if identifier.startswith(_PARTY_PREFIXES):
        return Domain.PARTY
    if identifier.startswith("wrk_"):
        return Domain.WORK
    return Domain.RECORD


def _salt(session: Session, name: str, party_id: str) -> bytes:
    row = session.get(LogSaltRow, name)
    if row is None:
        row = LogSaltRow(name=name, salt=new_salt(), party_id=party_id)
        session.add(row)
    return row.salt


def commitment_for(session: Session, identifier: str, party_id: str) -> Commitment:
    """The commitment to ``identifier``, with its salt (made on first use)."""
    domain = domain_of(identifier)
    return Commitment(domain, _salt(session, f"{domain}:{identifier}", party_id), identifier)


def _listed_works(payload: dict[str, Any]) -> Sequence[dict[str, Any]] | None:
    manifest = payload.get("manifest")
    if not isinstance(manifest, dict):
        return None
    works = manifest.get("works")
    return works if isinstance(works, list) else []


def record_leaf(
    session: Session,
    *,
    event_seq: int,
    kind: str,
    at: str,
    actor_id: str,
    subject_id: str,
    body: bytes,
    actor: KeyPair,
    payload: dict[str, Any],
) -> Leaf:
    """Sign the event's leaf with the actor's key and queue it for the sequencer."""
    subject_party = subject_id if domain_of(subject_id) is Domain.PARTY else actor_id
    listed = _listed_works(payload)
    works = (
        None
        if listed is None
        else [
            commitment_for(session, str(w["work_id"]), str(w.get("owner_id") or actor_id)).digest
            for w in listed
        ]
    )
    content_salt = _salt(session, f"content:{event_seq}", actor_id)
    leaf = sign_leaf(
        event=kind,
        at=at,
        actor=commitment_for(session, actor_id, actor_id),
        subject=commitment_for(session, subject_id, subject_party),
        content=Commitment(Domain.CONTENT, content_salt, body.decode("utf-8")),
        key=actor,
        works=works,
    )
    session.add(LogPendingRow(event_seq=event_seq, data=leaf.to_bytes()))
    if works is not None:
        session.add(LogManifestWorksRow(event_seq=event_seq, commitments=b"".join(sorted(works))))
    return leaf
