"""Works registered from other machines: a creator's machine fingerprints its files and
sends the fingerprints, never the content, one batch a request; the registry reads
each uploaded fingerprint as hostile input and stores none of a batch unless every one
of its files has the form the fingerprint kernels make."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from consentry.app.workspace import Workspace
from consentry.errors import InputError, NotFoundError
from consentry.fingerprint import ContentFingerprint, ContentKind, FingerprintParams
from consentry.fingerprint.content import MIN_CONTENT
from consentry.fingerprint.keypoints import KEYPOINTS
from consentry.registry import Collection, FileFingerprint, PartyKind, Registration, Work

__all__ = [
    "MAX_BATCH",
    "check_uploaded",
    "create_collection",
    "find_collection",
    "register_batch",
    "show_work",
    "uploaded_files",
]

# The registry's own batch (``registry.works``): one request is one transaction.
MAX_BATCH = 500
MAX_PATH = 4096  # PATH_MAX
MAX_TITLE = 300  # a file name (255 bytes) or a heading's first 200 characters
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
# Control characters: a path or title is printed in other parties' terminals.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_MEDIA_TYPE = re.compile(f"{_NAME}/{_NAME}")
_SPDX = re.compile(r"[A-Za-z0-9.+\-]+(?:\s+(?:AND|OR|WITH)\s+[A-Za-z0-9.+\-]+)*")
_EXCERPT = 12  # a u64 hash and a u32 offset (``ExcerptFingerprints.to_bytes``)
_PDQ = 32  # 256 bits
_ORB_TAG, _ORB_POINT = b"orb1", 36  # ``Keypoints.to_bytes``: 32-byte descriptor, 2 u16


def uploaded_files(files: Sequence[object]) -> list[FileFingerprint]:
    """The files of one uploaded batch, each read by ``FileFingerprint.from_json`` and
    checked against what the kernels of this registry's fingerprint version make.

    Raises ``InputError`` naming the file (its place in the batch and its path) and the
    field, for the first file that is not so; nothing of the batch is used then."""
    if not 1 <= len(files) <= MAX_BATCH:
        raise InputError(
            f"a batch holds 1 to {MAX_BATCH} files, not {len(files):,}; send them in batches"
        )
    read = []
    for k, data in enumerate(files):
        item = FileFingerprint.from_json(data, what=f"files[{k}]")
        check_uploaded(item, where=f"files[{k}] ({_shown(item.path)})")
        read.append(item)
    return read


def check_uploaded(item: FileFingerprint, *, where: str) -> None:
    """Raises ``InputError`` (beginning with ``where``) unless ``item`` has the form
    the fingerprint kernels of this registry's version make, as ``uploaded_files``
    requires of every file of a batch."""
    _check_path(item.path, where)
    _check_fingerprint(item.fingerprint, f"{where}: fingerprint")


def _shown(path: str) -> str:
    return repr(path if len(path) <= 80 else f"{path[:77]}...")


def _check_path(path: str, where: str) -> None:
    if not 1 <= len(path) <= MAX_PATH:
        raise InputError(f"{where}: path is {len(path):,} characters; send 1 to {MAX_PATH:,}")
    if _CONTROL.search(path) or not _encodes(path):
        raise InputError(f"{where}: path holds a control character or a lone surrogate")


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_fingerprint(fp: ContentFingerprint, where: str) -> None:
    params = FingerprintParams()
    if fp.params_version != params.version:
        raise InputError(
            f"{where}.params_version {fp.params_version[:20]!r} is not {params.version!r}, the "
            "version this registry compares; fingerprint with a consentry of its version"
        )
    if fp.kind is ContentKind.BINARY:
        raise InputError(f"{where}.kind binary is not registered; send text, code or images")
    if not _HEX_DIGEST.fullmatch(fp.digest):
        raise InputError(f"{where}.digest must be a SHA-256 in 64 lowercase hex digits")
    if len(fp.media_type) > 255 or not _MEDIA_TYPE.fullmatch(fp.media_type):
        raise InputError(f"{where}.media_type is not a media type such as text/plain")
    if not 1 <= len(fp.title) <= MAX_TITLE or _CONTROL.search(fp.title):
        raise InputError(f"{where}.title must be 1 to {MAX_TITLE} characters, none a control")
    if fp.spdx is not None and (len(fp.spdx) > 200 or not _SPDX.fullmatch(fp.spdx)):
        raise InputError(f"{where}.spdx is not an SPDX licence expression")
    if fp.kind is ContentKind.IMAGE:
        _check_image(fp, where)
    else:
        _check_text(fp, where, params)


def _check_text(fp: ContentFingerprint, where: str, params: FingerprintParams) -> None:
    code = fp.kind is ContentKind.CODE
    minhash = params.code_minhash if code else params.text_minhash
    _check_minhash(fp.minhash, 4 * minhash.permutations, f"{where}.minhash")
    _check_excerpts(fp.excerpts, fp.stream_length, f"{where}.excerpts")
    if fp.content_length is None or fp.content_length < MIN_CONTENT:
        raise InputError(
            f"{where}.content_length must be at least {MIN_CONTENT} normalised characters "
            "(less can never be shown copied)"
        )
    if fp.pdq is not None or fp.pdq_quality is not None or fp.crop_segments is not None:
        raise InputError(f"{where}: pdq, pdq_quality and crop_segments are for images only")
    view = fp.text_view
    if code != (view is not None):
        raise InputError(f"{where}.text_view must be given for code, and only for code")
    if view is not None:
        if not _HEX_DIGEST.fullmatch(view.digest):
            raise InputError(f"{where}.text_view.digest must be 64 lowercase hex digits")
        size = 4 * params.text_minhash.permutations
        _check_minhash(view.minhash, size, f"{where}.text_view.minhash")
        _check_excerpts(view.excerpts, None, f"{where}.text_view.excerpts")


def _check_minhash(value: bytes, size: int, where: str) -> None:
    if len(value) not in (0, size):
        raise InputError(f"{where} is {len(value):,} bytes; a signature is {size:,} (or none)")


def _check_excerpts(value: bytes, stream_length: int | None, where: str) -> None:
    if len(value) % _EXCERPT:
        raise InputError(f"{where} is {len(value):,} bytes, not a multiple of {_EXCERPT}")
    if stream_length is None:
        return
    count = len(value) // _EXCERPT
    offsets = np.frombuffer(value, dtype="<u4", offset=8 * count)
    if count > stream_length or (count and int(offsets.max()) >= stream_length):
        raise InputError(f"{where} point past the stream's {stream_length:,} characters")


def _check_image(fp: ContentFingerprint, where: str) -> None:
    if fp.minhash or fp.excerpts or fp.text_view is not None or fp.content_length is not None:
        raise InputError(f"{where}: an image has no minhash, excerpts, text_view or length")
    if fp.pdq is None or len(fp.pdq) != _PDQ:
        raise InputError(f"{where}.pdq must be {_PDQ} bytes (a 256-bit PDQ hash)")
    if fp.pdq_quality is None or fp.pdq_quality > 100:
        raise InputError(f"{where}.pdq_quality must be 0 to 100")
    crop = fp.crop_segments or b""
    if crop:
        count = int.from_bytes(crop[4:6], "big") if crop.startswith(_ORB_TAG) else -1
        if not 0 <= count <= KEYPOINTS or len(crop) != 6 + _ORB_POINT * count:
            raise InputError(
                f"{where}.crop_segments must be orb1, a count up to {KEYPOINTS} and "
                f"{_ORB_POINT} bytes per keypoint"
            )


def register_batch(
    ws: Workspace, files: Sequence[FileFingerprint], *, owner_id: str, collection: str | None
) -> list[Registration]:
    """Register one batch (``uploaded_files``) for ``owner_id`` in one transaction, in
    ``collection`` (an id or name of one of the owner's collections: created first,
    by ``create_collection``, so that no request makes two transactions)."""
    if len(files) > MAX_BATCH:
        raise InputError(f"a batch holds at most {MAX_BATCH} files; send them in batches")
    signer = ws.signer(owner_id, PartyKind.OWNER)
    name = None
    if collection is not None:
        found = find_collection(ws, collection, owner_id=owner_id)
        if found.owner_id != owner_id:
            raise NotFoundError(f"no collection {collection!r} for owner {owner_id}")
        name = found.name
    return list(ws.registry.works.register(owner_id, signer, files, collection=name))


def create_collection(ws: Workspace, name: str, *, owner_id: str) -> Collection:
    """The owner's collection called ``name``, created (and signed) on first use."""
    return ws.registry.works.collection(owner_id, name, ws.signer(owner_id, PartyKind.OWNER))


def find_collection(ws: Workspace, reference: str, *, owner_id: str) -> Collection:
    """A collection by id, or by name among ``owner_id``'s (collections are public)."""
    return ws.registry.works.find_collection(owner_id, reference)


def show_work(ws: Workspace, work_id: str) -> Work:
    """One registered work (its metadata is public), its owner's signature verified."""
    return ws.registry.works.get(work_id)
