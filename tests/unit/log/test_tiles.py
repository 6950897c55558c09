"""The C2SP tlog-tiles layout: paths and tile counts from the specification, a log
written to a folder and checked offline, and damage found file by file."""

from __future__ import annotations

from pathlib import Path

import pytest

from consentry.crypto import KeyPair
from consentry.errors import VerificationError
from consentry.log import Checkpoint, MerkleTree, NoteVerifier, leaf_hash, sign_checkpoint
from consentry.log.tiles import (
    TILE_WIDTH,
    TileRef,
    entries_path,
    fsck,
    read_entries,
    tile_path,
    tiles_for,
    write_tiles,
)

ORIGIN = "consentry.test/log"
KEY = KeyPair.generate()
LOG = NoteVerifier(ORIGIN, KEY.public)


def test_paths_follow_the_specification() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(1, 0, 17) == "tile/1/000.p/17"
    assert entries_path(5) == "tile/entries/005"
    assert entries_path(1000, 3) == "tile/entries/x001/000.p/3"


def test_tile_counts_follow_the_specification() -> None:
    tiles = list(tiles_for(70000))
    level0 = [t for t in tiles if t.level == 0]
    assert len(level0) == 274 and level0[-1] == TileRef(0, 273, 112)
    assert [t for t in tiles if t.level == 1] == [TileRef(1, 0, 256), TileRef(1, 1, 17)]
    assert [t for t in tiles if t.level == 2] == [TileRef(2, 0, 1)]
    assert list(tiles_for(256)) == [TileRef(0, 0, 256), TileRef(1, 0, 1)]
    assert list(tiles_for(0)) == []


def _publish(folder: Path, entries: list[bytes], since: int = 0) -> MerkleTree:
    tree = MerkleTree([leaf_hash(e) for e in entries])
    note = sign_checkpoint(Checkpoint(ORIGIN, tree.size, tree.root()), KEY)
    write_tiles(folder, tree, entries, note, since=since)
    return tree


def test_a_published_log_checks_out_and_grows(tmp_path: Path) -> None:
    entries = [f"entry {i}".encode() * (i % 5 + 1) for i in range(700)]
    _publish(tmp_path, entries[:300])
    assert fsck(tmp_path, LOG).size == 300
    tree = _publish(tmp_path, entries, since=300)
    checkpoint = fsck(tmp_path, LOG)
    assert (checkpoint.size, checkpoint.root) == (700, tree.root())
    assert read_entries(tmp_path, 700) == entries
    full = (tmp_path / tile_path(0, 1)).read_bytes()
    assert len(full) == TILE_WIDTH * 32
    # Partial tiles of older sizes stay beside the full ones: readers of an older
    # checkpoint still find theirs.
    assert (tmp_path / tile_path(0, 1, 44)).exists()


def test_damage_is_found_and_named(tmp_path: Path) -> None:
    entries = [f"e{i}".encode() for i in range(600)]
    _publish(tmp_path, entries)
    tile = tmp_path / tile_path(0, 1)
    original = tile.read_bytes()
    tile.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])
    with pytest.raises(VerificationError, match="tile/0/001 does not match"):
        fsck(tmp_path, LOG)
    tile.write_bytes(original)
    bundle = tmp_path / entries_path(2, 88)
    bundle.write_bytes(bundle.read_bytes()[:-1] + b"X")
    with pytest.raises(VerificationError, match=r"tile/0/002\.p/88 does not match"):
        fsck(tmp_path, LOG)
    _publish(tmp_path, entries)
    other = KeyPair.generate()
    (tmp_path / "checkpoint").write_text(
        sign_checkpoint(
            Checkpoint(ORIGIN, 600, MerkleTree([leaf_hash(e) for e in entries]).root()), other
        )
    )
    with pytest.raises(VerificationError, match="no signature by a known key"):
        fsck(tmp_path, LOG)


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    _publish(tmp_path, [b"a", b"b", b"c"])
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
