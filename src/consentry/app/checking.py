"""The publication check, against the registry or offline from a signed sketch, and
the sketch's export and updates (the operator signs them with the log's key)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from consentry.app.index import workspace_index
from consentry.app.log import log_signer, log_verifier
from consentry.app.workspace import Workspace
from consentry.check import Checker, CheckReport, RegistryNotices
from consentry.check.export import export_sketch, export_update
from consentry.errors import ConfigurationError, ConsentryError, InputError
from consentry.index import Sketch
from consentry.log import NoteVerifier
from consentry.log.note import Checkpoint, signature_lines
from consentry.registry import PartyKind

__all__ = [
    "ExportedSketch",
    "SketchUpdated",
    "check_outputs",
    "export_sketch_file",
    "sketch_verifier",
    "update_sketch_file",
]


def sketch_verifier(ws: Workspace, vkey: str | None) -> NoteVerifier:
    """The key a sketch must be signed with: ``vkey``, or this registry's log key.

    Raises ``InputError`` when neither is to be had (checking offline, with no
    registry here, needs the verifier key of the registry that signed the sketch)."""
    if vkey is not None:
        return NoteVerifier.from_vkey(vkey)
    try:
        if not ws.registry_at_hand():
            raise ConfigurationError("no registry here")
        return log_verifier(ws)
    except ConfigurationError as exc:
        raise InputError(
            "give --log-key VKEY: the verifier key of the registry that signed the sketch "
            "(it prints it with 'consentry log key')"
        ) from exc


def check_outputs(
    ws: Workspace,
    outputs: Sequence[tuple[str, bytes]],
    *,
    sketch: Path | None = None,
    vkey: str | None = None,
    licensee_id: str | None = None,
    min_span: int = 200,
    on_warning: Callable[[str], None] | None = None,
) -> list[CheckReport]:
    """A report per ``(name, bytes)`` output: offline from ``sketch`` when given (no
    database is opened), else against the registry, counting ``licensee_id``'s grants
    when given (with that licensee's own key). ``on_warning`` hears of a sketch older
    than the registry it came from, where that registry is at hand."""
    if sketch is not None:
        checker = Checker.offline(
            sketch, sketch_verifier(ws, vkey).vkey(), min_span=min_span, licensee_id=licensee_id
        )
        if on_warning is not None and isinstance(checker.lookup, Sketch):
            stale = _staleness(ws, sketch, checker.lookup)
            if stale is not None:
                on_warning(stale)
    else:
        licensee = None if licensee_id is None else ws.actor(licensee_id, PartyKind.LICENSEE)
        notices = RegistryNotices(ws.registry, licensee=licensee)
        checker = Checker(workspace_index(ws), notices, min_span=min_span, licensee_id=licensee_id)
    return [checker.check_bytes(data, name=name) for name, data in outputs]


def _staleness(ws: Workspace, path: Path, sketch: Sketch) -> str | None:
    """Why ``sketch`` may miss works, when the registry that signed it has signed a
    later checkpoint; ``None`` when it is current or no such registry is here."""
    made = Checkpoint.parse(signature_lines(sketch.checkpoint)[0])
    if not ws.registry_at_hand():
        return None
    try:
        identity = ws.registry.log.identity()
        latest = ws.registry.log.latest()
    except ConsentryError:
        return None  # no registry here: the sketch is all there is to go by
    if identity is None or latest is None or identity.name != made.origin:
        return None
    if latest.checkpoint.size <= made.size:
        return None
    return (
        f"{path} was made at log size {made.size} and its registry's log is at "
        f"{latest.checkpoint.size}: works registered and terms set since are not in it; "
        f"bring it up to date with 'consentry sketch update {path}'"
    )


@dataclass(frozen=True, slots=True)
class ExportedSketch:
    path: Path
    works: int
    size_bytes: int
    checkpoint_size: int

    def to_json(self) -> dict[str, object]:
        return {
            "sketch": str(self.path),
            "works": self.works,
            "bytes": self.size_bytes,
            "checkpoint_size": self.checkpoint_size,
        }


def export_sketch_file(
    ws: Workspace, path: Path, *, image_keypoints: bool = False
) -> ExportedSketch:
    """Write a signed sketch of every registered work at a fresh checkpoint: band keys,
    fingerprints and terms, none of the works' content (operator only).
    ``image_keypoints``: carry images' keypoints too (see ``Sketch.build``)."""
    identity, key = log_signer(ws)
    made, data = export_sketch(ws.registry, key, identity.name, image_keypoints=image_keypoints)
    _write(path, data)
    return ExportedSketch(path, len(made.work_notices), len(data), _size(made.checkpoint))


@dataclass(frozen=True, slots=True)
class SketchUpdated:
    """What an update brought: the sketch (or update file) written, its counts."""

    path: Path
    record: dict[str, object]


def update_sketch_file(
    ws: Workspace,
    sketch: Path,
    *,
    from_file: Path | None = None,
    out_file: Path | None = None,
    vkey: str | None = None,
) -> SketchUpdated:
    """Add what changed since ``sketch``'s checkpoint: apply an update file the
    registry published (``from_file``), or at the registry make one (into
    ``out_file``, or applied to ``sketch`` in place)."""
    current = _read(sketch, "sketch")
    log = sketch_verifier(ws, vkey)
    if from_file is not None:
        combined = Sketch.apply(current, _read(from_file, "update"), log)
        _write(sketch, combined)
        loaded = Sketch.from_bytes(combined, log, source=str(sketch))
        return SketchUpdated(
            sketch,
            {
                "sketch": str(sketch),
                "works": len(loaded.work_notices),
                "checkpoint_size": _size(loaded.checkpoint),
            },
        )
    base = Sketch.from_bytes(current, log, source=str(sketch))
    identity, key = log_signer(ws)
    made = export_update(ws.registry, base, key, identity.name)
    if out_file is not None:
        _write(out_file, made.data)
    else:
        _write(sketch, Sketch.apply(current, made.data, log))
    target = out_file or sketch
    return SketchUpdated(
        target,
        {
            "sketch": str(target),
            "new_works": made.new_works,
            "changed_notices": made.changed_notices,
            "checkpoint_size": made.size,
            "update_bytes": len(made.data),
        },
    )


def _size(note: str) -> int:
    return Checkpoint.parse(signature_lines(note)[0]).size


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path} ({exc.strerror})") from exc
