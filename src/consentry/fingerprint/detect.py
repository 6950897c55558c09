"""What kind of content a file holds: text, code, image, or unusable binary."""

from __future__ import annotations

import mimetypes
import posixpath
import re
from enum import StrEnum

from consentry.fingerprint.languages import language_for

__all__ = ["ContentKind", "declared_spdx", "detect_kind", "is_prose_name", "media_type_for"]


class ContentKind(StrEnum):
    TEXT = "text"
    CODE = "code"
    IMAGE = "image"
    BINARY = "binary"


_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
# Prose and markup: fingerprinted as text even though lexers exist for them.
_PROSE_SUFFIXES = frozenset(
    {
        "",
        ".txt",
        ".text",
        ".md",
        ".markdown",
        ".rst",
        ".adoc",
        ".org",
        ".tex",
        ".html",
        ".htm",
        ".xml",
        ".csv",
        ".tsv",
        ".json",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
    }
)
_SPDX = re.compile(
    rb"SPDX-License-Identifier:\s*([A-Za-z0-9.+\-]+(?:\s+(?:AND|OR|WITH)\s+[A-Za-z0-9.+\-]+)*)"
)


def _image_type(head: bytes) -> str | None:
    for magic, media in _IMAGE_MAGIC:
        if head.startswith(magic):
            return media
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _looks_binary(head: bytes) -> bool:
    return b"\x00" in head


def detect_kind(name: str, head: bytes) -> ContentKind:
    """Classify a file from its name and its first bytes (8 KiB is plenty)."""
    if _image_type(head):
        return ContentKind.IMAGE
    if _looks_binary(head):
        return ContentKind.BINARY
    base = posixpath.basename(name)
    if is_prose_name(base) and not head.startswith(b"#!"):
        return ContentKind.TEXT
    if head.startswith(b"#!") or language_for(base) is not None:
        return ContentKind.CODE
    return ContentKind.TEXT


def is_prose_name(name: str) -> bool:
    """Whether a file called ``name`` is prose or markup by its suffix (or has none)."""
    return posixpath.splitext(name)[1].lower() in _PROSE_SUFFIXES


def media_type_for(name: str, kind: ContentKind, head: bytes) -> str:
    """A media type for the record: sniffed for images, by name otherwise."""
    if kind is ContentKind.IMAGE:
        return _image_type(head) or "application/octet-stream"
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if guessed:
        return guessed
    return (
        "text/plain" if kind in (ContentKind.TEXT, ContentKind.CODE) else "application/octet-stream"
    )


def declared_spdx(head: bytes) -> str | None:
    """The SPDX licence expression a file declares in its first lines, if any."""
    match = _SPDX.search(head)
    return match.group(1).decode("ascii") if match else None
