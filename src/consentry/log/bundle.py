"""Offline proofs: a C2SP ``tlog-proof@v1`` that one entry is in the log, and a usage
proof that a training manifest on the log lists a given work.

A ``tlog-proof`` carries the entry's index, its audit path and the (cosigned)
checkpoint; consentry puts the leaf itself in the ``extra`` line, so the file is all a
third party needs besides the log's verifier key. A usage proof adds the work's id and
salt, and the work's audit path in the manifest's tree of work commitments.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from consentry.crypto import canonical_json, parse_json_object
from consentry.errors import InputError, VerificationError
from consentry.log.leaf import Commitment, Domain, Leaf
from consentry.log.note import Checkpoint, NoteVerifier, open_checkpoint
from consentry.log.proofs import verify_inclusion
from consentry.log.tree import leaf_hash
from consentry.log.witness import WitnessPolicy

__all__ = ["ProofBundle", "UsageProof"]

_HEADER = "c2sp.org/tlog-proof@v1"
_USAGE_TYPE = "consentry.usage-proof"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"{what} {text[:40]!r} is not base64") from exc


@dataclass(frozen=True, slots=True)
class ProofBundle:
    """One entry's inclusion in a checkpointed tree (C2SP tlog-proof@v1)."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: str  # the signed note, cosignatures included
    extra: bytes | None = None

    def to_text(self) -> str:
        lines = [_HEADER]
        if self.extra is not None:
            lines.append(f"extra {_b64(self.extra)}")
        lines.append(f"index {self.index}")
        lines += [_b64(h) for h in self.proof]
        return "\n".join(lines) + "\n\n" + self.checkpoint

    @classmethod
    def parse(cls, text: str) -> ProofBundle:
        head, separator, note = text.partition("\n\n")
        lines = head.split("\n")
        if not separator or not lines or lines[0] != _HEADER:
            raise InputError(f"not a {_HEADER} proof: it must start with that line")
        position, extra = 1, None
        if position < len(lines) and lines[position].startswith("extra "):
            extra = _unb64(lines[position][6:], "proof extra data")
            position += 1
        if position >= len(lines) or not lines[position].startswith("index "):
            raise InputError("proof has no 'index N' line after its header")
        number = lines[position][6:]
        if not number.isdigit() or (number != "0" and number.startswith("0")):
            raise InputError(f"proof index {number!r} is not a decimal without leading zeros")
        proof = tuple(_unb64(line, "proof hash") for line in lines[position + 1 :])
        return cls(int(number), proof, note, extra)

    def verify(
        self, log: NoteVerifier, entry: bytes, *, witnesses: WitnessPolicy | None = None
    ) -> Checkpoint:
        """The checkpoint, once the log's signature, the witness quorum (if a policy is
        given) and ``entry``'s audit path all check; ``VerificationError`` otherwise."""
        checkpoint = open_checkpoint(self.checkpoint, log)
        if witnesses is not None:
            witnesses.check(self.checkpoint, checkpoint)
        verify_inclusion(self.index, checkpoint.size, leaf_hash(entry), self.proof, checkpoint.root)
        return checkpoint


@dataclass(frozen=True, slots=True)
class UsageProof:
    """That the manifest in log entry ``log_proof.extra`` lists work ``work_id``."""

    work_id: str
    salt: bytes
    position: int  # of the work's commitment among the manifest's sorted commitments
    path: tuple[bytes, ...]
    log_proof: ProofBundle

    def to_json(self) -> str:
        document: dict[str, Any] = {
            "type": _USAGE_TYPE,
            "version": 1,
            "work_id": self.work_id,
            "salt": self.salt.hex(),
            "position": self.position,
            "path": [_b64(h) for h in self.path],
            "log_proof": self.log_proof.to_text(),
        }
        return canonical_json(document).decode("utf-8") + "\n"

    @classmethod
    def parse(cls, text: str) -> UsageProof:
        document = parse_json_object(text, what="usage proof")
        if document.get("type") != _USAGE_TYPE:
            raise InputError(f"not a usage proof: its type must be {_USAGE_TYPE!r}")
        try:
            return cls(
                work_id=str(document["work_id"]),
                salt=bytes.fromhex(str(document["salt"])),
                position=int(document["position"]),
                path=tuple(_unb64(str(h), "usage proof hash") for h in document["path"]),
                log_proof=ProofBundle.parse(str(document["log_proof"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"usage proof is incomplete ({exc}); export it again") from exc

    def verify(
        self, log: NoteVerifier, *, witnesses: WitnessPolicy | None = None
    ) -> tuple[Leaf, Checkpoint]:
        """The manifest's leaf and the checkpoint, once every link checks: the work's
        commitment is in the manifest's tree, the manifest's leaf is in the log, the
        checkpoint is the log's. ``VerificationError`` names the first link that fails."""
        if self.log_proof.extra is None:
            raise VerificationError("usage proof carries no manifest leaf")
        entry = self.log_proof.extra
        leaf = Leaf.parse(entry)
        if leaf.works_root is None or leaf.works is None:
            raise VerificationError(f"log entry is a {leaf.event!r} event, not a manifest")
        commitment = Commitment(Domain.WORK, self.salt, self.work_id).digest
        try:
            verify_inclusion(
                self.position, leaf.works, leaf_hash(commitment), self.path, leaf.works_root
            )
        except VerificationError as exc:
            raise VerificationError(f"work {self.work_id} is not in this manifest: {exc}") from exc
        checkpoint = self.log_proof.verify(log, entry, witnesses=witnesses)
        return leaf, checkpoint
