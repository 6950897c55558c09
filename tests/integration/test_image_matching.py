"""Issue 19 point 5: cropped, rescaled, re-encoded and mirrored copies of real
photographs are found by their keypoints; unrelated images are not."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageOps

from consentry.fingerprint import fingerprint_bytes, image_query
from consentry.index import IndexedWork, MatchIndex
from tests.unit.fingerprint.test_image_keypoints import PHOTOS, _photo, _png

REGISTERED = ["astronaut.png", "camera.png", "coffee.png", "rocket.jpg", "motorcycle_left.png"]


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=60)
    return buffer.getvalue()


def _crop(image: Image.Image, fraction: float, rng: random.Random) -> Image.Image:
    w, h = image.size
    left, top = rng.uniform(0, fraction), rng.uniform(0, fraction)
    right, bottom = fraction - left, fraction - top
    return image.crop(
        (round(left * w), round(top * h), round(w - right * w), round(h - bottom * h))
    )


@pytest.fixture(scope="module")
def index() -> MatchIndex:
    works = []
    for name in REGISTERED:
        printed = fingerprint_bytes(name, _png(_photo(name)))
        works.append(
            IndexedWork(name, "own", "image", printed.digest, pdq=printed.pdq,
                        keypoints=printed.crop_segments or b"")
        )  # fmt: skip
    return MatchIndex.build(works)


def _found(index: MatchIndex, data: bytes) -> list[str]:
    query = image_query(data, name="query")
    return [
        m.work_id
        for m in index.match_image(query.digest, query.orientations, keypoints=query.keypoints)
    ]


TRANSFORMS = {
    "resize-50": lambda im, _: _png(im.resize((im.width // 2, im.height // 2))),
    "jpeg-q60": lambda im, _: _jpeg(im),
    "mirror": lambda im, _: _png(ImageOps.mirror(im)),
    "crop-5": lambda im, rng: _png(_crop(im, 0.05, rng)),
    "crop-15": lambda im, rng: _png(_crop(im, 0.15, rng)),
}


@pytest.mark.parametrize("transform", list(TRANSFORMS))
def test_regression_cropped_images_are_found(index: MatchIndex, transform: str) -> None:
    rng = random.Random(transform)
    for name in REGISTERED:
        copy = TRANSFORMS[transform](_photo(name), rng)
        assert _found(index, copy) == [name], (name, transform)


def test_unrelated_images_match_nothing(index: MatchIndex) -> None:
    rng = random.Random(5)
    unrelated = []
    # Tiles of photographs that are not registered (motorcycle_right, the same scene as
    # a registered one, is left out), and textures.
    for name in ["brick.png", "grass.png", "gravel.png", "chelsea.png", "cell.png", "page.png"]:
        photo = _photo(name)
        for _ in range(3):
            w, h = photo.size
            tw, th = int(w * rng.uniform(0.4, 0.9)), int(h * rng.uniform(0.4, 0.9))
            x, y = rng.randint(0, w - tw), rng.randint(0, h - th)
            unrelated.append(_png(photo.crop((x, y, x + tw, y + th))))
    noise = np.random.default_rng(5).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    unrelated.append(_png(Image.fromarray(noise).resize((400, 400))))
    assert (PHOTOS / "brick.png").is_file()
    assert [found for data in unrelated if (found := _found(index, data))] == []
