"""Which item ids a run has met, so that an item reusing an earlier one's id is named.

A run's outputs name each item by its id, and a lab selects what it trains on by
them: two items under one id, one admitted and one rejected, read as one admitted id.
The gate still decides each item on its content; a reused id is reported (the summary
and the command name how many, and the first ones), never silently passed.

Ids are kept as 64-bit digests, 8 bytes each, in sorted runs that merge as they grow
(each run at least twice the next), so a 100 million item corpus holds 800 MB at most
and a chunk's ids are looked up in a few binary searches per run. Two distinct ids share
a digest with odds of about n² / 2⁶⁵ over a whole run of n items (3 in 10,000 for 100
million): rare enough for a warning, which is all a repeat causes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["SeenIds", "repeats_across"]

# Digests held in a plain set before they are sorted into a run.
_BUFFER = 1 << 16


def _digest(item_id: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(item_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
        "little",
    )


class SeenIds:
    """The ids met so far; ``add_many`` says which of new ones were met before."""

    def __init__(self) -> None:
        self._recent: set[int] = set()
        # Sorted, disjoint from each other and from ``_recent``; largest first.
        self._runs: list[npt.NDArray[np.uint64]] = []

    def __len__(self) -> int:
        return len(self._recent) + sum(len(run) for run in self._runs)

    def add_many(self, item_ids: Iterable[str]) -> list[bool]:
        """For each id in order, whether an earlier id (here or before) was the same;
        all of them are then met."""
        digests = [_digest(i) for i in item_ids]
        earlier = np.zeros(len(digests), dtype=bool)
        if self._runs and digests:
            wanted = np.array(digests, dtype=np.uint64)
            for run in self._runs:
                at = np.minimum(np.searchsorted(run, wanted), len(run) - 1)
                earlier |= run[at] == wanted
        repeats = []
        recent = self._recent
        for digest, before in zip(digests, earlier.tolist(), strict=True):
            if before or digest in recent:
                repeats.append(True)
            else:
                recent.add(digest)
                repeats.append(False)
        if len(recent) >= _BUFFER:
            self._settle()
        return repeats

    def digests(self) -> npt.NDArray[np.uint64]:
        """Every id met, as its digest, sorted: what a part of a run keeps, so that ids
        met in more than one part are counted when the parts are merged."""
        if self._recent:
            self._settle()
        return np.sort(np.concatenate([*self._runs, np.empty(0, np.uint64)]))

    def _settle(self) -> None:
        run = np.sort(np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent)))
        self._recent = set()
        # Merged into the runs before it while it is as large as they are: each run at
        # least twice the next, so there are at most log2(n / buffer) of them.
        while self._runs and len(self._runs[-1]) <= 2 * len(run):
            run = np.sort(np.concatenate([self._runs.pop(), run]), kind="stable")
        self._runs.append(run)


def repeats_across(parts: Sequence[npt.NDArray[np.uint64]], *, ranges: int = 256) -> int:
    """The items of a run decided in parts that reuse an id an earlier part met, which
    no part could see, given each part's ``digests`` (sorted, each id once): an id met
    in k parts is reused k - 1 more times than the parts counted (each counted its
    own). Taken a range of digests at a time, so memory-mapped parts of a corpus of
    billions of items are held a ``ranges``-th at a time."""
    cuts = [np.uint64((1 << 64) * k // ranges) for k in range(1, ranges)]
    bounds = [[0, *np.searchsorted(part, cuts).tolist(), len(part)] for part in parts]
    repeats = 0
    for k in range(ranges):
        held = np.concatenate(
            [np.empty(0, np.uint64)]
            + [part[at[k] : at[k + 1]] for part, at in zip(parts, bounds, strict=True)]
        )
        repeats += len(held) - len(np.unique(held))
    return repeats
