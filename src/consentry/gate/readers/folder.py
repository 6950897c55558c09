"""A folder of files: one item per file, its relative path the id.

Only regular files inside the folder are read. Anything else the folder lists is an
unreadable item saying what it is: a FIFO or a device (opening one would wait or
read without end), a symlink that leads out of the folder (it would read the
licensee's own files into the outputs), a link to a folder (not followed), a folder
that cannot be listed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from consentry.fingerprint import ContentKind, detect_kind
from consentry.gate.item import (
    DEFAULT_MAX_ITEM_BYTES,
    Item,
    pixels_over_limit,
    read_inside,
    shown_name,
)

__all__ = ["read_folder"]


def read_folder(folder: Path, *, max_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> Iterator[Item]:
    """Files in a stable (sorted) order; images as bytes, text decoded as UTF-8."""
    root = os.path.realpath(folder)
    unlisted: list[OSError] = []
    for top, dirs, files in os.walk(folder, onerror=unlisted.append):
        yield from _unlisted(unlisted, folder)
        # A link to a folder is listed among the folders, and not walked into.
        links = [name for name in dirs if os.path.islink(os.path.join(top, name))]
        dirs[:] = sorted(name for name in dirs if name not in links)
        for name in sorted([*files, *links]):
            path = Path(top) / name
            yield _read_entry(path, path.relative_to(folder).as_posix(), root, max_bytes)
    yield from _unlisted(unlisted, folder)


def _unlisted(errors: list[OSError], folder: Path) -> Iterator[Item]:
    for error in errors:
        where = Path(str(error.filename or folder))
        name = shown_name(where.relative_to(folder).as_posix() + "/")
        yield Item.broken(name, f"folder cannot be read ({error.strerror})", item_id=name)
    errors.clear()


def _read_entry(path: Path, relative: str, root: str, max_bytes: int) -> Item:
    item_id = shown_name(relative)
    if item_id != relative:
        return Item.broken(item_id, "file name is not UTF-8 (shown with \\x escapes)")
    try:
        link = path.is_symlink()
    except OSError as exc:
        return Item.broken(item_id, f"file cannot be read ({exc.strerror})")
    # A FIFO or a device is refused by what it is, before anything is opened.
    data = read_inside(path, root=root, max_bytes=max_bytes)
    if isinstance(data, str):
        return Item.broken(item_id, f"symlink: its target {data}" if link else f"file {data}")
    return _item(data, item_id)


def _item(data: bytes, item_id: str) -> Item:
    kind = detect_kind(item_id, data[:8192])
    problem = None
    text = ""
    if not data:
        problem = "file is empty"
    elif kind is ContentKind.IMAGE:
        if (problem := pixels_over_limit(data)) is None:
            return Item(
                item_id,
                item_id,
                image=data,
                size=len(data),
                metadata={"path": item_id},
                footprint=len(data),
            )
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
    return Item(
        item_id, item_id, text=text, size=len(data), metadata={"path": item_id}, footprint=len(data)
    )
