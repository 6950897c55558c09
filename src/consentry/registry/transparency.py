"""``TransparencyLog``: the registry's events as an RFC 9162 log with signed checkpoints.

Every event's signed leaf is given its index in the transaction that records the event
(``registry._leaves``), so no event is ever outside the log. ``checkpoint`` signs the
current tree only after proving it consistent with the last checkpoint the log signed:
a log whose stored entries were rewritten or truncated refuses to sign rather than fork
its history.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import CursorResult, delete, select

from consentry.clock import utc_now
from consentry.crypto import PublicKey, Signer
from consentry.errors import (
    InputError,
    NotFoundError,
    StateConflictError,
    VerificationError,
    WitnessError,
)
from consentry.log.bundle import ProofBundle, UsageProof
from consentry.log.leaf import Commitment, Domain, Leaf
from consentry.log.note import (
    Checkpoint,
    NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
    signature_lines,
)
from consentry.log.proofs import MerkleTree, verify_consistency
from consentry.log.tree import leaf_hash
from consentry.registry._context import RegistryContext
from consentry.registry.ledger import state_problems
from consentry.registry.public_log import PublicLog
from consentry.registry.records import Actor, EventKind, PartyKind

if TYPE_CHECKING:
    from consentry.witness import WitnessEndpoint

from consentry.store.models import (
    EventRow,
    LicenseeRow,
    LogCheckpointRow,
    LogEntryRow,
    LogIdentityRow,
    LogManifestWorksRow,
    LogSaltRow,
    LogStateRow,
    WorkRow,
)

__all__ = ["SignedCheckpoint", "TransparencyLog", "Usage"]

_BATCH = 5_000
# Ids in one IN (...) list: well under SQLite's limit on a statement's parameters.
_IN_LIST = 1_000


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint and the signed note it came in (the log's signature, then any
    witnesses' cosignatures)."""

    checkpoint: Checkpoint
    note: str

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.checkpoint.origin,
            "size": self.checkpoint.size,
            "root": self.checkpoint.root.hex(),
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedCheckpoint:
        """The checkpoint the note carries (not verified: see ``open_checkpoint``);
        raises ``InputError`` when the other fields do not match it."""
        note = str(data["note"])
        checkpoint = Checkpoint.parse(_body(note))
        stated = (data.get("origin"), data.get("size"), data.get("root"))
        if stated != (checkpoint.origin, checkpoint.size, checkpoint.root.hex()):
            raise InputError("checkpoint record does not match the note it carries")
        return cls(checkpoint, note)


@dataclass(frozen=True, slots=True)
class Usage:
    """One manifest on the log that lists one of the owner's works: the work by id and
    title, the run and its licensee by id and name, and the manifest's line for the
    work as its licensee signed it (``items``, ``units``, ``unit``, ``amount``, ...)."""

    work_id: str
    run_id: str
    licensee_id: str
    log_index: int
    proof: UsageProof
    title: str = ""
    licensee_name: str = ""
    billed: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "work_id": self.work_id,
            "title": self.title,
            "run_id": self.run_id,
            "licensee_id": self.licensee_id,
            "licensee_name": self.licensee_name,
            "log_index": self.log_index,
            "billed": self.billed,
            "proof": self.proof.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Usage:
        billed = data.get("billed")
        return cls(
            work_id=str(data["work_id"]),
            run_id=str(data["run_id"]),
            licensee_id=str(data["licensee_id"]),
            log_index=int(data["log_index"]),
            proof=UsageProof.parse(str(data["proof"])),
            title=str(data.get("title", "")),
            licensee_name=str(data.get("licensee_name", "")),
            billed=dict(billed) if isinstance(billed, dict) else None,
        )


class TransparencyLog(PublicLog):
    """The log over the registry's events: sequence, checkpoint, prove, erase (who did
    what, for anyone: ``PublicLog``)."""

    def __init__(self, context: RegistryContext) -> None:
        self._context = context
        self._tree = MerkleTree()
        # The tree is shared by every thread using this registry (a service's): one
        # extends it at a time.
        self._tree_lock = threading.RLock()

    def size(self) -> int:
        with self._context.reading() as session:
            return session.scalars(select(LogStateRow.size).where(LogStateRow.id == 1)).one()

    def tree(self) -> MerkleTree:
        """The tree over every entry (kept in memory, extended as it grows)."""
        with self._tree_lock, self._context.reading() as session:
            for (digest,) in session.execute(
                select(LogEntryRow.leaf_hash)
                .where(LogEntryRow.idx >= self._tree.size)
                .order_by(LogEntryRow.idx)
                .execution_options(yield_per=10_000)
            ):
                self._tree.append(bytes(digest))
        return self._tree

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        """(index, leaf bytes) from ``start`` up to ``end``, in order."""
        with self._context.reading() as session:
            query = select(LogEntryRow.idx, LogEntryRow.data).where(LogEntryRow.idx >= start)
            if end is not None:
                query = query.where(LogEntryRow.idx < end)
            rows = session.execute(
                query.order_by(LogEntryRow.idx).execution_options(yield_per=10_000)
            )
            try:
                for idx, data in rows:
                    yield idx, bytes(data)
            finally:
                rows.close()

    # -- identity -----------------------------------------------------------------------

    def identity(self) -> NoteVerifier | None:
        """The log's origin and public key as recorded when it was made; ``None`` for a
        registry made before identities were recorded."""
        with self._context.reading() as session:
            row = session.get(LogIdentityRow, 1)
            if row is None:
                return None
            return NoteVerifier(row.origin, PublicKey.from_hex(row.public_key))

    def adopt_identity(self, verifier: NoteVerifier) -> NoteVerifier:
        """Record ``verifier`` as the log's identity unless one is recorded already;
        returns the recorded one. A second machine's ``init`` never replaces it."""
        recorded = self.identity()
        if recorded is not None:
            return recorded
        # Another machine's init may record one first (the one row's key refuses a
        # second): that one stands, and is read back below.
        with suppress(StateConflictError), self._context.transaction() as session:
            session.add(
                LogIdentityRow(
                    id=1,
                    origin=verifier.name,
                    public_key=verifier.public.hex,
                    created_at=utc_now(),
                )
            )
        recorded = self.identity()
        if recorded is None:
            raise StateConflictError("the log's identity could not be recorded; retry")
        return recorded

    # -- checkpoints --------------------------------------------------------------------

    def latest(self) -> SignedCheckpoint | None:
        with self._context.reading() as session:
            row = session.scalars(
                select(LogCheckpointRow).order_by(LogCheckpointRow.size.desc()).limit(1)
            ).first()
            if row is None:
                return None
            return SignedCheckpoint(Checkpoint.parse(_body(row.note)), row.note)

    def checkpoint(self, key: Signer, origin: str) -> SignedCheckpoint:
        """Sign the tree, unless it is what the last checkpoint already says. Raises
        ``VerificationError`` (and signs nothing) when the stored entries are not an
        extension of the last signed checkpoint."""
        with self._tree_lock:  # the size, root and proof of one tree, not of two
            tree = self.tree()
            size, root = tree.size, tree.root()
            last = self.latest()
            # Only a tree grown from a non-empty one has a proof of it; an empty tree, or
            # the same tree, is consistent with no proof at all.
            proof = (
                tree.consistency_proof(last.checkpoint.size, size)
                if last is not None and 0 < last.checkpoint.size < size
                else []
            )
        if last is not None:
            old = last.checkpoint
            if old.origin != origin:
                raise VerificationError(
                    f"the log signed checkpoints as {old.origin!r}, not {origin!r}; "
                    "use the log's own key"
                )
            if size < old.size:
                raise VerificationError(
                    f"the log holds {size} entries but signed a checkpoint of {old.size}: "
                    "entries were removed; refusing to sign"
                )
            try:
                # Every tree extends the empty one; the same size must be the same tree.
                if old.size == size and old.root != root:
                    raise VerificationError("its root is not the checkpoint's")
                if 0 < old.size < size:
                    verify_consistency(old.size, size, old.root, root, proof)
            except VerificationError as exc:
                raise VerificationError(
                    f"the log's entries no longer extend its checkpoint of size {old.size} "
                    f"({exc}); refusing to sign"
                ) from exc
            if size == old.size:
                return last
        checkpoint = Checkpoint(origin, size, root)
        note = sign_checkpoint(checkpoint, key)
        try:
            with self._context.transaction() as session:
                # The primary key on size is the compare-and-swap: a second signer of
                # the same size fails here instead of storing a rival checkpoint.
                session.add(LogCheckpointRow(size=size, root=root, note=note, created_at=utc_now()))
        except StateConflictError:
            # Signed at the same moment by another process: the same tree, so its
            # checkpoint is this one's answer (a different root would be a fork).
            with self._context.reading() as session:
                stored = session.get(LogCheckpointRow, size)
            if stored is None or bytes(stored.root) != root:
                raise VerificationError(
                    f"another checkpoint of size {size} was signed with a different root; "
                    "the log has forked: run 'consentry log verify'"
                ) from None
            return SignedCheckpoint(Checkpoint.parse(_body(stored.note)), stored.note)
        return SignedCheckpoint(checkpoint, note)

    def add_cosignatures(self, size: int, lines: Sequence[str]) -> SignedCheckpoint:
        """Keep witnesses' cosignature lines with the checkpoint of ``size``."""
        with self._context.transaction() as session:
            row = session.get(LogCheckpointRow, size)
            if row is None:
                raise NotFoundError(f"the log signed no checkpoint of size {size}")
            present = set(row.note.rstrip("\n").split("\n"))
            added = [line.rstrip("\n") for line in lines if line.rstrip("\n") not in present]
            if added:
                row.note = row.note + "".join(line + "\n" for line in added)
            return SignedCheckpoint(Checkpoint.parse(_body(row.note)), row.note)

    def witness(
        self, signed: SignedCheckpoint, witnesses: Sequence[WitnessEndpoint]
    ) -> tuple[SignedCheckpoint, dict[str, str]]:
        """Ask each witness to cosign ``signed`` (proving consistency from whatever it
        saw last) and keep the cosignatures; returns the checkpoint with them and, for
        each witness that did not cosign, why."""
        # The HTTP client loads only for a log that asks witnesses.
        from consentry.witness import request_cosignature  # noqa: PLC0415

        tree = self.tree()
        size = signed.checkpoint.size
        refused: dict[str, str] = {}
        for endpoint in witnesses:
            try:
                lines = request_cosignature(
                    endpoint,
                    signed.note,
                    signed.checkpoint,
                    lambda old: tree.consistency_proof(old, size),
                )
            except (WitnessError, VerificationError) as exc:
                refused[endpoint.key.name] = str(exc)
                continue
            signed = self.add_cosignatures(size, lines)
        return signed, refused

    def events_since(
        self, size: int, kinds: Sequence[EventKind]
    ) -> list[tuple[EventKind, str, str]]:
        """(kind, actor id, subject id) of each event of ``kinds`` at log index
        ``size`` or later, in log order: what changed since a checkpoint of ``size``."""
        with self._context.reading() as session:
            rows = session.execute(
                select(EventRow.kind, EventRow.actor_id, EventRow.subject_id)
                .join(LogEntryRow, LogEntryRow.event_seq == EventRow.seq)
                .where(LogEntryRow.idx >= size, EventRow.kind.in_(list(kinds)))
                .order_by(LogEntryRow.idx)
            )
            return [(EventKind(k), str(a), str(s)) for k, a, s in rows]

    # -- proofs -------------------------------------------------------------------------

    def prove(self, index: int, signed: SignedCheckpoint) -> ProofBundle:
        """A tlog-proof for entry ``index`` against ``signed``, the leaf as extra data."""
        tree = self.tree()
        size = signed.checkpoint.size
        if not 0 <= index < size:
            raise NotFoundError(f"log entry {index} is not in the checkpoint of size {size}")
        (_, entry), *_ = list(self.entries(index, index + 1))
        return ProofBundle(index, tuple(tree.inclusion_proof(index, size)), signed.note, entry)

    def index_of_event(self, event_seq: int) -> int:
        with self._context.reading() as session:
            idx = session.scalars(
                select(LogEntryRow.idx).where(LogEntryRow.event_seq == event_seq)
            ).first()
        if idx is None:
            raise NotFoundError(
                f"event {event_seq} is not on the log yet; run 'consentry log checkpoint'"
            )
        return idx

    def usage(self, owner: Actor, signed: SignedCheckpoint) -> list[Usage]:
        """Every manifest in ``signed``'s tree that lists one of the owner's works,
        with the proofs that it does. Only the owner asks: the salts that tie a
        manifest to its works are the owner's to reveal (guarantee 7)."""
        owner_id = owner.party_id
        with self._context.reading() as session:
            self._context.require(
                session, owner, PartyKind.OWNER, to="see where their works were used"
            )
            manifests = session.execute(
                select(EventRow, LogEntryRow.idx, LogManifestWorksRow.commitments)
                .join(LogEntryRow, LogEntryRow.event_seq == EventRow.seq)
                .join(LogManifestWorksRow, LogManifestWorksRow.event_seq == EventRow.seq)
                .where(LogEntryRow.idx < signed.checkpoint.size)
                .order_by(LogEntryRow.idx)
            ).all()
            if not manifests:
                return []
            bodies = [self._context.verified_body(session, "event", m[0]) for m in manifests]
            # Only the works the manifests list are looked up, and only their ids and
            # salts are read: an owner of 10,000 works used in one run reads one salt.
            wanted = sorted(
                {str(w["work_id"]) for body in bodies for w in body["payload"]["manifest"]["works"]}
            )
            works: set[str] = set()
            salts: dict[str, bytes] = {}
            for first in range(0, len(wanted), _IN_LIST):
                chunk = wanted[first : first + _IN_LIST]
                owned = select(WorkRow.id).where(
                    WorkRow.owner_id == owner_id, WorkRow.id.in_(chunk)
                )
                works.update(str(w) for w in session.scalars(owned))
                for name, salt in session.execute(
                    select(LogSaltRow.name, LogSaltRow.salt).where(
                        LogSaltRow.party_id == owner_id,
                        LogSaltRow.name.in_([f"{Domain.WORK}:{w}" for w in chunk]),
                    )
                ):
                    salts[str(name).split(":", 1)[1]] = bytes(salt)
            licensees = {str(body["actor"]) for body in bodies}
            names = {
                str(licensee_id): str(name)
                for licensee_id, name in session.execute(
                    select(LicenseeRow.id, LicenseeRow.name).where(LicenseeRow.id.in_(licensees))
                )
            }
        found = []
        for body, (_, idx, packed) in zip(bodies, manifests, strict=True):
            lines = {str(w["work_id"]): w for w in body["payload"]["manifest"]["works"]}
            listed = set(lines)
            commitments = [bytes(packed[i : i + 32]) for i in range(0, len(packed), 32)]
            tree = MerkleTree([leaf_hash(c) for c in commitments])
            for work_id in sorted(listed & works):
                if work_id not in salts:
                    continue  # erased: the work can no longer be tied to the manifest
                proof = _work_proof(work_id, salts[work_id], commitments, tree)
                found.append(
                    Usage(
                        work_id,
                        str(body["subject"]),
                        str(body["actor"]),
                        idx,
                        UsageProof(
                            work_id, salts[work_id], *proof, log_proof=self.prove(idx, signed)
                        ),
                        title=str(lines[work_id].get("title") or ""),
                        licensee_name=names.get(str(body["actor"]), ""),
                        billed=dict(lines[work_id]),
                    )
                )
        return found

    # -- erasure and audit --------------------------------------------------------------

    def erase(self, party_id: str) -> int:
        """Delete the salts protecting ``party_id``'s data; returns how many. The log is
        untouched: its commitments stay, and can no longer be opened."""
        with self._context.transaction() as session:
            erased: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                delete(LogSaltRow).where(LogSaltRow.party_id == party_id)
            )
            return int(erased.rowcount)

    def audit(self, log: NoteVerifier) -> dict[str, Any]:
        """Check the whole log as stored: each entry's hash, that each is a leaf signed
        by its event's actor, every signed checkpoint against the tree, that every event
        is on the log, and that every state row is what the events establish. Returns
        counts; raises ``VerificationError`` naming the first entry or checkpoint that
        disagrees, or the rows that do."""
        tree = MerkleTree()
        with self._context.reading() as session:
            rows = session.execute(
                select(LogEntryRow, EventRow.actor_id, EventRow.kind)
                .join(EventRow, EventRow.seq == LogEntryRow.event_seq)
                .order_by(LogEntryRow.idx)
                .execution_options(yield_per=10_000)
            )
            keys: dict[str, Any] = {}
            try:
                for entry, actor_id, kind in rows:
                    if entry.idx != tree.size:
                        raise VerificationError(f"log entry {tree.size} is missing")
                    data = bytes(entry.data)
                    if leaf_hash(data) != bytes(entry.leaf_hash):
                        raise VerificationError(
                            f"log entry {entry.idx} does not hash to its record"
                        )
                    try:
                        leaf = Leaf.parse(data)
                    except VerificationError as exc:
                        raise VerificationError(f"log entry {entry.idx}: {exc}") from exc
                    if leaf.event != kind:
                        raise VerificationError(f"log entry {entry.idx} is not its event's leaf")
                    if actor_id not in keys:
                        keys[actor_id] = self._context.party_key(
                            session, actor_id, PartyKind.of(actor_id)
                        )
                    try:
                        leaf.verify(keys[actor_id])
                    except VerificationError as exc:
                        raise VerificationError(
                            f"log entry {entry.idx} ({kind} by {actor_id}) is not signed by "
                            f"its actor's key ({exc})"
                        ) from exc
                    tree.append(leaf_hash(data))
            finally:
                rows.close()  # a server-side cursor left open after a failure
            checkpoints = session.scalars(
                select(LogCheckpointRow).order_by(LogCheckpointRow.size)
            ).all()
            for row in checkpoints:
                checkpoint = open_checkpoint(row.note, log)
                if checkpoint.size > tree.size or tree.root(checkpoint.size) != checkpoint.root:
                    raise VerificationError(
                        f"the checkpoint of size {checkpoint.size} does not match the entries"
                    )
            # Every event is a leaf once its transaction commits: one that is not never
            # reached the log.
            outside = session.scalars(
                select(EventRow.seq)
                .outerjoin(LogEntryRow, LogEntryRow.event_seq == EventRow.seq)
                .where(LogEntryRow.idx.is_(None))
                .order_by(EventRow.seq)
                .limit(20)
            ).all()
            if outside:
                raise VerificationError(
                    f"event {outside[0]} is not on the log: the record of consent lost it "
                    f"({len(outside)} such event(s) at least)"
                )
            problems = state_problems(self._context, session)
        if problems:
            shown = "; ".join(problems[:10])
            more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
            raise VerificationError(
                f"the registry's state disagrees with its signed events, and decisions "
                f"follow the events: {shown}{more}"
            )
        return {"entries": tree.size, "checkpoints": len(checkpoints)}


def _body(note: str) -> str:
    text, _ = signature_lines(note)
    return text


def _work_proof(
    work_id: str, salt: bytes, commitments: list[bytes], tree: MerkleTree
) -> tuple[int, tuple[bytes, ...]]:
    digest = Commitment(Domain.WORK, salt, work_id).digest
    position = commitments.index(digest)
    return position, tuple(tree.inclusion_proof(position, tree.size))
