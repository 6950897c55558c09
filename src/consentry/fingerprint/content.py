"""One entry point: bytes of a file in, every fingerprint consentry keeps out.

Pure: no file system, no database. The caller reads the bytes; this decides the kind,
normalises, and computes the exact digest, MinHash signature, winnowed excerpt
fingerprints, and for images PDQ and a crop-resistant hash.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from consentry._records import quick_init
from consentry.errors import InputError
from consentry.fingerprint import _native, _stream
from consentry.fingerprint._rolling import CodePoints
from consentry.fingerprint.code import code_stream
from consentry.fingerprint.detect import (
    ContentKind,
    code_families_by_content,
    declared_spdx,
    detect_kind,
    is_prose_name,
    media_type_for,
    names_no_kind,
)
from consentry.fingerprint.image import image_fingerprint
from consentry.fingerprint.languages import (
    CodeLanguage,
    family_language,
    language_for,
    language_named,
)
from consentry.fingerprint.minhash import MinHashParams, MinHashSignature
from consentry.fingerprint.normalize import normalized_stream
from consentry.fingerprint.winnow import ExcerptFingerprints, WinnowParams

__all__ = [
    "EMPTY_DIGEST",
    "MIN_CONTENT",
    "ContentFingerprint",
    "FingerprintParams",
    "StreamPrints",
    "TextView",
    "fingerprint_bytes",
    "fingerprint_text",
    "text_digest",
    "text_prints",
    "text_prints_many",
]

_HEAD = 8192
# The least content a work may have, in normalised characters: the check's default
# ``--min-span`` and the winnowing guarantee ``T``. Less can never be shown copied, and
# content that normalises to nothing (an empty or comment-only file) would be "copied"
# by every other empty item.
MIN_CONTENT = 200
_NO_SIGNATURE = np.zeros(0, dtype=np.uint32)
_NO_SIGNATURE.flags.writeable = False
# The exact digest of content that normalises to nothing.
EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()
_SHEBANG = re.compile(rb"^#!\s*(?:/usr/bin/env\s+)?(?:\S*/)?([a-z]+)[0-9.]*\b")


@dataclass(frozen=True, slots=True)
class FingerprintParams:
    """Every parameter that changes a fingerprint; ``version`` names the combination so
    an index never compares fingerprints made differently."""

    winnow: WinnowParams = field(default_factory=WinnowParams)
    text_minhash: MinHashParams = field(default_factory=lambda: MinHashParams(shingle=9))
    # Canonical code streams repeat a small alphabet ("i ( i , i )"), so short shingles
    # are common to all code; longer ones keep unrelated files apart.
    code_minhash: MinHashParams = field(default_factory=lambda: MinHashParams(shingle=24))
    version: str = "fp5"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class _Fields:
    """A JSON object read as a fingerprint's fields: exactly ``names``, each of the type
    asked for. The wire form comes from other machines, so every field is checked
    before use; errors name ``what`` and the field."""

    def __init__(self, data: object, names: Iterable[str], what: str) -> None:
        wanted = set(names)
        if not isinstance(data, Mapping):
            raise InputError(f"{what} must be a JSON object of {', '.join(sorted(wanted))}")
        given = {str(name) for name in data}
        if given != wanted:
            extra = sorted(given - wanted)
            odd, why = (
                (extra[0], "is not a fingerprint field")
                if extra
                else (min(wanted - given), "is missing")
            )
            raise InputError(f"{what}.{odd[:40]} {why}; send the fields to_json writes")
        self._data, self._what = data, what

    def absent(self, name: str) -> bool:
        return self._data[name] is None

    def raw(self, name: str) -> object:
        return self._data[name]

    def text(self, name: str) -> str:
        value = self._data[name]
        if not isinstance(value, str):
            raise InputError(f"{self._what}.{name} must be a string")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"{self._what}.{name} holds a lone surrogate") from None
        if "\0" in value:  # PostgreSQL's text holds no NUL
            raise InputError(f"{self._what}.{name} holds a NUL character")
        return value

    def number(self, name: str) -> int:
        value = self._data[name]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
            raise InputError(f"{self._what}.{name} must be a whole number from 0 to 2^63 - 1")
        return value

    def blob(self, name: str) -> bytes:
        value = self._data[name]
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except ValueError:  # binascii.Error, or a character outside ASCII
                pass
        raise InputError(f"{self._what}.{name} is not base64")


@dataclass(frozen=True, slots=True)
class TextView:
    """A code file's fingerprints as plain text. Code travels without its file name
    (pasted into documents, stored in JSON Lines), where it is read as text; this view
    lets that copy match."""

    digest: str
    minhash: bytes
    excerpts: bytes

    def to_json(self) -> dict[str, str]:
        return {
            "digest": self.digest,
            "minhash": _b64(self.minhash),
            "excerpts": _b64(self.excerpts),
        }

    @classmethod
    def from_json(cls, data: object, *, what: str = "text_view") -> TextView:
        """The view ``to_json`` wrote, its fields' types checked and bytes decoded.
        Raises ``InputError`` naming ``what`` and the field."""
        fields = _Fields(data, ("digest", "minhash", "excerpts"), what)
        return cls(fields.text("digest"), fields.blob("minhash"), fields.blob("excerpts"))


_FINGERPRINT_FIELDS = (
    "kind", "media_type", "size", "digest", "stream_length", "minhash", "excerpts", "title",
    "spdx", "pdq", "pdq_quality", "crop_segments", "text_view", "params_version",
    "content_length",
)  # fmt: skip


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
    params_version: str = "fp5"
    # Normalised characters the exact digest covers (for code, the source without its
    # comments); None for images. Registration refuses too little (``MIN_CONTENT``).
    content_length: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The wire form: every field, bytes in base64 (no content: fingerprints only)."""
        optional = (self.pdq, self.crop_segments)
        pdq, crop = (None if value is None else _b64(value) for value in optional)
        return {
            "kind": self.kind.value,
            "media_type": self.media_type,
            "size": self.size,
            "digest": self.digest,
            "stream_length": self.stream_length,
            "minhash": _b64(self.minhash),
            "excerpts": _b64(self.excerpts),
            "title": self.title,
            "spdx": self.spdx,
            "pdq": pdq,
            "pdq_quality": self.pdq_quality,
            "crop_segments": crop,
            "text_view": None if self.text_view is None else self.text_view.to_json(),
            "params_version": self.params_version,
            "content_length": self.content_length,
        }

    @classmethod
    def from_json(cls, data: object, *, what: str = "fingerprint") -> ContentFingerprint:
        """The fingerprint ``to_json`` wrote, each field's type checked and its bytes
        decoded; raises ``InputError`` naming ``what`` and the field. It reads the
        form only: whether the bytes are what the kernels make is for the registry to
        check before it stores them."""
        f = _Fields(data, _FINGERPRINT_FIELDS, what)
        try:
            kind = ContentKind(f.text("kind"))
        except ValueError:
            kinds = ", ".join(k.value for k in ContentKind)
            raise InputError(f"{what}.kind is not a kind of content ({kinds})") from None
        view = None if f.absent("text_view") else f.raw("text_view")
        return cls(
            kind=kind,
            media_type=f.text("media_type"),
            size=f.number("size"),
            digest=f.text("digest"),
            stream_length=f.number("stream_length"),
            minhash=f.blob("minhash"),
            excerpts=f.blob("excerpts"),
            title=f.text("title"),
            spdx=None if f.absent("spdx") else f.text("spdx"),
            pdq=None if f.absent("pdq") else f.blob("pdq"),
            pdq_quality=None if f.absent("pdq_quality") else f.number("pdq_quality"),
            crop_segments=None if f.absent("crop_segments") else f.blob("crop_segments"),
            text_view=None if view is None else TextView.from_json(view, what=f"{what}.text_view"),
            params_version=f.text("params_version"),
            content_length=None if f.absent("content_length") else f.number("content_length"),
        )


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
    base = posixpath.basename(name)
    if text is not None and posixpath.splitext(base)[1].lower() in {".md", ".markdown"}:
        for line in text.splitlines()[:20]:
            if line.startswith("# "):
                return line[2:].strip()[:200]
    return base


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
    return fingerprint_text(name, _decode(data, name=name), params, size=len(data))


@quick_init
@dataclass(frozen=True, slots=True)
class StreamPrints:
    """One fingerprinted stream as arrays, for lookups: the SHA-256 of the normalised
    content, the stream's length, its MinHash signature (empty when shorter than a
    shingle), and its winnowed excerpt fingerprints."""

    digest: bytes
    length: int
    signature: npt.NDArray[np.uint32]
    excerpts: ExcerptFingerprints

    @classmethod
    def from_stored(cls, digest: str, minhash: bytes, excerpts: bytes) -> StreamPrints:
        """From the stored form (the length is not stored; it is 0 here)."""
        return cls(
            bytes.fromhex(digest),
            0,
            MinHashSignature.from_bytes(minhash).values,
            ExcerptFingerprints.from_bytes(excerpts),
        )

    def stored(self) -> tuple[str, bytes, bytes]:
        """(hex digest, signature bytes, excerpt bytes): how the registry keeps them."""
        signature = MinHashSignature(self.signature).to_bytes() if len(self.signature) else b""
        return self.digest.hex(), signature, self.excerpts.to_bytes()


def code_language(name: str, text: str) -> CodeLanguage | None:
    """The programming language ``text`` called ``name`` is read as (its file name,
    else a shebang line, else its content when the name says nothing of its kind), or
    None for prose: what ``text_prints`` decides by."""
    return _code_languages([(name, text)])[0]


def _code_languages(named: Sequence[tuple[str, str]]) -> list[CodeLanguage | None]:
    """``code_language(name, text)`` for each ``(name, text)``, the content of those
    whose name says nothing read in one kernel call."""
    languages: list[CodeLanguage | None] = []
    untold: list[int] = []
    for name, text in named:
        base = posixpath.basename(name)
        if not is_prose_name(base) and (language := language_for(base)) is not None:
            languages.append(language)
        elif text.startswith("#!"):
            # A prose name (a script saved as .txt) or an unknown one: a shebang decides.
            languages.append(_shebang_language(text[:200].encode("utf-8", "replace")))
        else:
            # Corpus items rarely carry a file name (a JSON Lines id, a web page): code
            # among them is told by its content, so its renaming-resistant prints are
            # looked up too.
            if names_no_kind(base):
                untold.append(len(languages))
            languages.append(None)
    families = code_families_by_content([named[k][1] for k in untold])
    for k, family in zip(untold, families, strict=True):
        if family is not None:
            languages[k] = family_language(family)
    return languages


def text_prints(
    name: str, text: str, params: FingerprintParams | None = None
) -> tuple[StreamPrints, ...]:
    """What a lookup needs of ``text`` called ``name``: its code prints first when the
    name (or a shebang) says it is code, then its plain-text prints. The values
    ``fingerprint_text`` stores, without the record around them."""
    params = params or FingerprintParams()
    plain = _plain_prints(text, params)
    language = code_language(name, text)
    if language is None:
        return (plain,)
    return (_code_prints(text, language, params), plain)


def text_prints_many(
    named: Sequence[tuple[str, str]], params: FingerprintParams | None = None
) -> list[tuple[StreamPrints, ...]]:
    """``text_prints(name, text)`` for each ``(name, text)``, the same values, with the
    plain streams of ASCII texts (most of a corpus) folded and hashed in one kernel call,
    the nameless ones' code told in another and the code streams hashed in a third: a
    call's fixed cost is as much as hashing a thousand characters."""
    params = params or FingerprintParams()
    plain: list[StreamPrints | None] = [None] * len(named)
    narrow = [k for k, (_, text) in enumerate(named) if text.isascii()]
    if narrow:
        raw = np.frombuffer("".join(named[k][1] for k in narrow).encode("ascii"), np.uint8)
        folded, cuts = _native.fold_ascii_many(raw, _bounds(len(named[k][1]) for k in narrow))
        ends, view = cuts.tolist(), folded.data
        digests = [hashlib.sha256(view[a:b]).digest() for a, b in pairwise(ends)]
        made = _prints_many(folded, cuts, digests, params.text_minhash, params.winnow)
        for k, prints in zip(narrow, made, strict=True):
            plain[k] = prints
    languages = enumerate(_code_languages(named))
    coded = [(k, language) for k, language in languages if language is not None]
    code: list[tuple[StreamPrints, ...]] = [()] * len(named)
    if coded:
        views = [code_stream(named[k][1], language) for k, language in coded]
        digests = [_code_digest(kept) for kept, _ in views]
        streams = np.concatenate([stream for _, stream in views])
        cuts = _bounds(len(stream) for _, stream in views)
        made = _prints_many(streams, cuts, digests, params.code_minhash, params.winnow)
        for (k, _), prints in zip(coded, made, strict=True):
            code[k] = (prints,)
    return [
        (*code[k], plain[k] or _plain_prints(text, params)) for k, (_, text) in enumerate(named)
    ]


def _bounds(lengths: Iterable[int]) -> npt.NDArray[np.int64]:
    """Where each of several arrays laid end to end begins, and where the last ends."""
    return np.fromiter(accumulate(lengths, initial=0), np.int64)


def fingerprint_text(
    name: str, text: str, params: FingerprintParams | None = None, *, size: int | None = None
) -> ContentFingerprint:
    """Fingerprint ``text`` read from a file (or record) called ``name``: code when the
    name or a shebang says so, plain text otherwise. ``size``: its size in bytes."""
    params = params or FingerprintParams()
    language = code_language(name, text)
    kind = ContentKind.TEXT if language is None else ContentKind.CODE
    plain = _plain_prints(text, params)
    if language is None:
        main, length = plain, plain.length
    else:
        without_comments, stream = code_stream(text, language)
        cps, normalised = normalized_stream(without_comments)
        main = _prints(
            stream, hashlib.sha256(normalised).digest(), params.code_minhash, params.winnow
        )
        length = len(cps)
    digest, minhash, excerpts = main.stored()
    return ContentFingerprint(
        kind=kind,
        media_type=media_type_for(name, kind, b""),
        size=len(text.encode("utf-8")) if size is None else size,
        digest=digest,
        stream_length=main.length,
        minhash=minhash,
        excerpts=excerpts,
        title=_title(name, text),
        spdx=declared_spdx(text[:_HEAD].encode("utf-8", "replace")),
        text_view=None if language is None else TextView(*plain.stored()),
        params_version=params.version,
        content_length=length,
    )


def _prints(
    cps: CodePoints, digest: bytes, minhash: MinHashParams, winnow: WinnowParams
) -> StreamPrints:
    signature, hashes, offsets = _stream.stream_prints(
        cps, minhash.shingle, minhash.permutations, minhash.seed, winnow.noise, winnow.window
    )
    return StreamPrints(digest, len(cps), signature, ExcerptFingerprints(hashes, offsets))


def _prints_many(
    cps: CodePoints,
    cuts: npt.NDArray[np.int64],
    digests: Sequence[bytes],
    minhash: MinHashParams,
    winnow: WinnowParams,
) -> list[StreamPrints]:
    """The prints of each stream ``cps[cuts[i]:cuts[i + 1]]``, whose digest is given."""
    signatures, signed, hashes, offsets, picked = _stream.stream_prints_many(
        cps, cuts, minhash.shingle, minhash.permutations, minhash.seed, winnow.noise,
        winnow.window,
    )  # fmt: skip
    ends, chosen = cuts.tolist(), picked.tolist()
    return [
        StreamPrints(
            digest,
            ends[i + 1] - ends[i],
            signatures[i] if has_signature else _NO_SIGNATURE,
            ExcerptFingerprints(
                hashes[chosen[i] : chosen[i + 1]], offsets[chosen[i] : chosen[i + 1]]
            ),
        )
        for i, (digest, has_signature) in enumerate(zip(digests, signed.tolist(), strict=True))
    ]


def _plain_prints(text: str, params: FingerprintParams) -> StreamPrints:
    """``normalize_text(text)`` fingerprinted."""
    cps, utf8 = normalized_stream(text)
    return _prints(cps, hashlib.sha256(utf8).digest(), params.text_minhash, params.winnow)


def _code_prints(text: str, language: CodeLanguage, params: FingerprintParams) -> StreamPrints:
    """The renaming-resistant token stream fingerprinted; the digest is over the source
    without comments, normalised."""
    without_comments, stream = code_stream(text, language)
    return _prints(stream, _code_digest(without_comments), params.code_minhash, params.winnow)


def _code_digest(without_comments: str) -> bytes:
    """A code stream's exact digest: over the source without comments, normalised (a
    copy that only drops or rewrites comments is the same code)."""
    return hashlib.sha256(normalized_stream(without_comments)[1]).digest()
