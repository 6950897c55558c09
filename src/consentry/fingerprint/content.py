"""One entry point: bytes of a file in, every fingerprint consentry keeps out.

Pure: no file system, no database. The caller reads the bytes; this decides the kind,
normalises, and computes the exact digest, MinHash signature, winnowed excerpt
fingerprints, and for images PDQ and a crop-resistant hash.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from consentry.errors import InputError
from consentry.fingerprint.code import code_views
from consentry.fingerprint.detect import ContentKind, declared_spdx, detect_kind, media_type_for
from consentry.fingerprint.image import image_fingerprint
from consentry.fingerprint.languages import CodeLanguage, language_for, language_named
from consentry.fingerprint.minhash import MinHashParams, minhash_signatures, shingle_hashes
from consentry.fingerprint.normalize import normalize_text
from consentry.fingerprint.winnow import WinnowParams, excerpt_fingerprints

__all__ = [
    "ContentFingerprint",
    "FingerprintParams",
    "TextView",
    "fingerprint_bytes",
    "text_digest",
]

_HEAD = 8192
_SHEBANG = re.compile(rb"^#!\s*(?:/usr/bin/env\s+)?\S*?([a-z]+)[0-9.]*\b")


@dataclass(frozen=True, slots=True)
class FingerprintParams:
    """Every parameter that changes a fingerprint; ``version`` names the combination so
    an index never compares fingerprints made differently."""

    winnow: WinnowParams = field(default_factory=WinnowParams)
    text_minhash: MinHashParams = field(default_factory=lambda: MinHashParams(shingle=9))
    # Canonical code streams repeat a small alphabet ("i ( i , i )"), so short shingles
    # are common to all code; longer ones keep unrelated files apart.
    code_minhash: MinHashParams = field(default_factory=lambda: MinHashParams(shingle=24))
    version: str = "fp4"


@dataclass(frozen=True, slots=True)
class TextView:
    """A code file's fingerprints as plain text. Code travels without its file name
    (pasted into documents, stored in JSON Lines), where it is read as text; this view
    lets that copy match."""

    digest: str
    minhash: bytes
    excerpts: bytes


@dataclass(frozen=True, slots=True)
class ContentFingerprint:
    """What the registry stores about one work's content. Never the content itself."""

    kind: ContentKind
    media_type: str
    size: int
    digest: str
    stream_length: int
    minhash: bytes
    excerpts: bytes
    title: str
    spdx: str | None = None
    pdq: bytes | None = None
    pdq_quality: int | None = None
    crop_segments: bytes | None = None
    text_view: TextView | None = None
    params_version: str = "fp4"


def text_digest(normalised: str) -> str:
    """SHA-256 (hex) of a normalised stream's UTF-8 bytes."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def _shebang_language(head: bytes) -> CodeLanguage | None:
    match = _SHEBANG.match(head)
    return language_named(match.group(1).decode("ascii")) if match else None


def _decode(data: bytes, *, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name} is not UTF-8 text (bad byte at offset {exc.start}); "
            "convert it to UTF-8 and register it again"
        ) from exc


def _title(name: str, text: str | None) -> str:
    if text is not None and PurePosixPath(name).suffix.lower() in {".md", ".markdown"}:
        for line in text.splitlines()[:20]:
            if line.startswith("# "):
                return line[2:].strip()[:200]
    return PurePosixPath(name).name


def fingerprint_bytes(
    name: str, data: bytes, params: FingerprintParams | None = None
) -> ContentFingerprint:
    """Fingerprint the content of a file called ``name``.

    Raises ``InputError`` for binary files that are not images, text that is not UTF-8,
    and corrupt or oversized images.
    """
    params = params or FingerprintParams()
    head = data[:_HEAD]
    kind = detect_kind(name, head)
    media_type = media_type_for(name, kind, head)
    if kind is ContentKind.BINARY:
        raise InputError(
            f"{name} is binary and not an image consentry reads (PNG, JPEG, GIF, BMP, "
            "TIFF, WebP); register text, code or images only"
        )
    if kind is ContentKind.IMAGE:
        image = image_fingerprint(data, name=name)
        return ContentFingerprint(
            kind=kind,
            media_type=image.media_type,
            size=len(data),
            digest=image.digest,
            stream_length=image.width * image.height,
            minhash=b"",
            excerpts=b"",
            title=_title(name, None),
            pdq=image.pdq,
            pdq_quality=image.pdq_quality,
            crop_segments=image.crop_segments,
            params_version=params.version,
        )
    text = _decode(data, name=name)
    language = None
    if kind is ContentKind.CODE:
        language = language_for(PurePosixPath(name).name) or _shebang_language(head)
        if language is None:
            kind = ContentKind.TEXT
    normalised_text = normalize_text(text)
    plain = _text_view(normalised_text, params)
    if language is None:
        return ContentFingerprint(
            kind=kind,
            media_type=media_type,
            size=len(data),
            digest=plain.digest,
            stream_length=len(normalised_text),
            minhash=plain.minhash,
            excerpts=plain.excerpts,
            title=_title(name, text),
            spdx=declared_spdx(head),
            params_version=params.version,
        )
    without_comments, stream = code_views(text, language)
    normalised = normalize_text(without_comments)
    minhash_params = params.code_minhash
    (signature,) = minhash_signatures([shingle_hashes(stream, minhash_params)], minhash_params)
    return ContentFingerprint(
        kind=kind,
        media_type=media_type,
        size=len(data),
        digest=text_digest(normalised),
        stream_length=len(stream),
        minhash=signature.to_bytes(),
        excerpts=excerpt_fingerprints(stream, params.winnow).to_bytes(),
        title=_title(name, text),
        spdx=declared_spdx(head),
        text_view=plain,
        params_version=params.version,
    )


def _text_view(normalised: str, params: FingerprintParams) -> TextView:
    text_params = params.text_minhash
    (signature,) = minhash_signatures([shingle_hashes(normalised, text_params)], text_params)
    return TextView(
        digest=text_digest(normalised),
        minhash=signature.to_bytes(),
        excerpts=excerpt_fingerprints(normalised, params.winnow).to_bytes(),
    )
