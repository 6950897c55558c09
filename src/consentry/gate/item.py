"""The gate's one currency: an ``Item`` read from a corpus, whatever its format."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_MAX_ITEM_BYTES", "Item", "item_from_mapping", "item_name"]

DEFAULT_MAX_ITEM_BYTES = 64 * 1024 * 1024

# Where code datasets keep a file's path: ours and datatrove's ``path``, The Stack's
# ``max_stars_repo_path`` (and its issues and forks twins), others' ``file_path``.
_PATH_FIELDS = (
    "path",
    "file_path",
    "filepath",
    "filename",
    "max_stars_repo_path",
    "max_issues_repo_path",
    "max_forks_repo_path",
)
_LANGUAGE_FIELDS = ("lang", "language", "programming_language")


def item_name(item_id: str, metadata: Mapping[str, Any]) -> str:
    """The name an item's language is told by: the first file path its metadata gives,
    else its id, given the suffix of a language its metadata names (``lang``,
    ``language``: ``{"id": "a1", "metadata": {"lang": "Python"}}`` reads as ``a1.py``)."""
    for key in _PATH_FIELDS:
        if isinstance(value := metadata.get(key), str) and value:
            return value
    for key in _LANGUAGE_FIELDS:
        if isinstance(value := metadata.get(key), str) and value:
            # Imported here: the gate's records load no lexers until a language is named.
            from consentry.fingerprint.languages import suffix_for_language  # noqa: PLC0415

            if (suffix := suffix_for_language(value)) is not None:
                return item_id if item_id.lower().endswith(suffix) else item_id + suffix
    return item_id


@dataclass(slots=True)
class Item:
    """One corpus item. ``unreadable`` says why it could not be read; such an item is
    rejected with that reason, never dropped.

    ``original`` is the record as read (a JSON object for JSON Lines, Parquet and
    datasets rows), kept so admitted items are written out unchanged.
    """

    id: str
    source: str
    text: str | None = None
    image: bytes | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    original: dict[str, Any] | None = None
    size: int = 0
    unreadable: str | None = None

    @property
    def name(self) -> str:
        """What the item is called when its language is told: a file path its metadata
        gives (``item_name``), else its id."""
        return item_name(self.id, self.metadata)

    @classmethod
    def broken(cls, source: str, reason: str, *, item_id: str | None = None) -> Item:
        return cls(id=item_id or source, source=source, unreadable=reason)


class _UnreadableError(Exception):
    def __init__(self, reason: str, size: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.size = size


def _checked_text(text: object, max_bytes: int) -> tuple[str, int]:
    if not isinstance(text, str):
        raise _UnreadableError("text must be a string")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise _UnreadableError("text contains unpaired surrogates (not valid Unicode)") from None
    if not text.strip():
        raise _UnreadableError("text is empty", size)
    if size > max_bytes:
        raise _UnreadableError(
            f"text is {size:,} bytes, over the {max_bytes:,}-byte limit per item", size
        )
    return text, size


def _inline_image(data: object, max_bytes: int) -> bytes:
    if isinstance(data, str):
        try:
            data = base64.b64decode(data, validate=True)
        except binascii.Error:
            raise _UnreadableError("image is not valid base64") from None
    if not isinstance(data, bytes | bytearray) or not data:
        raise _UnreadableError("image is empty or not bytes")
    if len(data) > max_bytes:
        raise _UnreadableError(
            f"image is {len(data):,} bytes, over the {max_bytes:,}-byte limit", len(data)
        )
    return bytes(data)


def _image_file(name: str, base: Path | None, max_bytes: int) -> bytes:
    path = Path(name)
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _UnreadableError(f"image {path} is over the {max_bytes:,}-byte limit", size)
        return path.read_bytes()
    except OSError as exc:
        raise _UnreadableError(f"image {path} cannot be read ({exc.strerror})") from None


def item_from_mapping(
    record: Mapping[str, Any],
    *,
    source: str,
    base: Path | None = None,
    max_bytes: int = DEFAULT_MAX_ITEM_BYTES,
) -> Item:
    """An ``Item`` from a Dolma/datatrove-style record: ``id``, ``text`` (or
    ``image_path`` / base64 ``image``) and ``metadata``. Problems become ``unreadable``;
    an item without an id is named by its position in the source."""
    raw_id = record.get("id")
    has_id = isinstance(raw_id, str | int) and str(raw_id) != ""
    item = Item(str(raw_id) if has_id else source, source, original=dict(record))
    try:
        metadata = record.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise _UnreadableError("metadata must be an object")
        item.metadata = metadata
        if not has_id:
            raise _UnreadableError("record has no id")
        if record.get("text") is not None:
            item.text, item.size = _checked_text(record["text"], max_bytes)
        elif record.get("image") is not None:
            item.image = _inline_image(record["image"], max_bytes)
        elif isinstance(record.get("image_path"), str):
            item.image = _image_file(record["image_path"], base, max_bytes)
        else:
            raise _UnreadableError("record has no text, image or image_path")
    except _UnreadableError as problem:
        item.unreadable, item.size = problem.reason, problem.size
        item.text = item.image = None
        return item
    if item.image is not None:
        item.size = len(item.image)
    return item
