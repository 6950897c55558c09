"""The lab's gate, run on the lab's machine: consent read from a snapshot the registry
signed (fetched whole once, then only what changed), the run's start and its signed
manifest sent to the registry, or, with no connection, kept to be sent later
(``consentry manifest submit``).

A snapshot is a file (an SQLite registry of the lab's view) with its signed note beside
it (``FILE.note``) and the index made from it (``FILE.index/``). The log key that signs
notes is pinned beside it on first fetch (``FILE.logkey``); a later note signed by any
other key is refused.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import zstandard

from consentry.app import Workspace
from consentry.app.snapshots import (
    SnapshotNote,
    merge_snapshot,
    open_snapshot,
)
from consentry.client.http import RegistryClient
from consentry.client.registry import Keyring
from consentry.client.workspace import RemoteWorkspace
from consentry.clock import format_time, parse_time
from consentry.crypto import Signer
from consentry.errors import InputError, VerificationError
from consentry.log.note import NoteVerifier
from consentry.registry import Actor, EventKind, PartyKind, Registry
from consentry.registry.runs import Runs
from consentry.settings import Settings
from consentry.terms import Category

__all__ = [
    "OfflineRuns",
    "RemoteRuns",
    "SnapshotWorkspace",
    "fetch_snapshot",
    "gate_workspace",
    "keep_note",
    "offline_workspace",
    "submit_manifest",
]

SNAPSHOT_NOTE = "snapshot.note"


def _paths(snapshot: Path) -> tuple[Path, Path, Path]:
    """The note, the pinned log key, and the home (its index) of a snapshot file."""
    return (
        snapshot.with_name(snapshot.name + ".note"),
        snapshot.with_name(snapshot.name + ".logkey"),
        snapshot.with_name(snapshot.name + ".home"),
    )


class RemoteRuns(Runs):
    """A run's start and manifest, recorded on the served registry."""

    def __init__(self, client: RegistryClient, keyring: Keyring) -> None:
        self._client = client
        self._keyring = keyring

    def start(
        self,
        licensee_id: str,
        signer: Signer,
        run_id: str,
        purpose: Category,
        *,
        at: datetime | None = None,
        snapshot_note: str | None = None,
    ) -> datetime:
        """``at`` is the registry's to say (from ``snapshot_note``), never the client's."""
        if at is not None:
            raise InputError("a run's start is recorded by the registry; send a snapshot note")
        body: dict[str, Any] = {"run_id": run_id, "purpose": purpose.value}
        if snapshot_note is not None:
            body["snapshot_note"] = snapshot_note
        made = self._client.change(
            "POST",
            "/v1/runs",
            body,
            signer=signer,
            party_id=licensee_id,
            events=frozenset({EventKind.RUN_STARTED}),
            subjects=frozenset({run_id}),
        )
        return parse_time(str(made["started_at"]), what="the run's start")

    def started(self, licensee: Actor, run_id: str) -> datetime:
        made = self._client.get(f"/v1/runs/{run_id}", signer=self._keyring.of(licensee))
        return parse_time(str(made["started_at"]), what="the run's start")

    def record_manifest(
        self, licensee_id: str, signer: Signer, body: dict[str, Any], signature_b64: str
    ) -> None:
        self._client.change(
            "POST",
            "/v1/manifests",
            {"manifest": body, "signature": signature_b64},
            signer=signer,
            party_id=licensee_id,
            events=frozenset({EventKind.MANIFEST_RECORDED}),
            subjects=frozenset({str(body.get("run_id"))}),
            embeds={signature_b64: body},
        )


class OfflineRuns(Runs):
    """A run with no connection: it decides as of its snapshot, and its manifest stays
    in the run's folder until ``consentry manifest submit`` sends it."""

    def __init__(self, note: SnapshotNote) -> None:
        self._note = note

    def start(
        self,
        licensee_id: str,
        signer: Signer,
        run_id: str,
        purpose: Category,
        *,
        at: datetime | None = None,
    ) -> datetime:
        return self._note.at

    def started(self, licensee: Actor, run_id: str) -> datetime:
        return self._note.at

    def record_manifest(
        self, licensee_id: str, signer: Signer, body: dict[str, Any], signature_b64: str
    ) -> None:
        """Kept, not sent: the run's folder holds it (``manifest.json``)."""


class SnapshotWorkspace(Workspace):
    """A workspace over a snapshot file: the gate reads consent from it, and runs are
    recorded by ``runs`` (on the registry, or kept offline)."""

    def __init__(self, snapshot: Path, keys_dir: Path, runs: Runs, note: SnapshotNote) -> None:
        super().__init__(_settings(snapshot, keys_dir))
        self._runs = runs
        self.note = note
        self.snapshot = snapshot

    @property
    def registry(self) -> Registry:
        registry = super().registry
        registry.runs = self._runs
        return registry


def _settings(snapshot: Path, keys_dir: Path) -> Settings:
    _, _, home = _paths(snapshot)
    return Settings(home=home, database_url=f"sqlite:///{snapshot}", keys_dir=keys_dir)


def offline_workspace(snapshot: Path, keys_dir: Path, *, licensee_id: str) -> SnapshotWorkspace:
    """The workspace of a run from ``snapshot`` with no connection: its note is checked
    against the pinned log key before anything is read."""
    note = _verified(snapshot, licensee_id=licensee_id)
    return SnapshotWorkspace(snapshot, keys_dir, OfflineRuns(note), note)


def _verified(snapshot: Path, *, licensee_id: str) -> SnapshotNote:
    note_path, key_path, _ = _paths(snapshot)
    if not snapshot.is_file() or not note_path.is_file() or not key_path.is_file():
        raise InputError(
            f"{snapshot} is not a snapshot (it needs {note_path.name} and {key_path.name} "
            "beside it); fetch one with 'consentry gate snapshot FILE --licensee ID'"
        )
    verifier = NoteVerifier.from_vkey(key_path.read_text("ascii").strip())
    try:
        return open_snapshot(note_path.read_text("utf-8"), None, verifier, licensee_id=licensee_id)
    except VerificationError as exc:
        raise VerificationError(
            f"{note_path} is not signed by the log key pinned in {key_path} ({exc}); if the "
            "registry's operator says its log key changed, remove the snapshot and fetch it anew"
        ) from exc


def fetch_snapshot(
    client: RegistryClient, signer: Signer, snapshot: Path, *, licensee_id: str
) -> SnapshotNote:
    """Bring the snapshot at ``snapshot`` up to date: all of it the first time, then
    only the events after the last it holds. Each part is checked (the pinned log key's
    signature, the licensee, the file's digest) before it is used."""
    note_path, key_path, _ = _paths(snapshot)
    since = 0
    if snapshot.exists():
        since = _verified(snapshot, licensee_id=licensee_id).through
    packed, headers = client.download("/v1/snapshot", params={"since": since}, signer=signer)
    note = base64.b64decode(headers["consentry-snapshot-note"]).decode("utf-8")
    offered = headers["consentry-log-key"]
    pinned = key_path.read_text("ascii").strip() if key_path.exists() else offered
    if offered != pinned:
        raise VerificationError(
            f"the registry signs snapshots with log key {offered.split('+')[0]}, not the key "
            f"pinned in {key_path} when this snapshot was first fetched; if the registry's "
            "operator says the log key changed, remove the snapshot and fetch it anew"
        )
    verifier = NoteVerifier.from_vkey(pinned)
    with tempfile.TemporaryDirectory(dir=snapshot.parent) as scratch:
        part = Path(scratch) / "part.db"
        with part.open("wb") as target:
            zstandard.ZstdDecompressor().copy_stream(io.BytesIO(packed), target)
        opened = open_snapshot(note, part, verifier, licensee_id=licensee_id)
        if opened.since != since:
            raise VerificationError(
                f"the registry sent the update from log entry {opened.since}, not {since}"
            )
        if since == 0:
            os.replace(part, snapshot)
        else:
            with Workspace(_settings(snapshot, snapshot.parent)) as held:
                merge_snapshot(held, part)
    _atomic_write(note_path, note)
    if not key_path.exists():
        _atomic_write(key_path, pinned + "\n")
    return opened


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, "utf-8")
    os.replace(temporary, path)


def keep_note(out: Path, note: SnapshotNote) -> None:
    """Keep the snapshot note an offline run decided by in its folder: sending the
    manifest later shows the registry which consent the run relied on."""
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / SNAPSHOT_NOTE, note.note)


def submit_manifest(
    client: RegistryClient, signer: Signer, out: Path, *, licensee_id: str
) -> dict[str, Any]:
    """Send a finished run's signed manifest from its folder: for an offline run, its
    start first (as of the snapshot its note names)."""
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        raise InputError(
            f"{out} holds no manifest.json; it is written when 'consentry gate run' finishes"
        )
    signed = json.loads(manifest_path.read_text("utf-8"))
    body, signature = signed["manifest"], signed["signature"]
    runs = RemoteRuns(client, Keyring())
    note_path = out / SNAPSHOT_NOTE
    if note_path.is_file():
        started = runs.start(
            licensee_id,
            signer,
            str(body["run_id"]),
            Category(body["purpose"]),
            snapshot_note=note_path.read_text("utf-8"),
        )
        if format_time(started) != body.get("started_at"):
            raise VerificationError(
                f"the registry recorded run {body['run_id']} as of {format_time(started)}, "
                f"but its manifest says {body.get('started_at')}"
            )
    runs.record_manifest(licensee_id, signer, body, signature)
    return {"run_id": body["run_id"], "recorded": True}


@contextmanager
def gate_workspace(
    settings: Settings, licensee_id: str, *, snapshot: Path | None, out: Path
) -> Iterator[Workspace]:
    """Where a gate run reads consent: the local registry, or, when this machine is a
    client of a served one, a snapshot brought up to date from it (runs recorded
    there), or, given ``snapshot``, that file with no connection (its note kept in
    ``out`` for ``manifest submit``)."""
    if snapshot is not None:
        offline = offline_workspace(snapshot, settings.keys_dir, licensee_id=licensee_id)
        with offline:
            yield offline
        keep_note(out, offline.note)
        return
    if not settings.registry_url:
        with Workspace(settings) as local:
            yield local
        return
    with RemoteWorkspace(settings) as remote:
        signer = remote.signer(licensee_id, PartyKind.LICENSEE)
        path = settings.home / "snapshots" / f"{licensee_id}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        note = fetch_snapshot(remote.client, signer, path, licensee_id=licensee_id)
        runs = RemoteRuns(remote.client, remote.keyring)
        with SnapshotWorkspace(path, settings.keys_dir, runs, note) as gating:
            yield gating
