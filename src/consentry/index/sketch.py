"""The offline sketch: everything a publication check needs, nothing of the works.

One file, signed with the registry's log key and carrying the log checkpoint it was
made at, holds: the works' exact digests (SHA-256 of the whole normalised work), their
MinHash *band keys* (each mixes eight minima, so no shingle can be read back), their
winnow fingerprints (64-bit hashes of 100-character windows, each naming the works that
hold it; a membership test needs the whole window), their PDQ image hashes and ORB
keypoints (binary descriptors of corner patches with their positions), and for
each work only its notice: a JSON object naming the work (``work_id``) and its owner
(``owner_id``), which the lookups report, and whatever else the exporter put in it (the
check puts the owner's name and terms), which the sketch carries without reading.
Fingerprints shared by too many works to be evidence of copying one of them are left out.

Layout: ``CONSENTRY-SKETCH`` and a version byte; the signed note (length-prefixed); the
body (length-prefixed JSON header, then the zstd-compressed arrays and notices). The
note's text names the body's SHA-256, so a changed byte anywhere fails verification.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import zstandard

from consentry.crypto import Signer
from consentry.errors import InputError, VerificationError
from consentry.fingerprint import FingerprintParams, StreamPrints
from consentry.fingerprint.content import EMPTY_DIGEST
from consentry.fingerprint.keypoints import Keypoints
from consentry.index import _kernels
from consentry.index.keypoints import KeypointParams, keypoint_hits
from consentry.index.match_index import MatchParams
from consentry.index.records import IndexedWork, Match, MatchKind, strongest
from consentry.index.segment import BANDS, PERMUTATIONS, Segment, band_keys, image_hits
from consentry.log.note import NoteVerifier, open_note, sign_note

# The exact digest of content that normalises to nothing.
EMPTY = bytes.fromhex(EMPTY_DIGEST)

__all__ = ["Sketch"]

_MAGIC = b"CONSENTRY-SKETCH\x02"
_UPDATE_MAGIC = b"CONSENTRY-SKETCH-UPDATE\x02"
_TITLE = "consentry.sketch/v2"
# Version 1 (before image keypoints): refused with a clear message, not misread.
_OLD_MAGICS = (b"CONSENTRY-SKETCH\x01", b"CONSENTRY-SKETCH-UPDATE\x01")
# A query sharing this many of the 32 band keys with a work estimates Jaccard
# similarity (shared/32)^(1/8) >= 0.77; at 0.5 this many shared bands is < 1e-6 likely.
_MIN_BANDS = 4

_ARRAYS = (
    ("digests", "S32"),
    ("digest_rows", "<i8"),
    ("band_keys", "<u4"),
    ("posting_gaps", "<u8"),
    ("posting_rows", "<u4"),
    ("image_hashes", "<u8"),
    ("image_rows", "<u4"),
    ("keypoint_descriptors", "u1"),
    ("keypoint_positions", "<f4"),
    ("keypoint_rows", "<u4"),
    ("row_works", "<u4"),
)


@dataclass
class Sketch:
    """A ``Lookup`` (``match_prints``, ``match_image``) over the arrays of a sketch
    file, and each work's notice as the file carries it."""

    header: dict[str, Any]
    arrays: dict[str, npt.NDArray[Any]]
    # One JSON object per work, in row-number order; see the module docstring.
    work_notices: list[dict[str, Any]]
    # The chain digest of the last section read: an update is appended after it.
    chain: str = field(default="", init=False)
    _works: list[str] = field(init=False, repr=False)
    _owners: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._works = [n["work_id"] for n in self.work_notices]
        self._owners = [n["owner_id"] for n in self.work_notices]

    # -- building ---------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        works: Sequence[IndexedWork],
        notices: Sequence[Mapping[str, Any]],
        *,
        checkpoint: str,
        params: MatchParams | None = None,
        fingerprints: FingerprintParams | None = None,
        image_keypoints: bool = False,
    ) -> Sketch:
        """A sketch of ``works`` (as the index takes them) with their notices: JSON
        objects, each with the ``work_id`` and ``owner_id`` of one of them. Raises
        ``InputError`` when a work has no notice, or a notice names no work or owner.

        ``image_keypoints``: carry the images' ORB keypoints, so that crops are found
        offline too. Off by default: descriptors of hundreds of corner patches can be
        inverted into a coarse picture of the image, and a sketch is public (guarantee
        4: it reveals no registered image); without them an offline check finds images
        by their pixels and PDQ hashes, and the registry's check finds crops."""
        params = params or MatchParams()
        segment = Segment.build(list(works))
        records = _named([dict(notice) for notice in notices], "the notices given")
        numbers = {notice["work_id"]: n for n, notice in enumerate(records)}
        missing = [w for w in segment.work_ids.tolist() if w not in numbers]
        if missing:
            raise InputError(f"no notice for work {missing[0]}; give one for every work")
        evidence = segment.posting_spread <= params.max_works_per_fingerprint
        hashes = segment.posting_hashes[evidence]
        by_hash = np.argsort(hashes, kind="stable")
        header = {
            "format": _TITLE,
            "checkpoint": checkpoint,
            "fingerprints": (fingerprints or FingerprintParams()).version,
            "params": {
                "near_threshold": params.near_threshold,
                "max_works_per_fingerprint": params.max_works_per_fingerprint,
                "pdq_max_distance": params.pdq_max_distance,
                "noise": params.noise,
                "keypoints": asdict(params.keypoints),
            },
            "image_keypoints": image_keypoints,
            "works": len(records),
        }
        kept = slice(None) if image_keypoints else slice(0)
        arrays = {
            "digests": segment.digests_sorted,
            "digest_rows": segment.digest_order,
            # Per row, the low 32 bits of its band keys (rows without a signature keep
            # 0, which no query uses); sorted per band when the sketch is read.
            "band_keys": _row_band_keys(segment),
            # Sorted hashes as gaps: their high bytes are mostly zero and compress.
            "posting_gaps": np.diff(hashes[by_hash], prepend=np.uint64(0)),
            "posting_rows": segment.posting_works[evidence][by_hash],
            "image_hashes": segment.image_hashes,
            "image_rows": segment.image_works,
            "keypoint_descriptors": segment.keypoint_descriptors[kept],
            "keypoint_positions": segment.keypoint_positions[kept],
            "keypoint_rows": segment.keypoint_works[kept],
            "row_works": np.array([numbers[w] for w in segment.work_ids.tolist()], np.uint32),
        }
        return cls(header, _searchable(arrays), records)

    # -- the file ---------------------------------------------------------------------

    def _payload(self) -> bytes:
        parts = [
            np.ascontiguousarray(self.arrays[name], dtype=dtype).tobytes()
            for name, dtype in _ARRAYS
        ]
        notices = json.dumps(self.work_notices, sort_keys=True).encode()
        return b"".join(parts) + notices

    def _section(self, key: Signer, origin: str, *, after: str = "") -> bytes:
        """This sketch as one signed section of a sketch file: a base (``after`` empty)
        or an update appended after the section whose chain digest is ``after``."""
        shapes = {name: list(self.arrays[name].shape) for name, _ in _ARRAYS}
        header = json.dumps({**self.header, "shapes": shapes}, sort_keys=True).encode()
        body = (
            len(header).to_bytes(4, "big")
            + header
            + zstandard.ZstdCompressor(level=10).compress(self._payload())
        )
        chain = hashlib.sha256(after.encode() + body).hexdigest()
        note = sign_note(f"{_TITLE}\n{chain}\n", origin, key).encode("utf-8")
        return len(note).to_bytes(4, "big") + note + len(body).to_bytes(8, "big") + body

    def to_bytes(self, key: Signer, origin: str) -> bytes:
        """A sketch file of this sketch alone, signed with the log key named ``origin``."""
        return _MAGIC + self._section(key, origin)

    def to_update_bytes(self, key: Signer, origin: str, *, after: Sketch) -> bytes:
        """An update file of this sketch for ``after`` (a sketch read with
        ``from_bytes``): one section, signed with the log key named ``origin`` and
        chained after ``after``'s last, which ``apply`` appends to ``after``'s file."""
        return _UPDATE_MAGIC + self._section(key, origin, after=after.chain)

    @classmethod
    def from_bytes(cls, data: bytes, log: NoteVerifier, *, source: str = "sketch") -> Sketch:
        """Read and verify a sketch file: its base and every update appended to it, in
        order. Raises ``VerificationError`` when a section is not signed by ``log``, was
        changed, reordered or cut short; ``InputError`` when it is not a sketch, or is
        one of an older version."""
        if data.startswith(_OLD_MAGICS):
            raise InputError(
                f"{source} is a version 1 sketch, made before image keypoints; export a "
                "new one with 'consentry sketch export'"
            )
        if not data.startswith(_MAGIC):
            raise InputError(
                f"{source} is not a consentry sketch; export one with 'consentry sketch export'"
            )
        at, chain = len(_MAGIC), ""
        sketch: Sketch | None = None
        while at < len(data) or sketch is None:
            part, chain, at = _read_section(data, at, chain, log, source)
            sketch = part if sketch is None else sketch.extended(part)
        sketch.chain = chain
        return sketch

    @staticmethod
    def apply(sketch_file: bytes, update_file: bytes, log: NoteVerifier) -> bytes:
        """The sketch file with an update file appended, once both verify together
        (the update must follow the sketch's last section, signed by ``log``)."""
        if update_file.startswith(_OLD_MAGICS):
            raise InputError(
                "the update is a version 1 sketch update, made before image keypoints; "
                "export a new sketch with 'consentry sketch export'"
            )
        if not update_file.startswith(_UPDATE_MAGIC):
            raise InputError(
                "the update is not a consentry sketch update; make one with "
                "'consentry sketch update SKETCH --out UPDATE' at the registry"
            )
        Sketch.from_bytes(sketch_file, log)
        combined = sketch_file + update_file[len(_UPDATE_MAGIC) :]
        try:
            Sketch.from_bytes(combined, log, source="the update")
        except VerificationError as exc:
            raise VerificationError(
                f"{exc}; or it does not follow this sketch (already applied, or made for "
                "another one): get the update made for this sketch"
            ) from exc
        return combined

    def extended(self, update: Sketch) -> Sketch:
        """This sketch with an update applied: its works added, its notices replacing
        those of the same works (terms changed), its checkpoint."""
        notices = list(self.work_notices)
        number = {work: i for i, work in enumerate(self._works)}
        for work, notice in zip(update._works, update.work_notices, strict=True):
            if work in number:
                notices[number[work]] = notice
            else:
                number[work] = len(notices)
                notices.append(notice)
        mine, theirs = self.arrays, update.arrays
        offset = len(mine["row_works"])
        remap = np.array([number[work] for work in update._works], dtype=np.uint32)
        digests = np.concatenate([mine["digests"], theirs["digests"]])
        order = np.argsort(digests, kind="stable")
        hashes = np.concatenate([mine["posting_hashes"], theirs["posting_hashes"]])
        by_hash = np.argsort(hashes, kind="stable")
        rows = np.concatenate([mine["posting_rows"], theirs["posting_rows"] + offset])
        row_works = np.concatenate([mine["row_works"], remap[theirs["row_works"]]])
        # Boilerplate is judged over the whole sketch, not section by section: a
        # fingerprint a few works hold in the base and a few in an update may be held
        # by more works than evidence allows once they are one sketch.
        by_hash = by_hash[
            _evidence(
                hashes[by_hash],
                row_works[rows[by_hash]],
                int(self.header["params"]["max_works_per_fingerprint"]),
            )
        ]
        arrays = {
            "digests": digests[order],
            "digest_rows": np.concatenate([mine["digest_rows"], theirs["digest_rows"] + offset])[
                order
            ],
            "band_keys": np.concatenate([mine["band_keys"], theirs["band_keys"]]),
            "posting_gaps": np.diff(hashes[by_hash], prepend=np.uint64(0)),
            "posting_rows": rows[by_hash].astype(np.uint32),
            "image_hashes": np.concatenate([mine["image_hashes"], theirs["image_hashes"]]),
            "image_rows": np.concatenate(
                [mine["image_rows"], theirs["image_rows"] + offset]
            ).astype(np.uint32),
            "keypoint_descriptors": np.concatenate(
                [mine["keypoint_descriptors"], theirs["keypoint_descriptors"]]
            ),
            "keypoint_positions": np.concatenate(
                [mine["keypoint_positions"], theirs["keypoint_positions"]]
            ),
            "keypoint_rows": np.concatenate(
                [mine["keypoint_rows"], theirs["keypoint_rows"] + offset]
            ).astype(np.uint32),
            "row_works": row_works,
        }
        header = {**self.header, "checkpoint": update.header["checkpoint"], "works": len(notices)}
        return Sketch(header, _searchable(arrays), notices)

    @property
    def image_keypoints(self) -> bool:
        """Whether this sketch carries images' keypoints (see ``build``)."""
        return bool(self.header.get("image_keypoints", True))

    @property
    def checkpoint(self) -> str:
        """The signed log checkpoint (a note) the sketch's last section was made at."""
        return str(self.header["checkpoint"])

    # -- Lookup -----------------------------------------------------------------------

    def _match(
        self, row: int, kind: MatchKind, score: float, spans: tuple[tuple[int, int], ...] = ()
    ) -> Match:
        number = int(self.arrays["row_works"][row])
        return Match(self._works[number], self._owners[number], kind, score, spans)

    def match_prints(self, prints: Sequence[StreamPrints]) -> list[Match]:
        """As ``MatchIndex.match_prints``, from what the sketch keeps: a near copy is
        told by shared band keys (its score estimated from their count), and only
        fingerprints that were evidence when the sketch was made are searched."""
        found: list[Match] = []
        for stream in prints:
            found += self._exact(stream.digest)
            found += self._near(stream.signature)
            found += self._excerpts(stream)
        return strongest(found)

    def match_image(
        self, digest: str, hashes: Sequence[bytes], *, keypoints: Sequence[bytes] = ()
    ) -> list[Match]:
        """As ``MatchIndex.match_image``: the same pixels, a close PDQ hash, or keypoints
        in one consistent geometry."""
        found = self._exact(bytes.fromhex(digest)) if digest else []
        limit = int(self.header["params"]["pdq_max_distance"])
        hits = image_hits(self.arrays["image_hashes"], [h for h in hashes if h], limit)
        for i, score in hits:
            found.append(self._match(int(self.arrays["image_rows"][i]), MatchKind.IMAGE, score))
        for row, score in keypoint_hits(
            self.arrays["keypoint_descriptors"],
            self.arrays["keypoint_positions"],
            self.arrays["keypoint_rows"],
            [Keypoints.from_bytes(k) for k in keypoints],
            KeypointParams(**self.header["params"]["keypoints"]),
        ):
            found.append(self._match(row, MatchKind.IMAGE, score))
        return strongest(found)

    def _exact(self, digest: bytes) -> list[Match]:
        if len(digest) != 32 or digest == EMPTY:
            return []  # nothing is a copy of nothing, whatever an old sketch holds
        digests = self.arrays["digests"]
        key = np.frombuffer(digest, dtype="S32")[0]
        left = int(np.searchsorted(digests, key, "left"))
        right = int(np.searchsorted(digests, key, "right"))
        rows = self.arrays["digest_rows"][left:right].tolist()
        return [self._match(row, MatchKind.EXACT, 1.0) for row in rows]

    def _near(self, signature: npt.NDArray[np.uint32]) -> list[Match]:
        if len(signature) != PERMUTATIONS:
            return []
        keys = band_keys(signature[None, :])[0].astype(np.uint32)
        stored, rows = self.arrays["band_keys_sorted"], self.arrays["band_rows"]
        shared: dict[int, int] = {}
        for band in range(BANDS):
            left = int(np.searchsorted(stored[band], keys[band], "left"))
            right = int(np.searchsorted(stored[band], keys[band], "right"))
            if keys[band] == 0:
                continue
            for row in rows[band, left:right].tolist():
                shared[row] = shared.get(row, 0) + 1
        out = [
            self._match(row, MatchKind.NEAR, round((count / BANDS) ** (1 / 8), 4))
            for row, count in shared.items()
            if count >= _MIN_BANDS
        ]
        if len(out) > int(self.header["params"]["max_works_per_fingerprint"]):
            return []  # structurally identical works: no evidence of copying one of them
        return sorted(out, key=lambda m: -m.score)

    def _excerpts(self, stream: StreamPrints) -> list[Match]:
        query = stream.excerpts
        if not len(query):
            return []
        hashes = self.arrays["posting_hashes"]  # rebuilt from the gaps on reading
        left = np.searchsorted(hashes, query.hashes, "left")
        right = np.searchsorted(hashes, query.hashes, "right")
        hit = np.flatnonzero(right > left)
        if not len(hit):
            return []
        rows, counts, first, starts, ends = _kernels.excerpt_evidence(
            hit.astype(np.int64),
            left[hit].astype(np.int64),
            right[hit].astype(np.int64),
            # A sketch keeps only fingerprints that are evidence: each counts.
            np.ones(len(query), dtype=np.int64),
            1,
            self.arrays["posting_rows"],
            query.offsets,
            int(self.header["params"]["noise"]),
        )
        bounds, starts_list, ends_list = first.tolist(), starts.tolist(), ends.tolist()
        out = []
        for number, (row, count) in enumerate(zip(rows.tolist(), counts.tolist(), strict=True)):
            a, b = bounds[number], bounds[number + 1]
            spans = tuple(zip(starts_list[a:b], ends_list[a:b], strict=True))
            out.append(self._match(row, MatchKind.EXCERPT, round(count / len(query), 4), spans))
        return sorted(out, key=lambda m: -m.score)


def _read_section(
    data: bytes, at: int, after: str, log: NoteVerifier, source: str
) -> tuple[Sketch, str, int]:
    """The section at ``at``: its sketch, its chain digest, where the next one starts."""
    note_length = int.from_bytes(data[at : at + 4], "big")
    note_bytes = data[at + 4 : at + 4 + note_length]
    body_at = at + 4 + note_length + 8
    body_length = int.from_bytes(data[body_at - 8 : body_at], "big")
    body = data[body_at : body_at + body_length]
    if len(note_bytes) != note_length or len(body) != body_length or body_length < 4:
        raise VerificationError(f"{source} was changed or truncated after it was signed")
    try:
        text, _ = open_note(note_bytes.decode("utf-8"), [log])
    except UnicodeDecodeError as exc:
        raise VerificationError(f"{source} was changed or truncated after it was signed") from exc
    except VerificationError as exc:
        raise VerificationError(
            f"{source} is not signed by the registry {log.name}: {exc}"
        ) from exc
    chain = hashlib.sha256(after.encode() + body).hexdigest()
    if text != f"{_TITLE}\n{chain}\n":
        raise VerificationError(f"{source} was changed or truncated after it was signed")
    header_length = int.from_bytes(body[:4], "big")
    header = json.loads(body[4 : 4 + header_length])
    payload = zstandard.ZstdDecompressor().decompress(body[4 + header_length :])
    arrays: dict[str, npt.NDArray[Any]] = {}
    offset = 0
    for name, dtype in _ARRAYS:
        shape = tuple(header["shapes"][name])
        count = int(np.prod(shape))
        array = np.frombuffer(payload, dtype=dtype, count=count, offset=offset).reshape(shape)
        offset += array.nbytes
        arrays[name] = array if dtype == "S32" else array.astype(array.dtype.newbyteorder("="))
    sketch = Sketch(header, _searchable(arrays), _notices(payload[offset:], source))
    return sketch, chain, body_at + body_length


def _notices(data: bytes, source: str) -> list[dict[str, Any]]:
    """The notices of a section, read as far as the lookups need them: each must name
    its work and owner (the signature says who wrote them, not that they are whole)."""
    try:
        notices = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{source} holds unreadable work notices ({exc})") from exc
    return _named(notices, source)


def _named(notices: Any, where: str) -> list[dict[str, Any]]:
    """``notices``, once each is a JSON object naming a work and its owner."""
    if not isinstance(notices, list) or not all(
        isinstance(n, dict)
        and isinstance(n.get("work_id"), str)
        and isinstance(n.get("owner_id"), str)
        for n in notices
    ):
        raise InputError(f"{where}: each work notice must name its work_id and owner_id")
    return notices


def _row_band_keys(segment: Segment) -> npt.NDArray[np.uint32]:
    keys = np.zeros(segment.band_rows.shape[::-1], dtype=np.uint32)
    for band in range(BANDS):
        rows = segment.band_rows[band]
        keys[rows, band] = segment.band_keys_sorted[band].astype(np.uint32)
    return keys


def _evidence(
    hashes: npt.NDArray[np.uint64], works: npt.NDArray[np.uint32], limit: int
) -> npt.NDArray[np.bool_]:
    """Which postings (``hashes`` sorted, each with the work it names) are evidence: those
    of a hash no more than ``limit`` distinct works hold."""
    pairs = np.unique(np.stack([hashes, works.astype(np.uint64)]), axis=1)
    held, counts = np.unique(pairs[0], return_counts=True)
    return ~np.isin(hashes, held[counts > limit])


def _searchable(arrays: dict[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
    """The arrays as stored, plus what lookups search: band keys sorted per band with
    their rows, and the posting hashes summed back from their gaps."""
    keys = arrays["band_keys"]
    order = np.argsort(keys, axis=0, kind="stable")
    return {
        **arrays,
        "band_keys_sorted": np.take_along_axis(keys, order, axis=0).T.copy(),
        "band_rows": order.T.copy(),
        "posting_hashes": np.cumsum(arrays["posting_gaps"], dtype=np.uint64),
    }
