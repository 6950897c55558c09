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

__all__ = ["KeypointParams", "Neighbours", "keypoint_hits", "keypoint_verdicts"]


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


@dataclass(frozen=True, slots=True)
class Neighbours:
    """For each descriptor of a query: the Hamming distance of the nearest stored
    descriptor and of the second nearest (``inf`` where there is none), and the
    nearest's row and position. Plain arrays, so the stored descriptors can be split
    (``ShardedIndex``) and each part's neighbours merged with ``nearest_of``."""

    first: npt.NDArray[np.float64]
    second: npt.NDArray[np.float64]
    rows: npt.NDArray[np.int64]
    positions: npt.NDArray[np.float32]

    @classmethod
    def among(
        cls,
        descriptors: npt.NDArray[np.uint8],
        positions: npt.NDArray[np.float32],
        rows: npt.NDArray[np.uint32],
        query: npt.NDArray[np.uint8],
    ) -> Neighbours:
        """The two nearest of ``descriptors`` (``rows`` names each one's row) to each
        of ``query``'s."""
        n = len(query)
        first, second = np.full(n, np.inf), np.full(n, np.inf)
        if not len(descriptors) or not n:
            return cls(first, second, np.zeros(n, np.int64), np.zeros((n, 2), np.float32))
        nearest = np.zeros(n, dtype=np.int64)
        cv2 = opencv()
        for pair in cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(query, descriptors, k=2):
            if pair:
                j = pair[0].queryIdx
                first[j], nearest[j] = pair[0].distance, pair[0].trainIdx
                if len(pair) == 2:
                    second[j] = pair[1].distance
        return cls(first, second, rows[nearest].astype(np.int64), positions[nearest])

    @classmethod
    def nearest_of(cls, parts: Sequence[Neighbours]) -> Neighbours:
        """The neighbours among every part's descriptors together."""
        if len(parts) == 1:
            return parts[0]
        first = np.stack([part.first for part in parts])
        best = np.argmin(first, axis=0)
        # The second nearest overall: the best part's second, or another part's first.
        others = first.copy()
        others[best, np.arange(first.shape[1])] = np.inf
        second = np.minimum(
            np.stack([part.second for part in parts])[best, np.arange(first.shape[1])],
            others.min(axis=0),
        )
        pick = np.arange(first.shape[1])
        return cls(
            first[best, pick],
            second,
            np.stack([part.rows for part in parts])[best, pick],
            np.stack([part.positions for part in parts])[best, pick],
        )


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
    if len(descriptors) < 2:
        return []
    return keypoint_verdicts(
        queries,
        [
            Neighbours.among(descriptors, positions, rows, query.descriptors)
            if len(query) >= params.min_inliers
            else None
            for query in queries
        ],
        params,
    )


def keypoint_verdicts(
    queries: Sequence[Keypoints],
    neighbours: Sequence[Neighbours | None],
    params: KeypointParams,
) -> list[tuple[int, float]]:
    """``keypoint_hits`` from each query's ``neighbours`` among at least two stored
    descriptors (None for a query too small to look up)."""
    best: dict[int, float] = {}
    for query, near in zip(queries, neighbours, strict=True):
        if near is None or len(query) < params.min_inliers:
            continue
        good = np.flatnonzero(
            (near.first <= params.max_distance) & (near.first < params.ratio * near.second)
        )
        if len(good) < params.min_inliers:
            continue
        owners = near.rows[good]
        for row in np.unique(owners).tolist():
            mine = good[owners == row]
            if len(mine) < params.min_inliers:
                continue
            inliers = _inliers(query.positions[mine], near.positions[mine], params)
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
