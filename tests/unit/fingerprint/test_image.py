from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from consentry.errors import InputError
from consentry.fingerprint import ContentKind, fingerprint_bytes
from consentry.fingerprint.keypoints import Keypoints


def _picture(seed: int = 1, size: tuple[int, int] = (256, 192)) -> Image.Image:
    """A natural-ish image: smooth gradients plus shapes, not noise (noise has no
    perceptual structure to hash)."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    channels = []
    for _ in range(3):
        fx, fy, phase = [*rng.uniform(0.5, 4, 2).tolist(), rng.uniform(0, 6)]
        channels.append(127 + 120 * np.sin(fx * x / w * 6 + phase) * np.cos(fy * y / h * 6))
    pixels = np.stack(channels, axis=-1).clip(0, 255).astype(np.uint8)
    for _ in range(6):
        cx, cy, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(8, 40))
        mask = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        pixels[mask] = rng.integers(0, 255, 3)
    return Image.fromarray(pixels)


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _pdq_distance(a: bytes, b: bytes) -> int:
    return int(
        np.unpackbits(
            np.frombuffer(bytes(x ^ y for x, y in zip(a, b, strict=True)), np.uint8)
        ).sum()
    )


def test_resized_and_reencoded_copies_stay_within_pdq_distance() -> None:
    image = _picture()
    original = fingerprint_bytes("art.png", _encode(image, "PNG"))
    assert original.kind is ContentKind.IMAGE and original.pdq is not None
    assert original.pdq_quality is not None and original.pdq_quality > 50
    copies = [
        _encode(image, "JPEG", quality=70),
        _encode(image.resize((128, 96)), "PNG"),
        _encode(image.resize((512, 384)), "WEBP", quality=80),
    ]
    for data in copies:
        copy = fingerprint_bytes("copy", data)
        assert copy.pdq is not None
        assert _pdq_distance(original.pdq, copy.pdq) <= 31


def test_different_pictures_are_far_apart() -> None:
    a = fingerprint_bytes("a.png", _encode(_picture(1), "PNG"))
    b = fingerprint_bytes("b.png", _encode(_picture(2), "PNG"))
    assert a.pdq is not None and b.pdq is not None
    assert _pdq_distance(a.pdq, b.pdq) > 60


def test_lossless_reencoding_keeps_the_exact_digest() -> None:
    image = _picture()
    assert (
        fingerprint_bytes("a.png", _encode(image, "PNG")).digest
        == fingerprint_bytes("a.bmp", _encode(image, "BMP")).digest
        == fingerprint_bytes("a.tiff", _encode(image, "TIFF")).digest
    )


def test_crop_resistant_keypoints_survive_a_crop() -> None:
    image = _picture(size=(400, 300))
    whole = fingerprint_bytes("a.png", _encode(image, "PNG"))
    cropped = fingerprint_bytes("b.png", _encode(image.crop((20, 15, 380, 285)), "PNG"))
    a, b = (Keypoints.from_bytes(f.crop_segments or b"") for f in (whole, cropped))
    assert len(a) and len(b)
    # Most of the crop's corners are found again, their descriptors a few bits apart.
    distance = np.unpackbits(a.descriptors[:, None, :] ^ b.descriptors[None], axis=2).sum(2)
    assert (distance.min(axis=0) <= 32).mean() > 0.5


def test_a_corrupt_image_is_an_input_error_naming_the_file() -> None:
    data = _encode(_picture(), "PNG")
    with pytest.raises(InputError, match=r"broken\.png is not a readable image"):
        fingerprint_bytes("broken.png", data[: len(data) // 3])
