"""ORB keypoints: their stored form, and what images have none."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import skimage
from PIL import Image

from consentry.fingerprint import fingerprint_bytes, image_query
from consentry.fingerprint.keypoints import KEYPOINTS, SIDE, Keypoints, keypoints_of

# Real photographs that ship inside scikit-image (no network at run time).
PHOTOS = Path(skimage.__file__).parent / "data"


def _photo(name: str) -> Image.Image:
    return Image.open(PHOTOS / name).convert("RGB")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_keypoints_round_trip_to_a_64th_of_a_pixel() -> None:
    points = keypoints_of(_photo("astronaut.png"))
    assert 400 <= len(points) <= KEYPOINTS
    assert points.positions.max() <= SIDE
    again = Keypoints.from_bytes(points.to_bytes())
    assert np.array_equal(again.descriptors, points.descriptors)
    assert np.abs(again.positions - points.positions).max() <= 1 / 128
    assert Keypoints.from_bytes(again.to_bytes()).to_bytes() == again.to_bytes()


def test_bytes_without_the_keypoint_tag_hold_no_keypoints() -> None:
    # Works registered before keypoints were kept carry segment hashes in that part.
    assert len(Keypoints.from_bytes(b"")) == 0
    assert len(Keypoints.from_bytes(bytes(range(64)))) == 0
    truncated = keypoints_of(_photo("camera.png")).to_bytes()[:-3]
    assert len(Keypoints.from_bytes(truncated)) == 0


def test_a_flat_image_has_no_keypoints() -> None:
    flat = Image.new("RGB", (300, 200), (120, 80, 40))
    assert len(keypoints_of(flat)) == 0
    assert (
        len(Keypoints.from_bytes(fingerprint_bytes("flat.png", _png(flat)).crop_segments or b""))
        == 0
    )


def test_registration_keeps_keypoints_and_a_query_has_the_mirror_images_too() -> None:
    data = _png(_photo("chelsea.png"))
    registered = Keypoints.from_bytes(fingerprint_bytes("cat.png", data).crop_segments or b"")
    as_given, mirrored = (Keypoints.from_bytes(k) for k in image_query(data, name="q").keypoints)
    assert np.array_equal(registered.descriptors, as_given.descriptors)
    assert len(mirrored) > 100
    assert not np.array_equal(mirrored.descriptors[:50], as_given.descriptors[:50])
