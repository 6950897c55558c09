"""Image fingerprints: an exact pixel digest, PDQ, and crop-resistant ORB keypoints.

PDQ (with its 0-100 quality score) survives resizing and re-encoding; PDQ and pHash
alike miss nearly every 5% crop, so each image also gets its ORB keypoints
(``consentry.fingerprint.keypoints``), which a crop keeps. ``bench/images.py`` measured
them against PDQ of registered sub-regions and imagehash's segment-based
crop-resistant hash.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image, UnidentifiedImageError

from consentry.errors import InputError
from consentry.fingerprint.keypoints import keypoints_of

__all__ = ["MAX_PIXELS", "ImageFingerprint", "ImageQuery", "image_fingerprint", "image_query"]

MAX_PIXELS = 64_000_000


@dataclass(frozen=True, slots=True)
class ImageFingerprint:
    digest: str
    pdq: bytes
    pdq_quality: int
    # The image's ORB keypoints (``Keypoints.to_bytes``); kept under the name the
    # registry's "crop" fingerprint part has carried since it held segment hashes.
    crop_segments: bytes
    width: int
    height: int
    media_type: str


def _open(data: bytes, *, name: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InputError(
                    f"{name} is {width}x{height} pixels, over the {MAX_PIXELS:,} limit; "
                    "register a downscaled copy"
                )
            image.load()
    except UnidentifiedImageError as exc:
        # Pillow's own message names the buffer object by its address: a reason that
        # would differ from one reading of the same bytes to the next.
        raise InputError(
            f"{name} is not a readable image (no image format recognised); re-export it"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{name} is not a readable image ({exc}); re-export it") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"{name} is a decompression bomb; refusing to decode it") from exc
    return image


def _decoded(data: bytes, *, name: str) -> tuple[Image.Image, npt.NDArray[np.uint8], str]:
    """RGB image, its pixels, and the media type; decoded once for every hash."""
    image = _open(data, name=name)
    media_type = Image.MIME.get(image.format or "", "application/octet-stream")
    # Palette and grey images with transparency go through RGBA so the transparent
    # index is honoured rather than guessed.
    if image.mode in {"P", "PA", "LA"} or "transparency" in image.info:
        image = image.convert("RGBA")
    rgb = image.convert("RGB")
    return rgb, np.asarray(rgb), media_type


def _pixel_digest(rgb: Image.Image, pixels: npt.NDArray[np.uint8]) -> str:
    # The digest covers decoded pixels, so a lossless re-encode is the same image.
    return hashlib.sha256(f"{rgb.width}x{rgb.height}\n".encode() + pixels.tobytes()).hexdigest()


def _packed(bits: object) -> bytes:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()


def image_fingerprint(data: bytes, *, name: str) -> ImageFingerprint:
    """Fingerprint an encoded image for registration. Raises ``InputError`` for corrupt
    or huge images."""
    rgb, pixels, media_type = _decoded(data, name=name)
    bits, quality = pdqhash.compute(pixels)
    return ImageFingerprint(
        digest=_pixel_digest(rgb, pixels),
        pdq=_packed(bits),
        pdq_quality=int(quality),
        crop_segments=keypoints_of(rgb).to_bytes(),
        width=rgb.width,
        height=rgb.height,
        media_type=media_type,
    )


@dataclass(frozen=True, slots=True)
class ImageQuery:
    """What matching an image needs: its pixel digest, the PDQ hashes of its eight
    flips and rotations (the first is the image as given), so a mirrored or rotated
    copy of a registered image still matches, and the ORB keypoints of the image and of
    its mirror image (ORB finds rotations itself, not mirrors), so a cropped one does."""

    digest: str
    orientations: tuple[bytes, ...]
    pdq_quality: int
    media_type: str
    keypoints: tuple[bytes, ...] = ()


def image_query(data: bytes, *, name: str) -> ImageQuery:
    """Hashes for looking an image up: one decode, one PDQ pass over all orientations,
    and keypoints of the image and its mirror image."""
    rgb, pixels, media_type = _decoded(data, name=name)
    hashes, quality = pdqhash.compute_dihedral(pixels)
    return ImageQuery(
        digest=_pixel_digest(rgb, pixels),
        orientations=tuple(_packed(h) for h in hashes),
        pdq_quality=int(quality),
        media_type=media_type,
        keypoints=(keypoints_of(rgb).to_bytes(), keypoints_of(rgb, mirror=True).to_bytes()),
    )
