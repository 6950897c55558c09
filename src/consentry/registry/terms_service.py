"""Terms set by owners on themselves (their default), a collection, or a work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consentry.clock import format_time, utc_now
from consentry.crypto import Signer, verify_document
from consentry.errors import (
    InputError,
    NotFoundError,
    PermissionDeniedError,
    TermsError,
    VerificationError,
)
from consentry.ids import IdKind, kind_of, new_id
from consentry.registry._context import RegistryContext
from consentry.registry.ledger import Recorded, recorded
from consentry.registry.records import EventKind, PartyKind
from consentry.store.models import CollectionRow, TermsRow, WorkRow
from consentry.terms import Terms, resolve_terms

__all__ = ["EffectiveTerms", "TargetKind", "TermsLayer", "TermsService"]


class TargetKind(StrEnum):
    OWNER = "owner"
    COLLECTION = "collection"
    WORK = "work"


@dataclass(frozen=True, slots=True)
class TermsLayer:
    target_kind: TargetKind
    target_id: str
    version: int
    terms: Terms

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.target_kind.value,
            "target": self.target_id,
            "version": self.version,
            "terms": self.terms.to_json(),
        }


@dataclass(frozen=True, slots=True)
class EffectiveTerms:
    """The terms in force for a target, and the layers they came from (least specific
    first)."""

    target_id: str
    terms: Terms
    layers: tuple[TermsLayer, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target_id,
            "effective": self.terms.to_json(),
            "layers": [
                {"kind": layer.target_kind.value, "id": layer.target_id, "version": layer.version}
                for layer in self.layers
            ],
        }


def target_kind(target_id: str) -> TargetKind:
    match kind_of(target_id):
        case IdKind.OWNER:
            return TargetKind.OWNER
        case IdKind.COLLECTION:
            return TargetKind.COLLECTION
        case IdKind.WORK:
            return TargetKind.WORK
        case _:
            raise InputError(
                f"terms target {target_id!r} is not an owner (own_...), collection (col_...) "
                "or work (wrk_...) id"
            )


class TermsService:
    def __init__(self, context: RegistryContext) -> None:
        self._context = context

    def _target_owner(self, session: Session, target_id: str) -> str:
        match target_kind(target_id):
            case TargetKind.OWNER:
                self._context.party_row(session, target_id, PartyKind.OWNER)
                return target_id
            case TargetKind.COLLECTION:
                collection = session.get(CollectionRow, target_id)
                if collection is None:
                    raise NotFoundError(f"no collection {target_id!r}")
                return collection.owner_id
            case TargetKind.WORK:
                work = session.get(WorkRow, target_id)
                if work is None:
                    raise NotFoundError(f"no work {target_id!r}")
                return work.owner_id

    def set(self, target_id: str, owner_id: str, signer: Signer, terms: Terms) -> TermsLayer:
        """Publish a new version of the terms on ``target_id``, signed by its owner."""
        with self._context.transaction() as session:
            self._context.require_actor(session, owner_id, PartyKind.OWNER, signer.public)
            if self._target_owner(session, target_id) != owner_id:
                raise PermissionDeniedError(
                    f"{target_id} belongs to another owner; only its owner sets its terms"
                )
            # Numbered after the versions the events recorded, not the rows.
            found, _ = recorded(self._context, session, EventKind.TERMS_SET, "terms", [target_id])
            previous = [int(r.body.get("terms_version", 0)) for r in found.get(target_id, [])]
            version = max(previous, default=0) + 1
            now = utc_now()
            body = {
                "type": "consentry.terms",
                "version": 1,
                "owner": owner_id,
                "target": target_id,
                "terms_version": version,
                "terms": terms.to_json(),
                "published_at": format_time(now),
            }
            row = TermsRow(
                id=new_id(IdKind.TERMS),
                owner_id=owner_id,
                target_type=target_kind(target_id).value,
                target_id=target_id,
                version=version,
                created_at=now,
            )
            self._context.add_signed(
                session,
                row,
                document="terms",
                body=body,
                signer=signer,
                event=EventKind.TERMS_SET,
                actor_id=owner_id,
                subject_id=target_id,
            )
        return TermsLayer(target_kind(target_id), target_id, version, terms)

    def _layers(
        self, session: Session, owners: dict[str, str], refused: dict[str, str] | None = None
    ) -> dict[str, TermsLayer | None]:
        """The terms in force on each target (target id to its owner's id): the newest
        version its owner's events set, each verified; None where none was set. Read
        from the events, not the ``terms`` rows, so a row deleted or changed behind the
        services' back changes nothing. A target whose terms do not verify raises,
        unless ``refused`` is given: then it is named there, with why, and the others
        are read as usual."""
        found, problems = recorded(self._context, session, EventKind.TERMS_SET, "terms", owners)
        layers: dict[str, TermsLayer | None] = {}
        failed: dict[str, str] = {
            t: f"the terms of {t} are refused: {w}" for t, w in problems.items()
        }
        for target_id, owner_id in owners.items():
            # A target whose terms are refused gets no layer, so no caller's cache holds
            # it as "no terms": it is read, and refused, again.
            events = found.get(target_id)
            if target_id in failed:
                continue
            if not events:
                layers[target_id] = None
                continue
            try:
                layers[target_id] = self._layer(session, target_id, owner_id, events)
            except (VerificationError, TermsError) as exc:
                failed[target_id] = f"the terms of {target_id} are refused: {exc}"
        if failed and refused is None:
            raise VerificationError(next(iter(failed.values())))
        if refused is not None:
            refused.update(failed)
        return layers

    def _layer(
        self, session: Session, target_id: str, owner_id: str, events: list[Recorded]
    ) -> TermsLayer:
        newest = max(events, key=lambda r: int(r.body.get("terms_version", 0)))
        signer = self._context.party_key(session, owner_id, PartyKind.OWNER)
        body = verify_document(newest.envelope("terms", signer), signer)
        if body["target"] != target_id or body["owner"] != owner_id:
            raise VerificationError(
                f"terms set by event {newest.seq} were signed for {body['target']} by "
                f"{body['owner']}, found on {target_id} of {owner_id}"
            )
        terms = Terms.from_json(body["terms"], source=f"terms of {target_id}")
        return TermsLayer(target_kind(target_id), target_id, int(body["terms_version"]), terms)

    def effective_for_works(
        self,
        work_ids: Sequence[str],
        *,
        layers: dict[str, TermsLayer | None] | None = None,
        refused: dict[str, str] | None = None,
    ) -> dict[str, Terms]:
        """The terms in force for many works at once (what a sketch export needs):
        ``effective_for`` of the works of ``work_ids`` that exist."""
        with self._context.reading() as session:
            chains = [
                (str(w), str(o), c)
                for first in range(0, len(work_ids), 1000)
                for w, o, c in session.execute(
                    select(WorkRow.id, WorkRow.owner_id, WorkRow.collection_id).where(
                        WorkRow.id.in_(work_ids[first : first + 1000])
                    )
                )
            ]
        return self.effective_for(chains, layers=layers, refused=refused)

    def effective_for(
        self,
        chains: Sequence[tuple[str, str, str | None]],
        *,
        layers: dict[str, TermsLayer | None] | None = None,
        refused: dict[str, str] | None = None,
    ) -> dict[str, Terms]:
        """The terms in force for works already read, each given as (work id, owner
        id, collection id): each stored layer is read and verified once, not once per
        work. ``layers``: a cache kept by a caller that asks again (read once per run,
        not per call). ``refused``: where to name each work whose terms do not verify,
        with why (and leave it out), instead of raising for the whole batch."""
        out: dict[str, Terms] = {}
        layers = {} if layers is None else layers
        failed: dict[str, str] = {}
        with self._context.reading() as session:
            for first in range(0, len(chains), 1000):
                batch = chains[first : first + 1000]
                # The layers of these works, their collections and owners not read yet.
                wanted = {
                    t: owner_id
                    for chain in batch
                    for t, owner_id in ((t, chain[1]) for t in chain)
                    if t and t not in layers
                }
                owners = {chain[1] for chain in batch}
                self._context.load_party_keys(session, owners, PartyKind.OWNER)
                layers.update(
                    self._layers(session, wanted, failed if refused is not None else None)
                )
                for work_id, owner_id, collection_id in batch:
                    chain = [t for t in (owner_id, collection_id, work_id) if t]
                    broken = [failed[t] for t in chain if t in failed]
                    if broken and refused is not None:
                        refused[work_id] = broken[0]
                        continue
                    out[work_id] = resolve_terms(
                        [layer.terms for t in chain if (layer := layers[t]) is not None]
                    )
        return out

    def effective(self, target_id: str) -> EffectiveTerms:
        """Terms in force for a target: owner default, then collection, then work."""
        with self._context.reading() as session:
            owner_id = self._target_owner(session, target_id)
            chain = [owner_id]
            match target_kind(target_id):
                case TargetKind.WORK:
                    work = session.get(WorkRow, target_id)
                    if work is not None and work.collection_id is not None:
                        chain.append(work.collection_id)
                    chain.append(target_id)
                case TargetKind.COLLECTION:
                    chain.append(target_id)
                case TargetKind.OWNER:
                    pass
            found = self._layers(session, dict.fromkeys(chain, owner_id))
            layers = tuple(layer for t in chain if (layer := found[t]) is not None)
        return EffectiveTerms(target_id, resolve_terms([layer.terms for layer in layers]), layers)
