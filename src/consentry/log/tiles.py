"""The log as static files in the C2SP ``tlog-tiles`` layout.

``checkpoint`` is the signed checkpoint; ``tile/<L>/<N>`` holds 256 hashes (8 KiB) of
tree level 8·L, ``tile/<L>/<N>.p/<W>`` a partial tile of W hashes at the right edge;
``tile/entries/<N>`` holds the entries of 256 leaves, each as a big-endian 16-bit length
and its bytes. Any static web server can serve the folder. Files are written by
staging each into a temporary name and renaming it, tiles first and the checkpoint
last, so a reader (or a crash) never sees a checkpoint whose tiles are missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from consentry.errors import VerificationError
from consentry.log.note import Checkpoint, NoteVerifier, open_checkpoint
from consentry.log.proofs import MerkleTree
from consentry.log.tree import leaf_hash

__all__ = [
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileRef",
    "entries_path",
    "fsck",
    "read_entries",
    "tile_path",
    "tiles_for",
    "write_tiles",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_HASH = 32
_MAX_ENTRY = 0xFFFF


def _index_path(index: int) -> str:
    """N as path elements of three digits, all but the last prefixed with x:
    1234067 → x001/x234/067."""
    digits = f"{index:d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>`` for a full tile, ``tile/<L>/<N>.p/<W>`` for a partial one."""
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{_index_path(index)}{suffix}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/entries/{_index_path(index)}{suffix}"


@dataclass(frozen=True, slots=True)
class TileRef:
    """One tile of a tree: its level, its index at that level and how many hashes."""

    level: int
    index: int
    width: int

    @property
    def path(self) -> str:
        return tile_path(self.level, self.index, self.width)


def tiles_for(size: int) -> Iterator[TileRef]:
    """Every tile of a tree of ``size`` leaves, level by level: full ones, then the
    partial one at the right edge when the level's width is not a multiple of 256."""
    level = 0
    while True:
        nodes = size >> (TILE_HEIGHT * level)
        if nodes == 0:
            return
        for index in range(nodes // TILE_WIDTH):
            yield TileRef(level, index, TILE_WIDTH)
        if nodes % TILE_WIDTH:
            yield TileRef(level, nodes // TILE_WIDTH, nodes % TILE_WIDTH)
        level += 1


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    with staging.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)


def _bundle(entries: Sequence[bytes]) -> bytes:
    out = bytearray()
    for entry in entries:
        if len(entry) > _MAX_ENTRY:
            raise ValueError(f"a log entry is at most {_MAX_ENTRY} bytes, not {len(entry)}")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def write_tiles(
    folder: Path,
    tree: MerkleTree,
    entries: Sequence[bytes],
    checkpoint_note: str,
    *,
    since: int = 0,
) -> int:
    """Publish the tree's tiles and entry bundles, then its checkpoint; returns how many
    files were written. Tiles that were already full at size ``since`` are immutable
    and not written again."""
    if len(entries) != tree.size:
        raise ValueError(f"{len(entries)} entries for a tree of {tree.size} leaves")
    written = 0
    for ref in tiles_for(tree.size):
        first_leaf = ref.index * TILE_WIDTH << (TILE_HEIGHT * ref.level)
        already_full = (ref.index + 1) * TILE_WIDTH << (TILE_HEIGHT * ref.level) <= since
        if already_full and ref.width == TILE_WIDTH:
            continue
        hashes = tree.level_hashes(
            TILE_HEIGHT * ref.level, ref.index * TILE_WIDTH, ref.index * TILE_WIDTH + ref.width
        )
        _write_atomically(folder / ref.path, hashes)
        written += 1
        if ref.level == 0:
            bundle = entries[first_leaf : first_leaf + ref.width]
            _write_atomically(folder / entries_path(ref.index, ref.width), _bundle(bundle))
            written += 1
    _write_atomically(folder / "checkpoint", checkpoint_note.encode("utf-8"))
    return written + 1


def read_entries(folder: Path, size: int) -> list[bytes]:
    """Every entry of a published tree of ``size`` leaves, from its bundles."""
    entries: list[bytes] = []
    for ref in tiles_for(size):
        if ref.level:
            break
        data = (folder / entries_path(ref.index, ref.width)).read_bytes()
        position, bundle = 0, []
        while position < len(data):
            length = int.from_bytes(data[position : position + 2], "big")
            bundle.append(data[position + 2 : position + 2 + length])
            position += 2 + length
        if len(bundle) != ref.width or position != len(data):
            raise VerificationError(
                f"{entries_path(ref.index, ref.width)} holds {len(bundle)} entries, "
                f"expected {ref.width}"
            )
        entries += bundle
    return entries


def fsck(folder: Path, log: NoteVerifier) -> Checkpoint:
    """Check a published log offline: the checkpoint is the log's, every entry hashes
    to its level-0 tile, every tile above is the hashes of the tile below, and the
    root recomputed from the tiles is the checkpoint's. Returns the checkpoint;
    raises ``VerificationError`` naming the first file that disagrees."""
    try:
        note = (folder / "checkpoint").read_text("utf-8")
    except OSError as exc:
        raise VerificationError(f"{folder} has no readable checkpoint") from exc
    checkpoint = open_checkpoint(note, log)
    tree = MerkleTree([leaf_hash(entry) for entry in read_entries(folder, checkpoint.size)])
    for ref in tiles_for(checkpoint.size):
        path = folder / ref.path
        try:
            stored = path.read_bytes()
        except OSError as exc:
            raise VerificationError(f"tile {ref.path} is missing") from exc
        expected = tree.level_hashes(
            TILE_HEIGHT * ref.level, ref.index * TILE_WIDTH, ref.index * TILE_WIDTH + ref.width
        )
        if stored != expected:
            raise VerificationError(f"tile {ref.path} does not match the entries below it")
    if tree.root() != checkpoint.root:
        raise VerificationError(
            f"the tiles give root {tree.root().hex()}, the checkpoint says {checkpoint.root.hex()}"
        )
    return checkpoint
