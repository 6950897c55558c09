"""The log as a served registry publishes it: the checkpointer's one step (sign the
log once it has grown, and have the witnesses cosign each checkpoint it publishes), the
tiles and entry bundles a reader fetches, and the workspace a request reads the log in.

A request's workspace proves against what was published and never signs a checkpoint
itself: a proof or a usage list is then always against a checkpoint the witnesses were
asked to cosign, and a read never writes. The tiles are the bytes ``consentry log
publish`` writes (the same tree levels, the same entry bundles), cut from the tree the
registry keeps, for any size up to the published checkpoint's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from consentry.app.log import checkpoint
from consentry.app.served import ServedWorkspace
from consentry.app.workspace import Workspace
from consentry.errors import InputError, NotFoundError
from consentry.log import NoteVerifier, cosignatures
from consentry.log.tiles import TILE_HEIGHT, TILE_WIDTH, TileRef, _bundle, entries_path
from consentry.registry.transparency import SignedCheckpoint
from consentry.witness import WitnessEndpoint

__all__ = [
    "Publication",
    "PublishedLogWorkspace",
    "entry_bundle",
    "log_tile",
    "publish_checkpoint",
    "published_checkpoint",
    "published_identity",
]


class PublishedLogWorkspace(ServedWorkspace):
    """A signed request's workspace that reads the log as the service published it."""

    @property
    def log_key_file(self) -> Path:
        # A request acts for its party, never as the log: ``current_checkpoint`` then
        # answers with the newest published checkpoint instead of signing one the
        # witnesses never saw. The log's key stays the checkpointer's; nothing is here.
        return self.settings.home / "keys" / "requests-hold-no-log-key" / "log.key"


def published_identity(ws: Workspace) -> NoteVerifier:
    """The log's origin and key as the registry records them.

    Raises ``NotFoundError`` for a registry that records none (its operator runs
    ``consentry init`` in its home)."""
    identity = ws.registry.log.identity()
    if identity is None:
        raise NotFoundError(
            "this registry records no log key yet; its operator runs 'consentry init' in "
            "the registry's home"
        )
    return identity


def published_checkpoint(ws: Workspace) -> SignedCheckpoint:
    """The newest checkpoint the log signed, with the cosignatures it has gathered.

    Raises ``NotFoundError`` while the log has none (a served registry signs one within
    seconds of its first event)."""
    latest = ws.registry.log.latest()
    if latest is None:
        raise NotFoundError(
            "the log has no signed checkpoint yet; a served registry signs one within "
            "seconds of its first event: ask again shortly"
        )
    return latest


def _cut(ws: Workspace, ref: TileRef, what: str) -> int:
    """The first node of ``ref`` at its level, once it is known to lie inside the
    published checkpoint's tree. Raises ``NotFoundError`` otherwise."""
    size = published_checkpoint(ws).checkpoint.size
    nodes = size >> (TILE_HEIGHT * ref.level)
    first = ref.index * TILE_WIDTH
    if not 1 <= ref.width <= TILE_WIDTH or first + ref.width > nodes:
        raise NotFoundError(
            f"{what} is not in the log's checkpoint of size {size}; fetch /log/checkpoint "
            "and the tiles it names"
        )
    return first


def log_tile(ws: Workspace, ref: TileRef) -> bytes:
    """The hashes of tile ``ref`` (C2SP tlog-tiles), as ``write_tiles`` writes them."""
    first = _cut(ws, ref, f"tile {ref.path}")
    return ws.registry.log.tree().level_hashes(TILE_HEIGHT * ref.level, first, first + ref.width)


def entry_bundle(ws: Workspace, index: int, width: int = TILE_WIDTH) -> bytes:
    """The entries of level-0 tile ``index`` (its first ``width``), as ``write_tiles``
    bundles them."""
    first = _cut(ws, TileRef(0, index, width), entries_path(index, width))
    return _bundle([data for _, data in ws.registry.log.entries(first, first + width)])


@dataclass(frozen=True, slots=True)
class Publication:
    """What one step of the checkpointer published: the checkpoint, how many of the
    witnesses cosigned it of the ``needed``, and why each that did not refused."""

    signed: SignedCheckpoint
    cosigned: int
    needed: int
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def quorum_met(self) -> bool:
        return self.cosigned >= self.needed


def _missing(
    signed: SignedCheckpoint, witnesses: Sequence[WitnessEndpoint]
) -> list[WitnessEndpoint]:
    """The witnesses whose cosignature ``signed`` does not carry."""
    return [w for w in witnesses if not cosignatures(signed.note, signed.checkpoint, [w.key])]


def publish_checkpoint(
    ws: Workspace, witnesses: Sequence[WitnessEndpoint] = (), quorum: int | None = None
) -> Publication | None:
    """Sign the log if it has grown past its newest checkpoint (operator only: the log
    key is in this home), and ask the witnesses that have not cosigned it to. A
    checkpoint short of its quorum is offered again to the missing witnesses at the
    next step. ``None`` when there was nothing to do.

    Concurrent steps (workers, machines) are safe: the log keeps one checkpoint per
    size and a second signer of that size gets the first one's."""
    needed = len(witnesses) if quorum is None else quorum
    if witnesses and not 1 <= needed <= len(witnesses):
        raise InputError(f"a quorum of {needed} needs between 1 and {len(witnesses)} witnesses")
    log = ws.registry.log
    latest, size = log.latest(), log.size()
    if latest is None and size == 0:
        return None  # nothing to sign yet (and a tree of none proves nothing to extend)
    if latest is None or size > latest.checkpoint.size:
        signed = checkpoint(ws)
    elif len(witnesses) - len(_missing(latest, witnesses)) < needed:
        signed = latest  # short of its quorum: ask the missing witnesses again
    else:
        return None
    refused: dict[str, str] = {}
    missing = _missing(signed, witnesses)
    if missing:
        signed, refused = log.witness(signed, missing)
    return Publication(signed, len(witnesses) - len(_missing(signed, witnesses)), needed, refused)
