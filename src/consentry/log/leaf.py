"""Log leaves: what the public log says about each registry event, without saying who.

A leaf is RFC 8785 canonical JSON ``{"body": {...}, "signature": base64}``. The body
names the event's kind and time; the actor, the subject and the event's content appear
only as salted commitments ``SHA-256(domain || salt || value)``, and a training
manifest adds the root of a tree over the commitments of the works it lists. The
registry keeps the salts apart from the log: deleting a salt (erasure) leaves every
leaf, and so every root and proof, intact, while the commitment can no longer be tied
to anyone. The actor signs the body, so the operator cannot forge a leaf in its name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from consentry.crypto import PublicKey, Signer, canonical_json, parse_json_object
from consentry.errors import InputError, VerificationError
from consentry.log.proofs import MerkleTree
from consentry.log.tree import leaf_hash
from consentry.replay import random_bytes

__all__ = [
    "MAX_LEAF_BYTES",
    "SALT_BYTES",
    "Commitment",
    "Domain",
    "Leaf",
    "new_salt",
    "sign_leaf",
    "works_tree",
]

MAX_LEAF_BYTES = 65_535  # a tile entry's length is two bytes
SALT_BYTES = 32
_LEAF_TYPE = "consentry.log-leaf"
_SIGNED_AS = b"consentry/log-leaf/v1\n"


class Domain(StrEnum):
    """What a commitment commits to; part of the hash, so a commitment to a work can
    never be passed off as one to a party."""

    PARTY = "party"
    WORK = "work"
    RECORD = "record"  # terms, requests, grants, revocations, runs
    CONTENT = "content"  # an event's whole canonical body


def new_salt() -> bytes:
    return random_bytes(SALT_BYTES)


@dataclass(frozen=True, slots=True)
class Commitment:
    """``SHA-256(domain || 0x00 || salt || value)``: binding, and hiding while the
    32-byte random salt stays secret."""

    domain: Domain
    salt: bytes
    value: str

    def __post_init__(self) -> None:
        if len(self.salt) != SALT_BYTES:
            raise InputError(f"a commitment salt is {SALT_BYTES} bytes, not {len(self.salt)}")

    @property
    def digest(self) -> bytes:
        prefix = f"consentry/commitment/{self.domain.value}".encode() + b"\x00"
        return hashlib.sha256(prefix + self.salt + self.value.encode("utf-8")).digest()


def works_tree(commitments: Sequence[bytes]) -> MerkleTree:
    """The RFC 6962 tree a manifest carries over its works' commitments, in byte order:
    sorted, so that two neighbouring leaves also prove a work is *not* listed."""
    return MerkleTree([leaf_hash(c) for c in sorted(commitments)])


@dataclass(frozen=True, slots=True)
class Leaf:
    """One parsed leaf. ``works_root``/``works``: a manifest's tree of work commitments."""

    event: str
    at: str
    actor: bytes
    subject: bytes
    content: bytes
    signature: bytes
    works_root: bytes | None = None
    works: int | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": _LEAF_TYPE,
            "version": 1,
            "event": self.event,
            "at": self.at,
            "actor": self.actor.hex(),
            "subject": self.subject.hex(),
            "content": self.content.hex(),
        }
        if self.works_root is not None:
            body["works_root"] = self.works_root.hex()
            body["works"] = self.works
        return body

    def to_bytes(self) -> bytes:
        data = canonical_json(
            {"body": self.body(), "signature": base64.b64encode(self.signature).decode()}
        )
        if len(data) > MAX_LEAF_BYTES:
            raise InputError(f"a log leaf is at most {MAX_LEAF_BYTES} bytes, not {len(data)}")
        return data

    def verify(self, actor_key: PublicKey) -> None:
        """Raise ``VerificationError`` unless ``actor_key`` signed this leaf."""
        actor_key.verify(self.signature, _SIGNED_AS + canonical_json(self.body()))

    @classmethod
    def parse(cls, data: bytes) -> Leaf:
        """A leaf from its bytes; raises ``VerificationError`` for anything that is not
        a canonical consentry leaf."""
        try:
            outer = parse_json_object(data, what="log leaf")
            body, signature = outer["body"], outer["signature"]
            if set(outer) != {"body", "signature"} or body["type"] != _LEAF_TYPE:
                raise KeyError("type")
            leaf = cls(
                event=str(body["event"]),
                at=str(body["at"]),
                actor=_hash(body["actor"]),
                subject=_hash(body["subject"]),
                content=_hash(body["content"]),
                signature=base64.b64decode(signature, validate=True),
                works_root=_hash(body["works_root"]) if "works_root" in body else None,
                works=int(body["works"]) if "works" in body else None,
            )
        except (InputError, KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise VerificationError(f"log entry is not a consentry leaf ({exc})") from exc
        if leaf.to_bytes() != data:
            raise VerificationError("log entry is not in canonical form")
        return leaf


def _hash(text: Any) -> bytes:
    value = bytes.fromhex(str(text))
    if len(value) != 32:
        raise ValueError(f"{text!r} is not a SHA-256 hash")
    return value


def sign_leaf(
    *,
    event: str,
    at: str,
    actor: Commitment,
    subject: Commitment,
    content: Commitment,
    key: Signer,
    works: Sequence[bytes] | None = None,
) -> Leaf:
    """The leaf for one event, signed by its actor's ``key``. ``works``: for a training
    manifest, the commitments of the works it lists."""
    unsigned = Leaf(
        event=event,
        at=at,
        actor=actor.digest,
        subject=subject.digest,
        content=content.digest,
        signature=b"",
        works_root=None if works is None else works_tree(works).root(),
        works=None if works is None else len(works),
    )
    signature = key.sign(_SIGNED_AS + canonical_json(unsigned.body()))
    leaf = replace(unsigned, signature=signature)
    leaf.to_bytes()  # refuse an oversized leaf here, before it is stored
    return leaf
