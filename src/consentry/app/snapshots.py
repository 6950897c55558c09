"""The snapshot a lab gates from on its own machine: made by the registry for one
licensee, signed with the log's key (so it is the registry's word, tied to its log), and
opened at the lab only once that signature and the file's digest check.

The note the log key signs (``since`` and ``through``: the log entries it covers, from
``since`` up to, not including, ``through``):

    consentry.snapshot/v1
    licensee lic_…
    since 0
    through 1234
    at 2026-12-02T03:10:05.000000Z
    sha256 <hex of the SQLite file>
    checkpoint <log size> <root hash, base64>
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from consentry.app.log import log_signer, log_verifier
from consentry.app.workspace import Workspace
from consentry.clock import format_time, parse_time, utc_now
from consentry.errors import VerificationError
from consentry.log.note import NoteVerifier, open_note, sign_note
from consentry.registry import PartyKind
from consentry.registry.snapshot import SnapshotFacts

__all__ = [
    "SnapshotNote",
    "export_gate_snapshot",
    "merge_snapshot",
    "open_snapshot",
    "snapshot_moment",
]

_HEADER = "consentry.snapshot/v1"


@dataclass(frozen=True, slots=True)
class SnapshotNote:
    """What the registry signed about one snapshot or update."""

    licensee_id: str
    since: int
    through: int
    at: datetime
    sha256: str
    log_size: int
    root: bytes
    note: str

    def text(self) -> str:
        return (
            f"{_HEADER}\nlicensee {self.licensee_id}\nsince {self.since}\n"
            f"through {self.through}\nat {format_time(self.at)}\nsha256 {self.sha256}\n"
            f"checkpoint {self.log_size} {base64.b64encode(self.root).decode('ascii')}\n"
        )

    @classmethod
    def parse(cls, text: str, note: str) -> SnapshotNote:
        lines = text.rstrip("\n").split("\n")
        fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
        try:
            if lines[0] != _HEADER:
                raise KeyError(_HEADER)
            size, root = fields["checkpoint"].split(" ", 1)
            return cls(
                fields["licensee"],
                int(fields["since"]),
                int(fields["through"]),
                parse_time(fields["at"], what="the snapshot's time"),
                fields["sha256"],
                int(size),
                base64.b64decode(root, validate=True),
                note,
            )
        except (KeyError, ValueError) as exc:
            raise VerificationError(
                f"the snapshot note is not one a consentry registry signs ({exc}); fetch "
                "the snapshot again"
            ) from exc


def export_gate_snapshot(
    ws: Workspace, path: Path, *, licensee_id: str, since: int = 0
) -> tuple[SnapshotFacts, SnapshotNote]:
    """Write ``licensee_id``'s snapshot (or, with ``since``, the update after that
    event) to ``path`` and sign its note with the log key (the operator's home)."""
    ws.actor(licensee_id, PartyKind.LICENSEE)
    identity, key = log_signer(ws)
    checkpoint = ws.registry.log.checkpoint(key, identity.name).checkpoint
    facts = ws.registry.snapshots.export(path, licensee_id, since=since)
    unsigned = SnapshotNote(
        licensee_id,
        since,
        facts.through,
        utc_now(),
        _sha256(path),
        checkpoint.size,
        checkpoint.root,
        "",
    )
    note = sign_note(unsigned.text(), identity.name, key)
    return facts, SnapshotNote.parse(unsigned.text(), note)


def open_snapshot(
    note: str, path: Path | None, verifier: NoteVerifier, *, licensee_id: str
) -> SnapshotNote:
    """The note of the snapshot (or update) at ``path``, once the log key's signature
    on it, its licensee and the file's digest all check. ``path`` None: the snapshot
    this machine already holds, which its own merges and reads have changed since (the
    consent inside it is each owner's signed word, checked as it is read)."""
    text, _ = open_note(note, [verifier])
    opened = SnapshotNote.parse(text, note)
    if opened.licensee_id != licensee_id:
        raise VerificationError(
            f"the snapshot was made for {opened.licensee_id}, not {licensee_id}; fetch your own"
        )
    if path is not None and _sha256(path) != opened.sha256:
        raise VerificationError(
            f"{path} is not the file the registry signed (its SHA-256 differs); fetch it again"
        )
    return opened


def snapshot_moment(ws: Workspace, note: str, *, licensee_id: str) -> datetime:
    """The moment a snapshot note the registry's log key signed for ``licensee_id``
    holds consent as of; ``VerificationError`` for any other note."""
    return open_snapshot(note, None, log_verifier(ws), licensee_id=licensee_id).at


def merge_snapshot(ws: Workspace, update: Path) -> None:
    """Lay a verified update over the snapshot ``ws`` holds."""
    ws.registry.snapshots.merge(update)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
