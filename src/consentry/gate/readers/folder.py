"""A folder of files: one item per file, its relative path the id."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from consentry.fingerprint import ContentKind, detect_kind
from consentry.gate.item import DEFAULT_MAX_ITEM_BYTES, Item

__all__ = ["read_folder"]


def read_folder(folder: Path, *, max_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> Iterator[Item]:
    """Files in a stable (sorted) order; images as bytes, text decoded as UTF-8."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            item_id = path.relative_to(folder).as_posix()
            yield _read_file(path, item_id, max_bytes)


def _read_file(path: Path, item_id: str, max_bytes: int) -> Item:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return Item.broken(
                item_id,
                f"file is {size:,} bytes, over the {max_bytes:,}-byte limit per item",
                item_id=item_id,
            )
        data = path.read_bytes()
    except OSError as exc:
        return Item.broken(item_id, f"file cannot be read ({exc.strerror})", item_id=item_id)
    kind = detect_kind(path.name, data[:8192])
    problem = None
    text = ""
    if not data:
        problem = "file is empty"
    elif kind is ContentKind.IMAGE:
        return Item(item_id, item_id, image=data, size=len(data), metadata={"path": item_id})
    elif kind is ContentKind.BINARY:
        problem = "file is binary and not an image"
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problem = f"file is not UTF-8 (bad byte at offset {exc.start})"
    if problem is None and not text.strip():
        problem = "file has no text"
    if problem is not None:
        return Item.broken(item_id, problem, item_id=item_id)
    return Item(item_id, item_id, text=text, size=len(data), metadata={"path": item_id})
