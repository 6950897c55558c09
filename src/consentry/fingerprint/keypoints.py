"""Crop-resistant image features: ORB keypoints (OpenCV), found again in a cropped copy.

A perceptual hash summarises the whole frame, so cutting 5% off an image moves every
one of its coefficients: PDQ finds under 1% of 5% crops of real photographs at its
match distance, and PDQ hashes of a grid of registered sub-regions about 60%
(``bench/images.py``). ORB (Rublee et al., ICCV 2011) describes up to 500 corners, each
by a 256-bit binary descriptor of the patch around it; a crop, a rescale or a
re-encode keeps most corners and their descriptors, and the positions of the matched
corners must agree on one similarity transform (``consentry.index.keypoints``), which
chance matches between unrelated images do not.

Images are brought to a longest side of ``SIDE`` pixels of luminance before detection,
so positions share one scale. The stored form is ``orb1``, a count (u16, big-endian),
the descriptors (32 bytes each), then the positions (two u16 each, in 1/64 pixel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from consentry._opencv import opencv

__all__ = ["KEYPOINTS", "SIDE", "Keypoints", "keypoints_of"]

KEYPOINTS = 500
SIDE = 512
_TAG = b"orb1"
_SUBPIXEL = 64


@dataclass(frozen=True, slots=True)
class Keypoints:
    """An image's ORB keypoints: ``positions`` (n, 2) float32 in the ``SIDE``-pixel
    frame and ``descriptors`` (n, 32) uint8, row for row."""

    positions: npt.NDArray[np.float32]
    descriptors: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.descriptors)

    @classmethod
    def empty(cls) -> Keypoints:
        return cls(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))

    def to_bytes(self) -> bytes:
        fixed = np.round(self.positions * _SUBPIXEL).clip(0, 65535).astype(">u2")
        return (
            _TAG
            + len(self).to_bytes(2, "big")
            + np.ascontiguousarray(self.descriptors).tobytes()
            + fixed.tobytes()
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Keypoints:
        """The keypoints ``to_bytes`` wrote. Anything else (empty, or the segment hashes
        works registered before keypoints were kept) holds none: those works match by
        their pixels and PDQ only until registered again."""
        if not data.startswith(_TAG) or len(data) < 6:
            return cls.empty()
        count = int.from_bytes(data[4:6], "big")
        if len(data) != 6 + 36 * count:
            return cls.empty()
        descriptors = np.frombuffer(data, np.uint8, 32 * count, 6).reshape(count, 32)
        fixed = np.frombuffer(data, ">u2", 2 * count, 6 + 32 * count).reshape(count, 2)
        return cls((fixed / _SUBPIXEL).astype(np.float32), descriptors.copy())


def _frame(rgb: Image.Image) -> npt.NDArray[np.uint8]:
    grey = rgb.convert("L")
    scale = SIDE / max(grey.size)
    size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
    return np.asarray(grey.resize(size, Image.Resampling.BILINEAR))


def keypoints_of(rgb: Image.Image, *, mirror: bool = False) -> Keypoints:
    """ORB keypoints of an RGB image (of its mirror image when ``mirror``), at most
    ``KEYPOINTS``; none for an image too flat or too small to have corners."""
    cv2 = opencv()

    pixels = _frame(rgb)
    if mirror:
        pixels = np.ascontiguousarray(pixels[:, ::-1])
    found, descriptors = cv2.ORB.create(nfeatures=KEYPOINTS).detectAndCompute(pixels, None)
    if descriptors is None or not len(found):
        return Keypoints.empty()
    positions = np.array([point.pt for point in found], dtype=np.float32).reshape(-1, 2)
    return Keypoints(positions, np.ascontiguousarray(descriptors, dtype=np.uint8))
