"""Running one change twice and getting the same bytes: the moment and the randomness a
change draws, fixed for as long as a ``replaying`` block lasts.

A party signing over HTTP never gives the registry its key. The registry runs the change
once without committing, to learn the exact messages the party must sign (documents,
events, log leaves), and sends them; the party signs them on its own machine; the
registry runs the change again, now with the party's signatures, and commits. For the
second run to ask for the same messages, it must see the same time, make the same ids
and draw the same salts: inside ``replaying(seed, now)`` the clock starts at ``now`` and
moves on a microsecond each time it is read (so the works of one batch keep the order
they were registered in, as outside a replay), and ``random_bytes`` is a keyed stream of
``seed``. Outside it both are the real thing.

A run that meets a message it holds no signature for is ``spoiled``: the registry
rolls its transaction back after writing everything and raises ``DryRunEndedError``
instead of committing, and the party is asked to sign what was missing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "DryRunEndedError",
    "fixed_moment",
    "random_bytes",
    "replay_base",
    "replaying",
    "spoil",
    "spoiled",
]


class DryRunEndedError(Exception):
    """A dry run reached its commit and was rolled back, as it was asked to."""


@dataclass(slots=True)
class _Replay:
    seed: bytes
    now: datetime
    spoiled: bool = False
    drawn: int = field(default=0)
    ticks: int = field(default=0)

    def tick(self) -> datetime:
        moment = self.now + timedelta(microseconds=self.ticks)
        self.ticks += 1
        return moment

    def draw(self, n: int) -> bytes:
        # HMAC-SHA256 in counter mode: each draw its own block(s), in the order drawn.
        out = b""
        while len(out) < n:
            out += hmac.new(self.seed, self.drawn.to_bytes(8, "big"), hashlib.sha256).digest()
            self.drawn += 1
        return out[:n]


_current: ContextVar[_Replay | None] = ContextVar("consentry_replay", default=None)


@contextmanager
def replaying(seed: bytes, now: datetime) -> Iterator[None]:
    """Inside: the clock reads ``now`` and ``random_bytes`` is the stream ``seed`` keys.

    ``seed`` must be secret and random (it makes the log's salts): 32 bytes."""
    if len(seed) < 32:
        raise ValueError("a replay seed is at least 32 bytes")
    token = _current.set(_Replay(seed, now))
    try:
        yield
    finally:
        _current.reset(token)


def fixed_moment() -> datetime | None:
    """The replay's clock, read (it moves on a microsecond), or ``None`` outside one."""
    replay = _current.get()
    return None if replay is None else replay.tick()


def replay_base() -> datetime | None:
    """The moment a replay began at (its first round's), or ``None`` outside one."""
    replay = _current.get()
    return None if replay is None else replay.now


def random_bytes(n: int) -> bytes:
    """``n`` random bytes: the operating system's, or the replay's stream inside one."""
    replay = _current.get()
    return os.urandom(n) if replay is None else replay.draw(n)


def spoil() -> None:
    """Mark the replay running now as one that must not commit (a signature is missing)."""
    replay = _current.get()
    if replay is None:
        raise RuntimeError("only a replay can be spoiled")
    replay.spoiled = True


def spoiled() -> bool:
    """Whether the change running now must be rolled back at its commit."""
    replay = _current.get()
    return replay is not None and replay.spoiled
