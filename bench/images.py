"""Image matching: recall per transformation, false matches, and cost, per method.

    python bench/images.py [--crops 10] [--unrelated 1000]

Registered works are twelve real photographs that ship inside scikit-image
(``skimage/data``: astronaut, camera, chelsea, coffee, coins, hubble_deep_field, ihc,
moon, motorcycle_left, retina, rocket, page); nothing is fetched over the network. Each
is looked up after a 50% downscale (three resampling filters), JPEG at quality 60 (three
chroma subsamplings), a mirror image (and a vertical flip, and both), and ``--crops``
random crops losing 5% and 15% of each side's length (the cut split at random between
the two edges).

Unrelated images, none derived from a registered photograph: tiles (30-95% of each
side, random place, random flip) of the other photographs scikit-image ships (brick,
grass, gravel, text, cell, clock_motion, microaneurysms; motorcycle_right is left out,
being the same scene as motorcycle_left); the 200 faces of its LFW subset, enlarged;
and procedural textures from a seeded generator (sinusoid fields, smoothed noise, random
discs and boxes, checkerboards, gradients with stripes). A false match is an unrelated
image found to reproduce any registered work.

Methods, each fingerprinting the same images in the same run:
- ``pdq``: pixel digest, or PDQ within 31 bits in any flip or rotation (what matching
  did before keypoints);
- ``pdq-regions``: the same, against PDQ hashes of the whole image and of 36 registered
  sub-regions (crops of 5, 10, 15 and 20% at 3 x 3 offsets);
- ``crop-resistant``: imagehash's crop_resistant_hash (Jain et al.), one segment in
  common within 25% bit errors, in either mirror orientation;
- ``orb``: ORB keypoints with ratio test and RANSAC-verified geometry
  (``consentry.index.keypoints``), looked up through the real ``MatchIndex``.

Costs: ms per image to fingerprint for registration and to look up one image (query
features and the search over the twelve works), and bytes per work of what the index
keeps. One JSON line per figure.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import imagehash
import numpy as np
import pdqhash
import skimage
from PIL import Image, ImageFilter, ImageOps

from _measure import emit
from consentry.fingerprint import fingerprint_bytes
from consentry.fingerprint.image import image_query
from consentry.index import IndexedWork, MatchIndex

DATA = Path(skimage.__file__).parent / "data"
REGISTERED = [
    "astronaut.png", "camera.png", "chelsea.png", "coffee.png", "coins.png",
    "hubble_deep_field.jpg", "ihc.png", "moon.png", "motorcycle_left.png", "retina.jpg",
    "rocket.jpg", "page.png",
]  # fmt: skip
HELD_OUT = [
    "brick.png", "grass.png", "gravel.png", "text.png", "cell.png", "clock_motion.png",
    "microaneurysms.png",
]  # fmt: skip
REGION_FRACTIONS = (0.05, 0.10, 0.15, 0.20)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(image: Image.Image, subsampling: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=60, subsampling=subsampling)
    return buffer.getvalue()


def _crop(image: Image.Image, fraction: float, rng: random.Random) -> Image.Image:
    w, h = image.size
    left, top = rng.uniform(0, fraction), rng.uniform(0, fraction)
    box = (
        round(left * w),
        round(top * h),
        round(w - (fraction - left) * w),
        round(h - (fraction - top) * h),
    )
    return image.crop(box)


def transformed(photos: list[Image.Image], crops: int, seed: int) -> dict[str, list[Any]]:
    """Per transformation: (registered index, encoded copy)."""
    rng = random.Random(seed)
    out: dict[str, list[Any]] = {
        "resize50": [], "jpeg60": [], "mirror": [], "crop5": [], "crop15": [],
    }  # fmt: skip
    filters = [Image.Resampling.LANCZOS, Image.Resampling.BILINEAR, Image.Resampling.BICUBIC]
    for i, photo in enumerate(photos):
        half = (photo.width // 2, photo.height // 2)
        out["resize50"] += [(i, _png(photo.resize(half, f))) for f in filters]
        out["jpeg60"] += [(i, _jpeg(photo, s)) for s in (0, 1, 2)]
        out["mirror"] += [
            (i, _png(ImageOps.mirror(photo))),
            (i, _png(ImageOps.flip(photo))),
            (i, _png(ImageOps.flip(ImageOps.mirror(photo)))),
        ]
        out["crop5"] += [(i, _png(_crop(photo, 0.05, rng))) for _ in range(crops)]
        out["crop15"] += [(i, _png(_crop(photo, 0.15, rng))) for _ in range(crops)]
    return out


def _texture(rng: np.random.Generator, size: int = 256) -> Image.Image:
    y, x = np.mgrid[0:size, 0:size] / size
    kind = int(rng.integers(0, 5))
    if kind == 0:  # sinusoid fields
        channels = [
            127 + 120 * np.sin(rng.uniform(2, 30) * x + rng.uniform(0, 6))
            * np.cos(rng.uniform(2, 30) * y + rng.uniform(0, 6))
            for _ in range(3)
        ]  # fmt: skip
        pixels = np.stack(channels, -1)
    elif kind == 1:  # smoothed noise
        coarse = rng.uniform(0, 255, (int(rng.integers(4, 40)),) * 2 + (3,)).astype(np.uint8)
        pixels = np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC))
        pixels = pixels + rng.normal(0, 12, pixels.shape)
    elif kind == 2:  # discs and boxes
        pixels = np.full((size, size, 3), rng.uniform(0, 255, 3))
        for _ in range(int(rng.integers(5, 40))):
            cx, cy, r = rng.uniform(0, 1, 3)
            colour = rng.uniform(0, 255, 3)
            if rng.random() < 0.5:
                pixels[(x - cx) ** 2 + (y - cy) ** 2 < (r / 4) ** 2] = colour
            else:
                pixels[(abs(x - cx) < r / 5) & (abs(y - cy) < r / 7)] = colour
    elif kind == 3:  # checkerboards
        n = int(rng.integers(3, 24))
        board = ((x * n).astype(int) + (y * n).astype(int)) % 2
        a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        pixels = np.where(board[..., None] == 1, a, b)
    else:  # gradients with stripes
        angle = rng.uniform(0, np.pi)
        ramp = np.cos(angle) * x + np.sin(angle) * y
        stripes = (np.sin(ramp * rng.uniform(20, 120)) > 0) * rng.uniform(20, 80)
        pixels = np.stack([ramp * rng.uniform(80, 255) + stripes] * 3, -1)
        pixels = pixels * rng.uniform(0.5, 1, 3)
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    return image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.5))))


def unrelated(count: int, seed: int) -> list[bytes]:
    """``count`` encoded images derived from no registered photograph."""
    rng, generator = random.Random(seed), np.random.default_rng(seed)
    tiles, faces, textures = count * 7 // 25, count // 5, 0
    out = []
    for k in range(tiles):
        photo = Image.open(DATA / HELD_OUT[k % len(HELD_OUT)]).convert("RGB")
        w, h = photo.size
        tw, th = int(w * rng.uniform(0.3, 0.95)), int(h * rng.uniform(0.3, 0.95))
        x, y = rng.randint(0, w - tw), rng.randint(0, h - th)
        tile = photo.crop((x, y, x + tw, y + th))
        out.append(_png(ImageOps.mirror(tile) if rng.random() < 0.5 else tile))
    for face in np.load(DATA / "lfw_subset.npy")[:faces]:
        grey = Image.fromarray((face * 255).clip(0, 255).astype(np.uint8))
        out.append(_png(grey.resize((128, 128), Image.Resampling.BICUBIC)))
    textures = count - len(out)
    out += [_png(_texture(generator)) for _ in range(textures)]
    return out


# -- the methods ---------------------------------------------------------------------


def _rgb(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _bits(image: Image.Image) -> np.ndarray[Any, Any]:
    return np.packbits(pdqhash.compute(np.asarray(image))[0])


def _regions(image: Image.Image) -> list[np.ndarray[Any, Any]]:
    w, h = image.size
    out = [_bits(image)]
    for c in REGION_FRACTIONS:
        for ax in (0, c / 2, c):
            for ay in (0, c / 2, c):
                box = (
                    round(ax * w),
                    round(ay * h),
                    round(w - (c - ax) * w),
                    round(h - (c - ay) * h),
                )
                out.append(_bits(image.crop(box)))
    return out


class PdqMethod:
    """Whole-image PDQ (``regions`` False) or PDQ of registered sub-regions too."""

    def __init__(self, regions: bool) -> None:
        self.regions = regions
        self.stored: list[tuple[int, np.ndarray[Any, Any]]] = []

    def register(self, works: list[bytes]) -> None:
        for i, data in enumerate(works):
            image = _rgb(data)
            for bits in _regions(image) if self.regions else [_bits(image)]:
                self.stored.append((i, bits))

    def bytes_per_work(self) -> float:
        return 32 * len(self.stored) / (1 + max(i for i, _ in self.stored))

    def find(self, data: bytes) -> set[int]:
        hashes = pdqhash.compute_dihedral(np.asarray(_rgb(data)))[0]
        queries = np.packbits(np.array(hashes, dtype=np.uint8), axis=1)
        stored = np.stack([bits for _, bits in self.stored])
        distance = np.unpackbits(stored[:, None, :] ^ queries[None], axis=2).sum(2).min(1)
        return {self.stored[k][0] for k in np.flatnonzero(distance <= 31).tolist()}


class CropResistantMethod:
    def __init__(self) -> None:
        self.stored: list[Any] = []

    def register(self, works: list[bytes]) -> None:
        self.stored = [imagehash.crop_resistant_hash(_rgb(data)) for data in works]

    def bytes_per_work(self) -> float:
        return 8 * sum(len(h.segment_hashes) for h in self.stored) / len(self.stored)

    def find(self, data: bytes) -> set[int]:
        image = _rgb(data)
        queries = [imagehash.crop_resistant_hash(im) for im in (image, ImageOps.mirror(image))]
        return {
            i
            for i, stored in enumerate(self.stored)
            if any(q.matches(stored, region_cutoff=1, bit_error_rate=0.25) for q in queries)
        }


class OrbMethod:
    """Registration's fingerprints (PDQ and keypoints) through the real match index."""

    def __init__(self) -> None:
        self.index = MatchIndex()
        self.sizes: list[int] = []

    def register(self, works: list[bytes]) -> None:
        records = []
        for i, data in enumerate(works):
            printed = fingerprint_bytes(f"work{i}.png", data)
            keypoints = printed.crop_segments or b""
            self.sizes.append(len(keypoints) + 32)
            records.append(
                IndexedWork(
                    str(i), "owner", "image", printed.digest, pdq=printed.pdq, keypoints=keypoints
                )
            )
        self.index.add(records)

    def bytes_per_work(self) -> float:
        return sum(self.sizes) / len(self.sizes)

    def find(self, data: bytes) -> set[int]:
        query = image_query(data, name="query.png")
        found = self.index.match_image(query.digest, query.orientations, keypoints=query.keypoints)
        return {int(m.work_id) for m in found}


METHODS: dict[str, Callable[[], Any]] = {
    "pdq": lambda: PdqMethod(regions=False),
    "pdq-regions": lambda: PdqMethod(regions=True),
    "crop-resistant": CropResistantMethod,
    "orb": OrbMethod,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=int, default=10)
    parser.add_argument("--unrelated", type=int, default=1000)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    photos = [Image.open(DATA / name).convert("RGB") for name in REGISTERED]
    works = [_png(photo) for photo in photos]
    copies = transformed(photos, args.crops, args.seed)
    negatives = unrelated(args.unrelated, args.seed)
    emit("images", registered=len(works), unrelated=len(negatives),
         copies={name: len(items) for name, items in copies.items()})  # fmt: skip
    for name in args.methods.split(","):
        method = METHODS[name]()
        start = time.perf_counter()
        method.register(works)
        register_ms = (time.perf_counter() - start) * 1000 / len(works)
        lookups, spent = 0, 0.0
        for transformation, items in copies.items():
            start = time.perf_counter()
            hits = sum(i in method.find(data) for i, data in items)
            spent += time.perf_counter() - start
            lookups += len(items)
            emit("recall", method=name, transformation=transformation,
                 recall=round(hits / len(items), 4), found=hits, of=len(items))  # fmt: skip
        start = time.perf_counter()
        false = sum(bool(method.find(data)) for data in negatives)
        spent += time.perf_counter() - start
        lookups += len(negatives)
        emit("false_matches", method=name, unrelated=len(negatives), false_matches=false)
        emit("cost", method=name, register_ms_per_image=round(register_ms, 2),
             lookup_ms_per_image=round(spent * 1000 / lookups, 2),
             bytes_per_work=round(method.bytes_per_work()))  # fmt: skip


if __name__ == "__main__":
    main()
