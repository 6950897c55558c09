"""Matching ORB keypoints against registered images: the index's and the sketch's one
implementation, so both find the same works.

Each query descriptor is matched to its two nearest stored descriptors (Hamming
distance, brute force in OpenCV); it counts for a work when the nearest is within
``max_distance`` bits and clearly nearer than the second (Lowe's ratio test). A work
with enough such matches is verified geometrically: the matched positions must agree
on one similarity transform (RANSAC, OpenCV's ``estimateAffinePartial2D``) with a scale
a copy could have, and the matches it explains (inliers) are the evidence. Unrelated
images share a few descriptors by chance, never many in one consistent geometry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from consentry._opencv import opencv
from consentry.fingerprint.keypoints import Keypoints

__all__ = ["KeypointParams", "keypoint_hits"]


@dataclass(frozen=True, slots=True)
class KeypointParams:
    """When shared keypoints are a copy: at least ``min_inliers`` matches (each within
    ``max_distance`` bits and under ``ratio`` of the second-nearest distance) agree on
    one transform to within ``reprojection`` pixels (of the 512-pixel frame), whose
    scale lies within a factor ``max_scale`` of the registered image's."""

    min_inliers: int = 24
    max_distance: int = 64
    ratio: float = 0.8
    reprojection: float = 6.0
    max_scale: float = 4.0


def keypoint_hits(
    descriptors: npt.NDArray[np.uint8],
    positions: npt.NDArray[np.float32],
    rows: npt.NDArray[np.uint32],
    queries: Sequence[Keypoints],
    params: KeypointParams,
) -> list[tuple[int, float]]:
    """(row, score) for each row of stored keypoints (``rows`` names each keypoint's
    row) that one of ``queries`` (an image's keypoints, and its mirror image's)
    reproduces; the score is the share of the query's keypoints the transform explains,
    the best over the queries."""
    cv2 = opencv()

    best: dict[int, float] = {}
    if len(descriptors) < 2:
        return []
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    for query in queries:
        if len(query) < params.min_inliers:
            continue
        pairs = matcher.knnMatch(query.descriptors, descriptors, k=2)
        good = [
            (m.queryIdx, m.trainIdx)
            for m, n in (p for p in pairs if len(p) == 2)
            if m.distance <= params.max_distance and m.distance < params.ratio * n.distance
        ]
        if len(good) < params.min_inliers:
            continue
        found = np.array(good, dtype=np.int64)
        owners = rows[found[:, 1]]
        for row in np.unique(owners).tolist():
            mine = found[owners == row]
            if len(mine) < params.min_inliers:
                continue
            inliers = _inliers(query.positions[mine[:, 0]], positions[mine[:, 1]], params)
            if inliers >= params.min_inliers:
                score = round(inliers / len(query), 4)
                best[row] = max(best.get(row, 0.0), score)
    return sorted(best.items(), key=lambda hit: -hit[1])


def _inliers(
    source: npt.NDArray[np.float32], target: npt.NDArray[np.float32], params: KeypointParams
) -> int:
    cv2 = opencv()

    # Typed as always found; it is None where RANSAC finds no transform.
    found: Any = cv2.estimateAffinePartial2D(
        source.reshape(-1, 1, 2),
        target.reshape(-1, 1, 2),
        method=cv2.RANSAC,
        ransacReprojThreshold=params.reprojection,
    )
    transform, mask = found
    if transform is None or mask is None:
        return 0
    scale = math.hypot(float(transform[0, 0]), float(transform[1, 0]))
    if not 1 / params.max_scale <= scale <= params.max_scale:
        return 0
    return int(mask.sum())
