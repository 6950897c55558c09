"""What anyone may read of the registry, as the public pages show it: the log's entries
in words, a checkpoint's cosigners, any proof file consentry writes checked offline, and
a training run's certificate.

Nothing here needs a party's key. Where an entry or a run is attributed to a party, it
is because that party's registered key signed it: each leaf, event and manifest is
verified before it is shown as anyone's. Only the events the registry publishes anyway
(parties, works, terms) are named; the rest of the log says only what its leaves say.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from consentry.app.log import verify_proof, verify_usage_proof
from consentry.app.workspace import Workspace
from consentry.clock import parse_time
from consentry.crypto import PublicKey, SignedEnvelope, canonical_json, verify_document
from consentry.errors import InputError, NotFoundError, VerificationError
from consentry.ids import IdKind, kind_of
from consentry.log import NoteVerifier, WitnessPolicy, cosignatures
from consentry.log.leaf import Leaf
from consentry.log.note import Checkpoint, signature_lines
from consentry.registry import EventKind, PartyKind
from consentry.registry.public_log import PUBLIC_EVENTS
from consentry.registry.transparency import SignedCheckpoint
from consentry.witness import WitnessEndpoint

__all__ = [
    "PUBLIC_EVENTS",
    "Cosigner",
    "LogPage",
    "PublicEntry",
    "RunCertificate",
    "RunEvent",
    "VerifiedProof",
    "checkpoint_cosigners",
    "log_page",
    "public_entries",
    "public_entry",
    "run_certificate",
    "verify_any_proof",
]


@dataclass(frozen=True, slots=True)
class PublicEntry:
    """One log entry as anyone may read it: its index, its event's kind and moment, a
    manifest's count of works, and, for a public event whose leaf its actor's key
    signed, who acted (``actor_*``) on what (``subject_*``). ``problem``: why an entry
    is not attributed to anyone (its leaf does not parse, or its signature is not the
    actor's)."""

    index: int
    event: str
    at: datetime | None
    works: int | None = None
    actor_id: str | None = None
    actor_name: str | None = None
    subject_id: str | None = None
    subject_name: str | None = None
    problem: str | None = None


def public_entries(ws: Workspace, start: int, end: int) -> list[PublicEntry]:
    """Log entries ``start`` up to ``end`` (not included), newest first, each as
    ``PublicEntry`` says: a public event is named only once its recorded event and its
    leaf verify against the actor's registered key, so no one is shown doing what their
    key did not sign."""

    if end <= start:
        return []
    events, refused = ws.registry.log.public_events(start, end)
    about = {i: (e.actor_id, e.subject_id) for i, e in events.items()}
    leaves: list[tuple[int, Leaf | None, str | None]] = []
    for index, data in ws.registry.log.entries(start, end):
        try:
            leaves.append((index, Leaf.parse(data), None))
        except VerificationError as exc:
            leaves.append((index, None, str(exc)))
    names = _public_names(ws, [about[i] for i, leaf, _ in leaves if leaf and i in about])
    entries = []
    for index, leaf, problem in reversed(leaves):
        if leaf is None:
            entries.append(PublicEntry(index, "unreadable", None, problem=problem))
            continue
        at = parse_time(leaf.at, what="a log entry's time")
        entry = PublicEntry(index, leaf.event, at, leaf.works)
        if index in refused:
            entry = replace(entry, problem=refused[index])
        elif index in about and leaf.event in {k.value for k in PUBLIC_EVENTS}:
            entry = _attributed(entry, leaf, *about[index], names)
        entries.append(entry)
    return entries


def public_entry(ws: Workspace, index: int) -> PublicEntry:
    """One log entry as ``public_entries`` reads it; ``NotFoundError`` past the log."""
    found = public_entries(ws, index, index + 1)
    if not found:
        raise NotFoundError(f"the log has no entry {index}; it holds {ws.registry.log.size()}")
    return found[0]


@dataclass(frozen=True, slots=True)
class _Named:
    name: str
    key: PublicKey | None


def _public_names(ws: Workspace, pairs: Sequence[tuple[str, str]]) -> dict[str, _Named]:
    """The name (and, for a party, the key) of each party, work and collection named."""

    names: dict[str, _Named] = {}
    works = []
    for identifier in {i for pair in pairs for i in pair}:
        kind = kind_of(identifier)
        try:
            if kind in (IdKind.OWNER, IdKind.LICENSEE):
                party = ws.registry.parties.get(identifier, PartyKind.of(identifier))
                names[identifier] = _Named(party.name, PublicKey.from_hex(party.public_key))
            elif kind is IdKind.COLLECTION:
                found = ws.registry.works.find_collection("", identifier)
                names[identifier] = _Named(found.name, None)
            elif kind is IdKind.WORK:
                works.append(identifier)
        except (NotFoundError, InputError):
            continue  # erased, or never a party: the entry stays unattributed
    checked, _ = ws.registry.works.many_checked(works)
    names.update({w.id: _Named(w.title or w.path, None) for w in checked})
    return names


def _attributed(
    entry: PublicEntry, leaf: Leaf, actor_id: str, subject_id: str, names: dict[str, _Named]
) -> PublicEntry:

    actor = names.get(actor_id)
    if actor is None or actor.key is None:
        return replace(entry, problem="its party has been erased or is not registered here")
    try:
        leaf.verify(actor.key)
    except VerificationError:
        return replace(entry, problem=f"its leaf is not signed by {actor.name}'s key")
    subject = names.get(subject_id)
    return replace(
        entry,
        actor_id=actor_id,
        actor_name=actor.name,
        subject_id=subject_id,
        subject_name=None if subject is None else subject.name,
    )


@dataclass(frozen=True, slots=True)
class Cosigner:
    """One signature line of a checkpoint besides the log's own: the witness's name,
    when it cosigned, and whether a key this registry names for it verifies it."""

    name: str
    at: datetime | None
    verified: bool


def checkpoint_cosigners(signed: SignedCheckpoint, witnesses: Sequence[str]) -> list[Cosigner]:
    """The cosignatures on ``signed``, each checked against the witnesses' keys the
    registry is served with (``'URL VKEY'``); a line by a witness it does not name is
    listed unverified. Raises ``VerificationError`` for a line by a named witness that
    does not verify (a forged cosignature is never shown as one)."""

    keys = [WitnessEndpoint.parse(w).key for w in witnesses]
    verified = {c.witness for c in cosignatures(signed.note, signed.checkpoint, keys)}
    found = []
    for name, blob in signature_lines(signed.note)[1]:
        if name == signed.checkpoint.origin:
            continue
        stamp = int.from_bytes(blob[4:12], "big") if len(blob) == 76 else None
        at = None if stamp is None else datetime.fromtimestamp(stamp, UTC)
        found.append(Cosigner(name, at, name in verified))
    return found


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """What a proof file proved: that log entry ``index`` (``leaf``) is in the tree of
    ``checkpoint``, which the log's key signed; for a usage proof, also that the
    manifest in that entry lists work ``work_id``."""

    index: int
    checkpoint: Checkpoint
    leaf: Leaf
    work_id: str | None = None


def verify_any_proof(
    text: str, verifier: NoteVerifier, *, witnesses: WitnessPolicy | None = None
) -> VerifiedProof:
    """Check either proof consentry writes, offline, as ``consentry log verify-proof``
    (a .tlog-proof) or ``consentry usage verify`` (a usage proof, JSON) would. Raises
    ``VerificationError`` or ``InputError`` saying why it does not hold."""
    if text.lstrip().startswith("{"):
        usage_proof, checked = verify_usage_proof(text, verifier, witnesses=witnesses)
        extra = usage_proof.log_proof.extra or b""
        return VerifiedProof(
            usage_proof.log_proof.index, checked, Leaf.parse(extra), usage_proof.work_id
        )
    bundle, checked = verify_proof(text, verifier, witnesses=witnesses)
    return VerifiedProof(bundle.index, checked, Leaf.parse(bundle.extra or b""))


@dataclass(frozen=True, slots=True)
class RunEvent:
    """A run's start or its manifest, as its licensee signed it, and its log entry."""

    event: str
    at: datetime
    index: int


@dataclass(frozen=True, slots=True)
class RunCertificate:
    """What the log records of one training run, for anyone holding its id: who ran it
    and for what, the signed events of its start and manifest with their log entries,
    and the manifest's figures. Which works and owners it lists stay the owners' (their
    salts); only how many, and on what basis, are shown."""

    run_id: str
    licensee_id: str
    licensee_name: str
    started: RunEvent | None
    recorded: RunEvent | None
    purpose: str
    manifest: dict[str, Any] | None

    @property
    def works(self) -> list[dict[str, Any]]:
        listed = (self.manifest or {}).get("works", [])
        return [w for w in listed if isinstance(w, dict)] if isinstance(listed, list) else []

    @property
    def owners(self) -> int:
        return len({str(w.get("owner_id")) for w in self.works})

    @property
    def by_grant(self) -> int:
        return sum(1 for w in self.works if w.get("grant_id"))

    @property
    def by_terms(self) -> int:
        return len(self.works) - self.by_grant

    @property
    def grants(self) -> int:
        return len({str(w["grant_id"]) for w in self.works if w.get("grant_id")})

    @property
    def counts(self) -> dict[str, int]:
        counts = (self.manifest or {}).get("counts", {})
        return {str(k): int(v) for k, v in counts.items()} if isinstance(counts, dict) else {}


def run_certificate(ws: Workspace, run_id: str) -> RunCertificate:
    """The certificate of ``run_id`` from its signed events: each verified against its
    licensee's registered key (the event, its log leaf, and the manifest's own
    signature), so nothing is certified that the licensee did not sign. Raises
    ``NotFoundError`` for a run the registry did not start, and ``VerificationError``
    when a recorded event does not verify."""

    events = ws.registry.runs.events_of_run(run_id)
    licensee_id = str(events[0][1]["actor"])
    licensee = ws.registry.parties.get(licensee_id, PartyKind.LICENSEE)
    key = PublicKey.from_hex(licensee.public_key)
    started = recorded = None
    purpose, manifest = "", None
    for index, body in events:
        kind = str(body["event"])
        where = f"the {kind} event of run {run_id} (log entry {index})"
        at = parse_time(str(body["at"]), what="an event's time")
        payload = body["payload"]
        if kind == EventKind.RUN_STARTED.value:
            started, purpose = RunEvent(kind, at, index), str(payload.get("purpose", ""))
            continue
        signed = payload.get("manifest")
        if not isinstance(signed, dict):
            raise VerificationError(f"{where} carries no manifest")
        try:
            verify_document(
                SignedEnvelope(
                    "training-manifest",
                    canonical_json(signed),
                    key.key_id,
                    base64.b64decode(str(payload.get("signature", "")), validate=True),
                ),
                key,
            )
        except (VerificationError, ValueError) as exc:
            raise VerificationError(
                f"the manifest in {where} is not signed by its licensee"
            ) from exc
        recorded, manifest = RunEvent(kind, at, index), signed
    return RunCertificate(run_id, licensee_id, licensee.name, started, recorded, purpose, manifest)


@dataclass(frozen=True, slots=True)
class LogPage:
    """A page of the log, newest first: entries ``start`` up to ``end`` of ``size``."""

    size: int
    start: int
    end: int
    entries: list[PublicEntry]


def log_page(ws: Workspace, *, before: int | None = None, limit: int = 50) -> LogPage:
    """The ``limit`` entries before index ``before`` (default: the newest), newest first."""
    if limit < 1:
        raise InputError(f"a page of the log holds at least one entry, not {limit}")
    size = ws.registry.log.size()
    end = size if before is None else max(0, min(before, size))
    start = max(0, end - limit)
    return LogPage(size, start, end, public_entries(ws, start, end))
