"""Witness cosignatures (C2SP ``tlog-cosignature``, Ed25519) and quorum policies.

A witness that has checked a checkpoint is consistent with everything it saw before
adds a note signature line to it. The line's blob is 76 bytes: key ID (4, from
``SHA-256(name || 0x0A || 0x04 || public key)``), the time as seconds since the epoch (8,
big-endian), and an Ed25519 signature (64) over ``cosignature/v1\\ntime <t>\\n`` followed
by the checkpoint body. A client trusts a checkpoint once a quorum of the witnesses it
knows have cosigned it, so a log cannot show it one history and others another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from consentry.crypto import PublicKey, Signer
from consentry.errors import InputError, VerificationError
from consentry.log.note import (
    Checkpoint,
    key_id,
    key_string,
    parse_key_string,
    signature_line,
    signature_lines,
)

__all__ = ["Cosignature", "WitnessKey", "WitnessPolicy", "cosign", "cosignatures"]

_COSIGNATURE = 0x04


def _message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True, slots=True)
class WitnessKey:
    """A witness's name and Ed25519 public key."""

    name: str
    public: PublicKey

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, _COSIGNATURE, self.public.raw)

    def vkey(self) -> str:
        return key_string(self.name, _COSIGNATURE, self.public)

    @classmethod
    def from_vkey(cls, vkey: str) -> WitnessKey:
        name, public = parse_key_string(vkey, _COSIGNATURE, "witness key")
        return cls(name, public)


@dataclass(frozen=True, slots=True)
class Cosignature:
    witness: str
    timestamp: int


def cosign(checkpoint: Checkpoint, name: str, key: Signer, timestamp: int) -> str:
    """The signature line witness ``name`` adds to ``checkpoint`` at ``timestamp``."""
    witness = WitnessKey(name, key.public)
    signature = key.sign(_message(checkpoint.body(), timestamp))
    return signature_line(name, witness.key_id + timestamp.to_bytes(8, "big") + signature)


def cosignatures(
    note: str, checkpoint: Checkpoint, witnesses: Sequence[WitnessKey]
) -> list[Cosignature]:
    """The valid cosignatures in ``note`` by the given witnesses (lines by others are
    skipped; a line by one of them that does not verify is an error)."""
    _, lines = signature_lines(note)
    known = {(w.name, w.key_id): w for w in witnesses}
    found: list[Cosignature] = []
    for name, blob in lines:
        witness = known.get((name, blob[:4]))
        if witness is None:
            continue
        if len(blob) != 76:
            raise VerificationError(f"cosignature by {name} is {len(blob)} bytes, not 76")
        timestamp = int.from_bytes(blob[4:12], "big")
        witness.public.verify(blob[12:], _message(checkpoint.body(), timestamp))
        found.append(Cosignature(name, timestamp))
    return found


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """Trust a checkpoint once ``quorum`` of ``witnesses`` have cosigned it."""

    witnesses: tuple[WitnessKey, ...]
    quorum: int

    def __post_init__(self) -> None:
        if not 1 <= self.quorum <= len(self.witnesses):
            raise InputError(
                f"a quorum of {self.quorum} needs between 1 and {len(self.witnesses)} witnesses"
            )

    def check(self, note: str, checkpoint: Checkpoint) -> list[Cosignature]:
        """The quorum's cosignatures; ``VerificationError`` when there are too few."""
        found = cosignatures(note, checkpoint, self.witnesses)
        distinct = {c.witness for c in found}
        if len(distinct) < self.quorum:
            raise VerificationError(
                f"checkpoint has {len(distinct)} of the {self.quorum} witness cosignatures "
                f"the policy requires ({', '.join(sorted(distinct)) or 'none'})"
            )
        return found
