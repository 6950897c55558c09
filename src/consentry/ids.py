"""Record ids: a prefix that says what the record is, then 80 random bits in base32.

The prefix is the only place an id's kind is written down: the log commits to a
party, a work or a record according to it, and a command can tell an owner's id from a
work's before asking the registry.
"""

from __future__ import annotations

import base64
from enum import StrEnum

from consentry.replay import random_bytes

__all__ = ["IdKind", "kind_of", "new_id"]


class IdKind(StrEnum):
    """What an id names, as its prefix."""

    OWNER = "own"
    LICENSEE = "lic"
    WORK = "wrk"
    COLLECTION = "col"
    DISPUTE = "dsp"
    TERMS = "trm"
    REQUEST = "req"
    GRANT = "grt"
    REVOCATION = "rev"
    RUN = "run"
    # An account on the registry's pages: never a party, never on the log.
    ACCOUNT = "acc"


def new_id(kind: IdKind) -> str:
    """``prefix_`` followed by 16 random base32 characters (80 bits)."""
    return f"{kind.value}_{base64.b32encode(random_bytes(10)).decode('ascii').lower()}"


def kind_of(identifier: str) -> IdKind | None:
    """The kind an id's prefix names, or ``None`` for an id of no known kind."""
    prefix, sep, _ = identifier.partition("_")
    if not sep:
        return None
    try:
        return IdKind(prefix)
    except ValueError:
        return None
