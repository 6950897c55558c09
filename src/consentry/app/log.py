"""The transparency log's use cases: its identity, checkpoints, witnesses, proofs,
published tiles, offline verification, and where an owner's works were used.

The log's private key never leaves the operator's home. Anyone else verifies with the
identity the registry records (or a verifier key they were given), and proves against
the newest checkpoint the operator signed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from consentry.app.workspace import LOG_KEY, Workspace
from consentry.clock import parse_time
from consentry.crypto import PublicKey, Signer
from consentry.errors import ConfigurationError, InputError, KeyStoreError, VerificationError
from consentry.log import NoteVerifier, WitnessKey, WitnessPolicy
from consentry.log.bundle import ProofBundle, UsageProof
from consentry.log.leaf import Leaf
from consentry.log.note import Checkpoint, open_checkpoint
from consentry.log.proofs import MerkleTree
from consentry.log.tiles import fsck, write_tiles
from consentry.log.tree import leaf_hash
from consentry.registry import PartyKind
from consentry.registry.transparency import SignedCheckpoint, Usage

__all__ = [
    "Published",
    "Witnessed",
    "WorkUse",
    "adopt_local_log_key",
    "audit",
    "checkpoint",
    "current_checkpoint",
    "log_origin",
    "log_signer",
    "log_verifier",
    "owner_uses",
    "prove",
    "publish",
    "usage",
    "verify_proof",
    "verify_usage_proof",
    "witness",
    "witness_policy",
]


def log_origin(key: PublicKey) -> str:
    """The origin a log signs as: it names the key, so two registries' logs never
    share one."""
    return f"consentry.log/{key.key_id}"


def log_verifier(ws: Workspace, vkey: str | None = None) -> NoteVerifier:
    """The verifier ``vkey`` names, or by default the registry's own log identity.

    Raises ``ConfigurationError`` for a registry whose log has no recorded identity
    (run ``consentry init`` in the operator's home)."""
    if vkey is not None:
        return NoteVerifier.from_vkey(vkey)
    identity = ws.registry.log.identity() or adopt_local_log_key(ws)
    if identity is None:
        raise ConfigurationError(
            f"the registry at {ws.settings.database_url} records no log key yet; run "
            "'consentry init' once where the registry was created (the operator's home)"
        )
    return identity


def adopt_local_log_key(ws: Workspace) -> NoteVerifier | None:
    """For a registry made before the log's identity was recorded: record the key this
    home holds as the log's, once it is shown to have signed the log's checkpoints.
    ``None`` when this home holds no log key.

    Raises ``ConfigurationError`` when the key here did not sign the log's checkpoints:
    recording it would fork the log."""
    if not ws.log_key_file.exists():
        return None
    key = ws.operator_keys.load(LOG_KEY)
    verifier = NoteVerifier(log_origin(key.public), key.public)
    latest = ws.registry.log.latest()
    if latest is not None:
        try:
            open_checkpoint(latest.note, verifier)
        except VerificationError as exc:
            raise ConfigurationError(
                f"{ws.log_key_file} did not sign this registry's checkpoints ({exc}); run "
                "this in the home that holds the log's own key"
            ) from exc
    return ws.registry.log.adopt_identity(verifier)


def log_signer(ws: Workspace) -> tuple[NoteVerifier, Signer]:
    """The log's identity and its private key, which only the operator's home holds.

    Raises ``KeyStoreError`` naming where the key is expected when this machine does not
    hold it, or holds another key than the one the registry records."""
    identity = log_verifier(ws)
    path = ws.log_key_file
    if not path.exists():
        raise KeyStoreError(
            f"signing the log needs its key {identity.public.key_id}, which only the "
            f"registry operator's home holds (expected {path}); run this there, or set "
            "CONSENTRY_HOME to that folder"
        )
    key = ws.operator_keys.load(path.stem)
    if key.public != identity.public:
        raise KeyStoreError(
            f"{path} holds key {key.public.key_id}, not this registry's log key "
            f"{identity.public.key_id}; use the home the registry was initialised in"
        )
    return identity, key


def checkpoint(ws: Workspace) -> SignedCheckpoint:
    """Put every new event on the log and sign the tree (operator only); a client of a
    served registry, which holds no log key, gets the newest checkpoint it signed."""
    if ws.settings.registry_url and not ws.log_key_file.exists():
        return current_checkpoint(ws)
    identity, key = log_signer(ws)
    return ws.registry.log.checkpoint(key, identity.name)


def current_checkpoint(ws: Workspace) -> SignedCheckpoint:
    """A fresh checkpoint where the log key is held here; elsewhere the newest one the
    operator signed. Raises ``ConfigurationError`` when the log has none yet."""
    if ws.log_key_file.exists():
        return checkpoint(ws)
    latest = ws.registry.log.latest()
    if latest is None:
        raise ConfigurationError(
            "the log has no signed checkpoint yet; the registry operator signs one with "
            "'consentry log checkpoint'"
        )
    return latest


@dataclass(frozen=True, slots=True)
class Witnessed:
    """A checkpoint with the cosignatures gathered, and why each refusal refused."""

    signed: SignedCheckpoint
    refused: dict[str, str]
    needed: int
    asked: int

    @property
    def cosigned(self) -> int:
        return self.asked - len(self.refused)

    @property
    def quorum_met(self) -> bool:
        return self.cosigned >= self.needed


def witness(ws: Workspace, endpoints: Sequence[str], quorum: int | None) -> Witnessed:
    """Sign the latest checkpoint and ask each witness (``'URL VKEY'``) to cosign it."""
    # Imported here: the witness package (an HTTP client and server) is for this use
    # case alone, and every gate run imports this module.
    from consentry.witness import WitnessEndpoint  # noqa: PLC0415

    parsed = [WitnessEndpoint.parse(text) for text in endpoints]
    needed = len(parsed) if quorum is None else quorum
    if not 1 <= needed <= len(parsed):
        raise InputError(f"--quorum {needed} needs between 1 and {len(parsed)} witnesses")
    signed = checkpoint(ws)
    signed, refused = ws.registry.log.witness(signed, parsed)
    return Witnessed(signed, refused, needed, len(parsed))


def witness_policy(witness_keys: Sequence[str] | None, quorum: int | None) -> WitnessPolicy | None:
    """The quorum a proof must carry: ``quorum`` (default all) of ``witness_keys``."""
    if not witness_keys:
        if quorum is not None:
            raise InputError("--quorum needs the witnesses' keys: give --witness VKEY for each")
        return None
    keys = tuple(WitnessKey.from_vkey(v) for v in witness_keys)
    return WitnessPolicy(keys, len(keys) if quorum is None else quorum)


def audit(
    ws: Workspace, *, from_tiles: Path | None = None, vkey: str | None = None
) -> dict[str, Any]:
    """Check the whole log: every entry, every leaf's signature (the database) or every
    tile (a published folder), and every checkpoint against the tree.

    Raises ``VerificationError`` saying what does not hold."""
    verifier = log_verifier(ws, vkey)
    if from_tiles is not None:
        checked = fsck(from_tiles, verifier)
        return {"entries": checked.size, "root": checked.root.hex()}
    return dict(ws.registry.log.audit(verifier))


def prove(ws: Workspace, *, event: int | None = None, index: int | None = None) -> ProofBundle:
    """A c2sp.org/tlog-proof@v1 for one entry (by event number or log index) against the
    current checkpoint."""
    if (event is None) == (index is None):
        raise InputError("give exactly one of --event SEQ or --index N")
    signed = current_checkpoint(ws)
    where = ws.registry.log.index_of_event(event) if event is not None else int(index or 0)
    return ws.registry.log.prove(where, signed)


def verify_proof(
    text: str,
    verifier: NoteVerifier,
    *,
    witnesses: WitnessPolicy | None = None,
    source: str = "proof",
) -> tuple[ProofBundle, Checkpoint]:
    """Check a .tlog-proof offline: the log signed its checkpoint, the quorum cosigned
    it, and its entry is in the tree. Raises ``VerificationError`` otherwise."""
    bundle = ProofBundle.parse(text)
    if bundle.extra is None:
        raise InputError(f"{source} carries no entry (extra line); prove it with consentry")
    return bundle, bundle.verify(verifier, bundle.extra, witnesses=witnesses)


def verify_usage_proof(
    text: str, verifier: NoteVerifier, *, witnesses: WitnessPolicy | None = None
) -> tuple[UsageProof, Checkpoint]:
    """Check a usage proof offline; raises ``VerificationError`` when it does not hold."""
    proof = UsageProof.parse(text)
    _, checked = proof.verify(verifier, witnesses=witnesses)
    return proof, checked


@dataclass(frozen=True, slots=True)
class Published:
    entries: int
    files: int


def publish(ws: Workspace, folder: Path) -> Published:
    """Write the log as C2SP tlog-tiles into ``folder`` (servable by any static web
    server), checkpoint last; tiles already full are not rewritten."""
    since = 0
    existing = folder / "checkpoint"
    if existing.is_file():
        try:
            text = existing.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {existing} ({exc}); remove it to republish") from exc
        since = Checkpoint.parse(text.split("\n\n")[0] + "\n").size
    signed = checkpoint(ws)
    entries = [data for _, data in ws.registry.log.entries(0, signed.checkpoint.size)]
    tree = MerkleTree([leaf_hash(e) for e in entries])
    written = write_tiles(folder, tree, entries, signed.note, since=min(since, tree.size))
    return Published(tree.size, written)


def usage(ws: Workspace, owner_id: str) -> tuple[SignedCheckpoint, list[Usage]]:
    """Every training manifest on the log that lists one of the owner's works, with
    proofs, against the current checkpoint. Only the owner asks: its key must be here."""
    owner = ws.actor(owner_id, PartyKind.OWNER)
    signed = current_checkpoint(ws)
    return signed, ws.registry.log.usage(owner, signed)


@dataclass(frozen=True, slots=True)
class WorkUse:
    """One use of an owner's work (``Usage``) and when its manifest was recorded, as
    the manifest's signed log leaf says; ``basis`` is the grant it ran under, or None
    where the work's terms allowed the use without one."""

    usage: Usage
    recorded_at: datetime

    @property
    def basis(self) -> str | None:
        billed = self.usage.billed or {}
        grant = billed.get("grant_id")
        return None if grant is None else str(grant)


def owner_uses(ws: Workspace, owner_id: str) -> list[WorkUse]:
    """``usage``, newest first, each with the moment its manifest was recorded. Only
    the owner asks: its key (or, served, its signed session) must be here."""
    _, found = usage(ws, owner_id)
    uses = []
    for used in found:
        entry = used.proof.log_proof.extra
        if entry is None:
            raise VerificationError(f"the proof of run {used.run_id} carries no log entry")
        uses.append(WorkUse(used, parse_time(Leaf.parse(entry).at, what="a log entry's time")))
    return sorted(uses, key=lambda u: (u.recorded_at, u.usage.log_index), reverse=True)
