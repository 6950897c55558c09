"""Works: fingerprints and metadata registered under an owner's signature.

The content never reaches the registry: only its fingerprints, size, media type, path
and title. Registering the same content twice is a no-op; content another owner
registered first opens a dispute instead of a second claim.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consentry.clock import format_time, utc_now
from consentry.crypto import Signer
from consentry.errors import (
    InputError,
    NotFoundError,
    StateConflictError,
    VerificationError,
)
from consentry.ids import IdKind, new_id
from consentry.registry._context import RegistryContext
from consentry.registry._leaves import bulk_events
from consentry.registry._work_rows import BulkWorks, check_fields
from consentry.registry.holdings import Holdings
from consentry.registry.records import (
    Collection,
    EventKind,
    PartyKind,
    Registration,
    RegistrationStatus,
    Work,
)
from consentry.registry.work_signals import WorkSignals
from consentry.store.bulk import refresh_statistics
from consentry.store.models import CollectionRow, DisputeRow, FingerprintRow, OwnerRow, WorkRow

if TYPE_CHECKING:
    from consentry.fingerprint import ContentFingerprint
    from consentry.index import IndexedWork, MatchIndex

__all__ = ["SEGMENT_WORKS", "FileFingerprint", "Works", "fingerprint_commitment"]

_BATCH = 500
# Works per index segment built from the registry: what one segment's records cost in
# memory while it is built (a few kilobytes a work), and what compaction merges up to.
SEGMENT_WORKS = 100_000
# A batch that lost a race for some of its content is run again, reading the winners'
# works; each loss means another registration committed, so a few attempts suffice.
_ATTEMPTS = 8
# The unique indexes that hold one owner per content and one work per owner's content,
# as PostgreSQL names them and as SQLite reports them.
_CLAIMS = frozenset({"uq_works_content", "uq_works_owner_id"})
_SQLITE_CLAIMS = frozenset(
    {
        "UNIQUE constraint failed: works.content",
        "UNIQUE constraint failed: works.owner_id, works.digest",
    }
)
# The PostgreSQL advisory lock space of registrations' claims on contents ("cons").
_CLAIM_LOCKS = 0x636F6E73
# The exact digest of content that normalises to nothing (SHA-256 of no bytes): no
# work may hold it, and works registered with it before that rule are never indexed.
_NOTHING = hashlib.sha256(b"").hexdigest()
# The tables a registration fills, whose statistics it keeps fresh (``refresh_statistics``).
_LOADED = ("works", "fingerprints", "events", "log_entries", "log_salts")


@dataclass(frozen=True, slots=True)
class FileFingerprint:
    """A file's path (relative, as the creator named it) and its fingerprints."""

    path: str
    fingerprint: ContentFingerprint

    def to_json(self) -> dict[str, Any]:
        """How a file goes to a served registry: its path and fingerprints, no content."""
        return {"path": self.path, "fingerprint": self.fingerprint.to_json()}

    @classmethod
    def from_json(cls, data: object, *, what: str = "file") -> FileFingerprint:
        """The file ``to_json`` wrote, its fields' types checked and bytes decoded.
        Raises ``InputError`` naming ``what`` and the field."""
        # The kernels load only for what reads fingerprints.
        from consentry.fingerprint import ContentFingerprint  # noqa: PLC0415

        if not isinstance(data, dict) or set(data) != {"path", "fingerprint"}:
            raise InputError(f"{what} must be a JSON object of path and fingerprint")
        if not isinstance(data["path"], str):
            raise InputError(f"{what}.path must be a string")
        fingerprint = ContentFingerprint.from_json(data["fingerprint"], what=f"{what}.fingerprint")
        return cls(data["path"], fingerprint)


def _fingerprint_parts(fingerprint: ContentFingerprint) -> list[tuple[str, bytes, int | None]]:
    parts: list[tuple[str, bytes, int | None]] = []
    if fingerprint.minhash:
        parts.append(("minhash", fingerprint.minhash, None))
    if fingerprint.excerpts:
        parts.append(("excerpts", fingerprint.excerpts, None))
    if fingerprint.pdq is not None:
        parts.append(("pdq", fingerprint.pdq, fingerprint.pdq_quality))
    if fingerprint.crop_segments:
        parts.append(("crop", fingerprint.crop_segments, None))
    if fingerprint.text_view is not None:
        view = fingerprint.text_view
        parts.append(("text-digest", bytes.fromhex(view.digest), None))
        if view.minhash:
            parts.append(("text-minhash", view.minhash, None))
        if view.excerpts:
            parts.append(("text-excerpts", view.excerpts, None))
    return parts


def fingerprint_commitment(parts: Iterable[tuple[str, bytes]]) -> str:
    """SHA-256 over every stored fingerprint, so the owner's signature covers them."""
    digest = hashlib.sha256()
    for kind, value in sorted(parts):
        digest.update(kind.encode() + b"\0" + len(value).to_bytes(8, "big") + value)
    return digest.hexdigest()


def _work(row: WorkRow) -> Work:
    return Work(
        id=row.id,
        owner_id=row.owner_id,
        collection_id=row.collection_id,
        digest=row.digest,
        kind=row.kind,
        media_type=row.media_type,
        path=row.path,
        title=row.title,
        size=row.size,
        spdx=row.spdx,
        created_at=row.created_at,
    )


def _lost_race(exc: StateConflictError) -> bool:
    """Whether a batch failed only because another registration of some of its content
    committed first: a second claim on a content (or on an owner's own content) refused
    by its unique index."""
    cause = exc.__cause__
    if not isinstance(cause, IntegrityError):
        return False
    constraint = getattr(getattr(cause.orig, "diag", None), "constraint_name", None)
    if constraint is not None:
        return constraint in _CLAIMS
    return str(cause.orig) in _SQLITE_CLAIMS


def _wait_for_claims(session: Session, digests: Set[str]) -> None:
    """On PostgreSQL, wait for every other registration of these contents to commit.

    Two batches claiming the same contents in different orders would each wait on the
    other's uncommitted works (a deadlock, stopped after a second, and again on every
    retry). Locks taken in one order, before the batch reads which contents are
    registered, queue them instead, and the second then reads the first's works. The
    lock is advisory, held to the commit; the unique index is what enforces the rule.
    SQLite has one writer at a time, and a batch that lost the race is run again.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted(
        {
            int.from_bytes(hashlib.sha256(d.encode()).digest()[:4], "big", signed=True)
            for d in digests
        }
    )
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(:space, key) "
            "FROM (SELECT unnest(CAST(:keys AS integer[])) AS key ORDER BY 1) AS claims"
        ),
        {"space": _CLAIM_LOCKS, "keys": keys},
    )


def _batches(items: Iterable[FileFingerprint], size: int) -> Iterator[list[FileFingerprint]]:
    batch: list[FileFingerprint] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Works(Holdings):
    """Registering works and collections, and reading them back verified (an owner's
    counts: ``Holdings``)."""

    def __init__(self, context: RegistryContext) -> None:
        self._context = context

    @property
    def signals(self) -> WorkSignals:
        """The signals found on works when their owners registered them from a site."""
        return WorkSignals(self._context)

    def collection(self, owner_id: str, name: str, signer: Signer) -> Collection:
        """The owner's collection called ``name``, created on first use."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InputError("a collection name must be 1 to 200 characters")
        with self._context.transaction() as session:
            self._context.require_actor(session, owner_id, PartyKind.OWNER, signer.public)
            return self._collection(session, owner_id, name, signer)

    def _collection(self, session: Session, owner_id: str, name: str, signer: Signer) -> Collection:
        row = session.scalar(
            select(CollectionRow).where(
                CollectionRow.owner_id == owner_id, CollectionRow.name == name
            )
        )
        if row is None:
            row = CollectionRow(
                id=new_id(IdKind.COLLECTION), owner_id=owner_id, name=name, created_at=utc_now()
            )
            session.add(row)
            session.flush()
            self._context.append_event(
                session,
                kind=EventKind.COLLECTION_CREATED,
                actor_id=owner_id,
                subject_id=row.id,
                signer=signer,
                payload={"id": row.id, "owner": owner_id, "name": name},
            )
        return Collection(row.id, row.owner_id, row.name)

    def find_collection(self, owner_id: str, reference: str) -> Collection:
        """A collection by id, or by name among ``owner_id``'s collections."""
        with self._context.reading() as session:
            row = session.get(CollectionRow, reference) or session.scalar(
                select(CollectionRow).where(
                    CollectionRow.owner_id == owner_id, CollectionRow.name == reference
                )
            )
            if row is None:
                raise NotFoundError(f"no collection {reference!r} for owner {owner_id}")
            return Collection(row.id, row.owner_id, row.name)

    def register(
        self,
        owner_id: str,
        signer: Signer,
        files: Iterable[FileFingerprint],
        *,
        collection: str | None = None,
    ) -> Iterator[Registration]:
        """Register fingerprinted files under ``owner_id``, one transaction per batch.

        Yields one ``Registration`` per file, in order, as each batch commits, so an
        interrupted run keeps what it registered and a rerun reports those as existing.
        On PostgreSQL a batch's rows go in with ``COPY``, on SQLite row by row: the same
        rows either way. Raises ``InputError`` for a file that cannot be registered
        (content that normalises to nothing, a field too wide), nothing of its batch
        written.
        """
        with self._context.transaction() as session:
            self._context.require_actor(session, owner_id, PartyKind.OWNER, signer.public)
            collection_id = (
                self._collection(session, owner_id, collection, signer).id if collection else None
            )
        for batch in _batches(files, _BATCH):
            done = self._register_racing(owner_id, signer, collection_id, batch)
            with self._context.transaction() as session:
                # Each batch's lookup of its digests stays on the index as tables grow.
                refresh_statistics(session, _LOADED)
            yield from done

    def _register_racing(
        self,
        owner_id: str,
        signer: Signer,
        collection_id: str | None,
        batch: Sequence[FileFingerprint],
    ) -> list[Registration]:
        """One batch in one transaction, run again when another registration of some of
        its content committed first: the database refuses the second claim (one owner
        per content), and the batch read again finds that work, so the file is the
        dispute (or, for the same owner, the existing work) it would have been had the
        two come one after the other, and the rest of the batch registers as usual."""
        attempt = 1
        while True:
            try:
                with self._context.transaction() as session:
                    return self._register_batch(session, owner_id, signer, collection_id, batch)
            except StateConflictError as exc:
                if attempt == _ATTEMPTS or not _lost_race(exc):
                    raise
                attempt += 1

    def _register_batch(
        self,
        session: Session,
        owner_id: str,
        signer: Signer,
        collection_id: str | None,
        batch: Sequence[FileFingerprint],
    ) -> list[Registration]:
        for item in batch:
            if item.fingerprint.digest == _NOTHING and item.fingerprint.kind != "image":
                raise InputError(
                    f"{item.path} normalises to nothing (empty, blank or only comments); "
                    "nothing is a copy of nothing, so it cannot be registered"
                )
            check_fields(item)
        digests = {item.fingerprint.digest for item in batch}
        _wait_for_claims(session, digests)
        # PostgreSQL takes the batch's new works, fingerprints and events in one COPY
        # each; SQLite gets them row by row (see ``_work_rows``).
        bulk = BulkWorks() if bulk_events(session) else None
        known: dict[str, list[WorkRow]] = {}
        for row in session.scalars(select(WorkRow).where(WorkRow.digest.in_(digests))):
            known.setdefault(row.digest, []).append(row)
        results: list[Registration] = []
        for item in batch:
            rows = known.get(item.fingerprint.digest, [])
            mine = next((r for r in rows if r.owner_id == owner_id), None)
            if mine is not None:
                results.append(Registration(RegistrationStatus.EXISTING, item.path, _work(mine)))
                continue
            if rows:
                # The work that holds the content; two may share it from before the
                # database enforced one owner per content (see revision 0004).
                holder = next((r for r in rows if r.content is not None), rows[0])
                results.append(self._dispute(session, owner_id, signer, item, holder))
                continue
            row = self._insert(session, owner_id, signer, collection_id, item, bulk)
            known[row.digest] = [row]
            results.append(Registration(RegistrationStatus.REGISTERED, item.path, _work(row)))
        if bulk is not None:
            bulk.write(session)
        return results

    def _insert(
        self,
        session: Session,
        owner_id: str,
        signer: Signer,
        collection_id: str | None,
        item: FileFingerprint,
        bulk: BulkWorks | None = None,
    ) -> WorkRow:
        fingerprint = item.fingerprint
        parts = _fingerprint_parts(fingerprint)
        now = utc_now()
        work_id = new_id(IdKind.WORK)
        body: dict[str, Any] = {
            "type": "consentry.work",
            "version": 1,
            "id": work_id,
            "owner": owner_id,
            "collection": collection_id,
            "digest": fingerprint.digest,
            "kind": fingerprint.kind.value,
            "media_type": fingerprint.media_type,
            "path": item.path,
            "title": fingerprint.title,
            "size": fingerprint.size,
            "spdx": fingerprint.spdx,
            "fingerprints": {
                "params": fingerprint.params_version,
                "commitment": fingerprint_commitment((k, v) for k, v, _ in parts),
            },
            "registered_at": format_time(now),
        }
        row = WorkRow(
            id=work_id,
            owner_id=owner_id,
            collection_id=collection_id,
            digest=fingerprint.digest,
            content=fingerprint.digest,
            kind=fingerprint.kind.value,
            media_type=fingerprint.media_type,
            path=item.path,
            title=fingerprint.title,
            size=fingerprint.size,
            spdx=fingerprint.spdx,
            created_at=now,
        )
        self._context.add_signed(
            session,
            row,
            document="work",
            body=body,
            signer=signer,
            event=EventKind.WORK_REGISTERED,
            actor_id=owner_id,
            subject_id=work_id,
            add=bulk is None,
        )
        printed = [
            {
                "work_id": work_id,
                "kind": kind,
                "params_version": fingerprint.params_version,
                "value": value,
                "quality": quality,
            }
            for kind, value, quality in parts
        ]
        if bulk is None:
            session.add_all(FingerprintRow(**fields) for fields in printed)
        else:
            bulk.add(row, printed)
        return row

    def _dispute(
        self,
        session: Session,
        claimant_id: str,
        signer: Signer,
        item: FileFingerprint,
        existing: WorkRow,
    ) -> Registration:
        dispute = DisputeRow(
            id=new_id(IdKind.DISPUTE),
            work_id=existing.id,
            claimant_id=claimant_id,
            path=item.path,
            digest=item.fingerprint.digest,
            created_at=utc_now(),
        )
        session.add(dispute)
        session.flush()
        self._context.append_event(
            session,
            kind=EventKind.DISPUTE_OPENED,
            actor_id=claimant_id,
            subject_id=existing.id,
            signer=signer,
            payload={"dispute": dispute.id, "work": existing.id, "digest": dispute.digest},
        )
        return Registration(RegistrationStatus.DISPUTED, item.path, _work(existing), dispute.id)

    def get(self, work_id: str) -> Work:
        """A work, its owner's signature verified."""
        with self._context.reading() as session:
            row = session.get(WorkRow, work_id)
            if row is None:
                raise NotFoundError(f"no work {work_id!r}; list works with 'consentry work list'")
            self._verify(session, row)
            return _work(row)

    def owners(self, work_ids: Sequence[str]) -> dict[str, str]:
        """Work id to owner id, for the works of ``work_ids`` that exist (one query per
        thousand; no signatures checked: for works already found in a verified index)."""
        found: dict[str, str] = {}
        with self._context.reading() as session:
            for first in range(0, len(work_ids), 1000):
                rows = session.execute(
                    select(WorkRow.id, WorkRow.owner_id).where(
                        WorkRow.id.in_(work_ids[first : first + 1000])
                    )
                )
                found.update({str(w): str(o) for w, o in rows})
        return found

    def many(self, work_ids: Sequence[str]) -> list[Work]:
        """The works of ``work_ids`` that exist, each owner's signature verified, read
        in one session (one query per thousand)."""
        found, refused = self.many_checked(work_ids)
        if refused:
            raise VerificationError(next(iter(refused.values())))
        return found

    def many_checked(self, work_ids: Sequence[str]) -> tuple[list[Work], dict[str, str]]:
        """``many``, a work that fails verification set aside with why (by id), so that
        one row changed behind the services' back stops only what depends on it."""
        found: list[Work] = []
        refused: dict[str, str] = {}
        with self._context.reading() as session:
            for first in range(0, len(work_ids), 1000):
                rows = session.scalars(
                    select(WorkRow).where(WorkRow.id.in_(work_ids[first : first + 1000]))
                ).all()
                parts = self._parts(session, [row.id for row in rows])
                owners = {row.owner_id for row in rows}
                self._context.load_party_keys(session, owners, PartyKind.OWNER)
                for row in rows:
                    try:
                        self._verify(session, row, parts[row.id])
                    except VerificationError as exc:
                        why = str(exc)
                        refused[row.id] = why if row.id in why else f"work {row.id}: {why}"
                        continue
                    found.append(_work(row))
        return found, refused

    @staticmethod
    def _parts(session: Session, work_ids: list[str]) -> dict[str, list[tuple[str, bytes]]]:
        """Each work's fingerprints, (kind, value), in one query."""
        parts: dict[str, list[tuple[str, bytes]]] = {work_id: [] for work_id in work_ids}
        for work_id, kind, value in session.execute(
            select(FingerprintRow.work_id, FingerprintRow.kind, FingerprintRow.value).where(
                FingerprintRow.work_id.in_(work_ids)
            )
        ):
            parts[str(work_id)].append((str(kind), bytes(value)))
        return parts

    def _verify(
        self, session: Session, row: WorkRow, parts: list[tuple[str, bytes]] | None = None
    ) -> None:
        """Raise unless the row and its fingerprints (``parts``: (kind, value), read here
        when not given) are what its owner signed."""
        signer = self._context.party_key(session, row.owner_id, PartyKind.OWNER)
        body = self._context.verified_body(session, "work", row, signer=signer)
        fields = (row.id, row.owner_id, row.digest, row.path, row.collection_id)
        signed = (body["id"], body["owner"], body["digest"], body["path"], body["collection"])
        if fields != signed:
            raise VerificationError(
                f"work {row.id} row differs from what its owner signed: expected {signed}, "
                f"found {fields}"
            )
        if parts is None:
            parts = self._parts(session, [row.id])[row.id]
        if body["fingerprints"]["commitment"] != fingerprint_commitment(parts):
            raise VerificationError(
                f"fingerprints of work {row.id} differ from those its owner signed; "
                "re-register the work"
            )

    def all(
        self, *, owner_id: str | None = None, limit: int | None = None, after: str | None = None
    ) -> list[Work]:
        """Works in the order they were registered; ``after``: only those after that
        work (one page of a long list is read, not the list)."""
        with self._context.reading() as session:
            query = select(WorkRow).order_by(WorkRow.created_at, WorkRow.id)
            if owner_id is not None:
                query = query.where(WorkRow.owner_id == owner_id)
            if after is not None:
                anchor = session.get(WorkRow, after)
                if anchor is None:
                    raise InputError(f"no work {after!r} to list after; start from the first")
                query = query.where(
                    tuple_(WorkRow.created_at, WorkRow.id) > tuple_(anchor.created_at, anchor.id)
                )
            if limit is not None:
                query = query.limit(limit)
            return [_work(row) for row in session.scalars(query)]

    def index_records(
        self,
        *,
        exclude: set[str] | frozenset[str] = frozenset(),
        only: Sequence[str] | None = None,
        batch: int = 1000,
    ) -> Iterator[IndexedWork]:
        """Every work's fingerprints as the match index takes them, skipping ``exclude``.

        Streams in batches, so building an index over a large registry holds one batch
        of fingerprints at a time. Each work's signature and fingerprint commitment are
        checked: a fingerprint changed in the database is refused, not indexed.
        ``only``: just these works (those that exist). A work whose content
        normalises to nothing (registered before that was refused) is left out: it
        would be "copied" by every empty or comment-only item.
        """
        if only is not None:
            for first in range(0, len(only), batch):
                yield from self._records(list(only[first : first + batch]), exclude)
            return
        last = ""
        while True:
            with self._context.reading() as session:
                query = select(WorkRow.id).where(WorkRow.id > last).order_by(WorkRow.id)
                ids = list(session.scalars(query.limit(batch)))
            if not ids:
                return
            last = ids[-1]
            yield from self._records(ids, exclude)

    def _records(self, work_ids: list[str], exclude: Set[str]) -> list[IndexedWork]:
        with self._context.reading() as session:
            rows = session.scalars(
                select(WorkRow)
                .where(WorkRow.id.in_([w for w in work_ids if w not in exclude]))
                # Works that own content: not those registered empty, nor the later of
                # two owners' works of one content left by a race before it was refused.
                .where(WorkRow.content.is_not(None))
                .where((WorkRow.digest != _NOTHING) | (WorkRow.kind == "image"))
                .order_by(WorkRow.id)
            ).all()
            parts: dict[str, dict[str, FingerprintRow]] = {row.id: {} for row in rows}
            for part in session.scalars(
                select(FingerprintRow).where(FingerprintRow.work_id.in_(list(parts)))
            ):
                parts[part.work_id][part.kind] = part
            return [self._index_record(session, row, parts[row.id]) for row in rows]

    def _index_record(
        self, session: Session, row: WorkRow, parts: dict[str, FingerprintRow]
    ) -> IndexedWork:
        """The work as the index takes it. A work whose record or fingerprints fail
        verification is indexed all the same: its matches are refused where consent is
        read (``many_checked``), so the items that copy it are rejected naming it, and
        every other item is decided as before. Left out, its copies would pass as
        unregistered."""
        # The index (and its kernels) loads only for what reads records for it.
        from consentry.index import IndexedWork  # noqa: PLC0415

        pdq = parts.get("pdq")
        text_digest = parts.get("text-digest")
        return IndexedWork(
            work_id=row.id,
            owner_id=row.owner_id,
            kind=row.kind,
            digest=row.digest,
            minhash=parts["minhash"].value if "minhash" in parts else b"",
            excerpts=parts["excerpts"].value if "excerpts" in parts else b"",
            pdq=pdq.value if pdq is not None else None,
            keypoints=parts["crop"].value if "crop" in parts else b"",
            text_digest=text_digest.value.hex() if text_digest is not None else None,
            text_minhash=parts["text-minhash"].value if "text-minhash" in parts else b"",
            text_excerpts=parts["text-excerpts"].value if "text-excerpts" in parts else b"",
        )

    def refresh_index(self, index: MatchIndex, *, segment_works: int = SEGMENT_WORKS) -> int:
        """Add the works ``index`` does not hold yet, as new segments of at most
        ``segment_works`` works each; returns how many were added. The records are
        read a batch at a time, so memory holds one segment's records, not the
        registry's (the index answers the same however its works are split)."""
        added = 0
        batch: list[IndexedWork] = []
        for record in self.index_records(exclude=index.work_ids()):
            batch.append(record)
            if len(batch) == segment_works:
                added += index.add(batch)
                batch = []
        return added + index.add(batch)

    def disputes(self, work_id: str) -> list[tuple[str, str]]:
        """(dispute id, claimant owner id) for each dispute over ``work_id``."""
        with self._context.reading() as session:
            rows = session.scalars(select(DisputeRow).where(DisputeRow.work_id == work_id))
            return [(row.id, row.claimant_id) for row in rows]

    def search(
        self,
        *,
        text: str = "",
        kind: str | None = None,
        owner_id: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> list[Work]:
        """Works whose title, path or owner's name contains ``text`` (any case), of
        ``kind`` and ``owner_id`` when given, in the order they were registered, as
        ``all`` lists them (their metadata is public); ``after``: the page after that
        work."""
        with self._context.reading() as session:
            query = (
                select(WorkRow)
                .join(OwnerRow, OwnerRow.id == WorkRow.owner_id)
                .order_by(WorkRow.created_at, WorkRow.id)
                .limit(limit)
            )
            if text:
                query = query.where(
                    WorkRow.title.icontains(text, autoescape=True)
                    | WorkRow.path.icontains(text, autoescape=True)
                    | OwnerRow.name.icontains(text, autoescape=True)
                )
            if kind is not None:
                query = query.where(WorkRow.kind == kind)
            if owner_id is not None:
                query = query.where(WorkRow.owner_id == owner_id)
            if after is not None:
                anchor = session.get(WorkRow, after)
                if anchor is None:
                    raise InputError(f"no work {after!r} to list after; start from the first")
                query = query.where(
                    tuple_(WorkRow.created_at, WorkRow.id) > tuple_(anchor.created_at, anchor.id)
                )
            return [_work(row) for row in session.scalars(query)]
