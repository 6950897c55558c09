"""The publication check and the sketch across HTTP: what a served registry answers
(``check_served``, ``served_sketch``, ``served_sketch_update``),
and what a party's machine does with a registry served elsewhere (``remote_*``).

A served registry keeps its match index in memory and brings it up to date when its
log has grown, so a check neither reloads nor writes the index folder the operator's
own commands keep; it makes its sketch once per checkpoint. A party's machine verifies
every sketch and update with the log's key before it writes a byte, and checks offline
from a sketch when it has one: then no output leaves the machine.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from consentry.app.checking import ExportedSketch, SketchUpdated, update_sketch_file
from consentry.app.index import compact_index, current_index, index_folder
from consentry.app.log import log_signer
from consentry.app.workspace import Workspace
from consentry.check import Checker, CheckReport, RegistryNotices
from consentry.check.export import export_sketch, export_update
from consentry.check.spans import evidence_floor
from consentry.crypto import Signer
from consentry.errors import ConfigurationError, ConsentryError, InputError
from consentry.fingerprint import FingerprintParams
from consentry.index import MatchIndex, Sketch
from consentry.log import NoteVerifier
from consentry.log.note import Checkpoint, open_checkpoint, signature_lines
from consentry.registry import PartyKind, Registry

__all__ = [
    "ServedSketch",
    "ServedUpdate",
    "SketchService",
    "SketchState",
    "check_served",
    "registry_is_remote",
    "remote_check_outputs",
    "remote_export_sketch_file",
    "remote_update_sketch_file",
    "served_sketch",
    "served_sketch_update",
]

_CHAIN = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class SketchState:
    """What an update follows: the sketch's last checkpoint (the signed note) and the
    chain digest of its last section. ``token`` is its form in a URL."""

    chain: str
    checkpoint: str

    @classmethod
    def of(cls, sketch: Sketch) -> SketchState:
        return cls(sketch.chain, sketch.checkpoint)

    @property
    def token(self) -> str:
        note = base64.urlsafe_b64encode(self.checkpoint.encode("utf-8")).decode("ascii")
        return f"{self.chain}.{note.rstrip('=')}"

    @classmethod
    def parse(cls, token: str) -> SketchState:
        """Raises ``InputError`` for a token that is not a sketch's state."""
        chain, _, note = token.partition(".")
        refused = InputError(
            "since is not a sketch's state (its chain digest, a dot, and its checkpoint "
            "in base64url); 'consentry sketch update' sends the right one"
        )
        if not _CHAIN.fullmatch(chain) or not note:
            raise refused
        try:
            padded = note + "=" * (-len(note) % 4)
            text = base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise refused from None
        return cls(chain, text)


@dataclass(frozen=True, slots=True)
class ServedSketch:
    """The sketch a served registry answers with, made at ``checkpoint``."""

    data: bytes
    works: int
    checkpoint: str

    @property
    def checkpoint_size(self) -> int:
        return _size(self.checkpoint)

    @property
    def etag(self) -> str:
        # The checkpoint decides the sketch: every work and terms change is on the log.
        digest = hashlib.sha256(self.checkpoint.encode("utf-8")).hexdigest()[:32]
        return f'"sketch-{self.checkpoint_size}-{digest}"'


@dataclass(frozen=True, slots=True)
class ServedUpdate:
    """An update file for one sketch state, and what it brings."""

    data: bytes
    new_works: int
    changed_notices: int
    checkpoint_size: int

    @property
    def etag(self) -> str:
        return f'"update-{hashlib.sha256(self.data).hexdigest()[:32]}"'

    def to_json(self) -> dict[str, Any]:
        return {
            "update": base64.b64encode(self.data).decode("ascii"),
            "new_works": self.new_works,
            "changed_notices": self.changed_notices,
            "checkpoint_size": self.checkpoint_size,
        }


@runtime_checkable
class SketchService(Protocol):
    """A served registry's sketches and check, as a party's machine reaches them."""

    def log_key(self) -> str:
        """The log's verifier key (``name+keyid+key``): sketches are signed with it."""
        ...

    def latest_size(self) -> int:
        """The size of the log's newest signed checkpoint (0 before its first)."""
        ...

    def sketch(self) -> bytes: ...

    def update(self, since: SketchState) -> ServedUpdate: ...

    def check(
        self, name: str, data: bytes, *, min_span: int, licensee: tuple[str, Signer] | None
    ) -> CheckReport: ...


# -- what a served registry answers -------------------------------------------------


@dataclass
class _Kept:
    """What one served registry keeps between requests."""

    index_lock: threading.Lock = field(default_factory=threading.Lock)
    sketch_lock: threading.Lock = field(default_factory=threading.Lock)
    index: MatchIndex | None = None
    indexed_at: int = -1
    sketch: ServedSketch | None = None


_KEPT: weakref.WeakKeyDictionary[Registry, _Kept] = weakref.WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()


def _kept(registry: Registry) -> _Kept:
    with _KEPT_LOCK:
        return _KEPT.setdefault(registry, _Kept())


def _live_index(ws: Workspace) -> MatchIndex:
    kept = _kept(ws.registry)
    with kept.index_lock:
        size = ws.registry.log.size()  # read first: works registered after it come next time
        if kept.index is None:
            # Read only: the operator's commands keep that folder, and write it.
            kept.index = current_index(ws.registry, index_folder(ws), save=False)
        elif size != kept.indexed_at:
            ws.registry.works.refresh_index(kept.index)
            compact_index(kept.index)
        kept.indexed_at = size
        return kept.index


def check_served(
    ws: Workspace,
    outputs: Sequence[tuple[str, str | bytes]],
    *,
    licensee_id: str | None = None,
    min_span: int = 200,
) -> list[CheckReport]:
    """A report per ``(name, text or bytes)`` output, against the served registry,
    counting ``licensee_id``'s grants when the request is signed by that licensee."""
    licensee = None if licensee_id is None else ws.actor(licensee_id, PartyKind.LICENSEE)
    notices = RegistryNotices(ws.registry, licensee=licensee)
    checker = Checker(_live_index(ws), notices, min_span=min_span, licensee_id=licensee_id)
    return [
        checker.check_text(data, name=name)
        if isinstance(data, str)
        else checker.check_bytes(data, name=name)
        for name, data in outputs
    ]


def served_sketch(ws: Workspace) -> ServedSketch:
    """The signed sketch of every registered work at the log's latest checkpoint (one
    signed now if events came since), made once per checkpoint; no image keypoints."""
    identity, key = log_signer(ws)
    kept = _kept(ws.registry)
    with kept.sketch_lock:
        signed = ws.registry.log.checkpoint(key, identity.name)
        if kept.sketch is None or kept.sketch.checkpoint != signed.note:
            made, data = export_sketch(ws.registry, key, identity.name)
            kept.sketch = ServedSketch(data, len(made.work_notices), made.checkpoint)
        return kept.sketch


def served_sketch_update(ws: Workspace, since: SketchState) -> ServedUpdate:
    """The update file for a sketch at ``since`` (one this log signed; else
    ``VerificationError``): the works registered and the notices changed since."""
    identity, key = log_signer(ws)
    open_checkpoint(since.checkpoint, identity)
    # export_update reads of its base only what a state names: the checkpoint it was
    # made at, its chain digest, and whether it carries keypoints (served: never).
    base = Sketch({"checkpoint": since.checkpoint, "image_keypoints": False}, {}, [])
    base.chain = since.chain
    made = export_update(ws.registry, base, key, identity.name)
    return ServedUpdate(made.data, made.new_works, made.changed_notices, made.size)


# -- what a party's machine does with a registry served elsewhere -------------------


def registry_is_remote(ws: Workspace) -> bool:
    """Whether the workspace's registry is served elsewhere ($CONSENTRY_REGISTRY)."""
    return bool(ws.settings.registry_url)


def _service(ws: Workspace) -> SketchService:
    service = getattr(ws.registry, "sketches", None)  # a RemoteRegistry's
    if not isinstance(service, SketchService):
        raise ConfigurationError(
            "this registry is not served over HTTP; unset CONSENTRY_REGISTRY to use it here"
        )
    return service


def remote_check_outputs(
    ws: Workspace,
    outputs: Sequence[tuple[str, bytes]],
    *,
    sketch: Path | None = None,
    vkey: str | None = None,
    licensee_id: str | None = None,
    min_span: int = 200,
    on_warning: Callable[[str], None] | None = None,
) -> list[CheckReport]:
    """``check_outputs`` with the registry served elsewhere: offline from ``sketch``
    when given (no output is sent; the key is ``vkey`` or the registry's), else each
    output checked by the registry, signed by ``licensee_id`` to count its grants."""
    evidence_floor(min_span, FingerprintParams().winnow)  # the local check's refusal
    service = _service(ws)
    if sketch is None:
        licensee = None
        if licensee_id is not None:
            licensee = (licensee_id, ws.signer(licensee_id, PartyKind.LICENSEE))
        return [
            service.check(name, data, min_span=min_span, licensee=licensee)
            for name, data in outputs
        ]
    served = None
    if vkey is None:
        served = vkey = service.log_key()
    checker = Checker.offline(sketch, vkey, min_span=min_span, licensee_id=licensee_id)
    if on_warning is not None and isinstance(checker.lookup, Sketch):
        stale = _staleness(service, served, sketch, checker.lookup)
        if stale is not None:
            on_warning(stale)
    return [checker.check_bytes(data, name=name) for name, data in outputs]


def _staleness(
    service: SketchService, served: str | None, path: Path, sketch: Sketch
) -> str | None:
    """Why ``sketch`` may miss works, as ``checking`` says it of a registry at hand:
    when that registry (its key ``served``, if fetched already) signed a later one."""
    made = Checkpoint.parse(signature_lines(sketch.checkpoint)[0])
    try:
        if NoteVerifier.from_vkey(served or service.log_key()).name != made.origin:
            return None  # a sketch of another registry's
        latest = service.latest_size()
    except ConsentryError:
        return None  # the registry is out of reach: the sketch is all there is to go by
    if latest <= made.size:
        return None
    return (
        f"{path} was made at log size {made.size} and its registry's log is at "
        f"{latest}: works registered and terms set since are not in it; "
        f"bring it up to date with 'consentry sketch update {path}'"
    )


def remote_export_sketch_file(
    ws: Workspace, path: Path, *, image_keypoints: bool = False
) -> ExportedSketch:
    """Download the registry's sketch into ``path``, once it verifies with the log's
    key. The served sketch carries no image keypoints."""
    if image_keypoints:
        raise InputError(
            "a served registry's sketch carries no image keypoints (a coarse picture can "
            "be rebuilt from them); export one with --image-keypoints in its operator's home"
        )
    service = _service(ws)
    log = NoteVerifier.from_vkey(service.log_key())
    data = service.sketch()
    made = Sketch.from_bytes(data, log, source=f"the sketch from {ws.settings.registry_url}")
    _write(path, data)
    return ExportedSketch(path, len(made.work_notices), len(data), _size(made.checkpoint))


def remote_update_sketch_file(
    ws: Workspace,
    sketch: Path,
    *,
    from_file: Path | None = None,
    out_file: Path | None = None,
    vkey: str | None = None,
) -> SketchUpdated:
    """``update_sketch_file`` with the registry served elsewhere: apply ``from_file``,
    or fetch only the update for ``sketch`` and apply it (or write it to ``out_file``),
    once it verifies with ``vkey`` (default: the registry's log key)."""
    service = _service(ws)
    key = vkey if vkey is not None else service.log_key()
    if from_file is not None:
        return update_sketch_file(ws, sketch, from_file=from_file, vkey=key)
    log = NoteVerifier.from_vkey(key)
    current = _read(sketch)
    base = Sketch.from_bytes(current, log, source=str(sketch))
    if base.image_keypoints:
        raise InputError(
            f"{sketch} carries image keypoints, which a served registry does not publish; "
            "update it in the registry operator's home, or export a new one"
        )
    update = service.update(SketchState.of(base))
    combined = Sketch.apply(current, update.data, log)  # signed by the log, after this one
    target = out_file or sketch
    _write(target, update.data if out_file is not None else combined)
    return SketchUpdated(
        target,
        {
            "sketch": str(target),
            "new_works": update.new_works,
            "changed_notices": update.changed_notices,
            "checkpoint_size": update.checkpoint_size,
            "update_bytes": len(update.data),
        },
    )


def _size(note: str) -> int:
    return Checkpoint.parse(signature_lines(note)[0]).size


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read sketch {path} ({exc.strerror})") from exc


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
