"""The witness's one decision: cosign a submitted checkpoint, or say why not.

``Witness.add_checkpoint`` takes the body of a C2SP tlog-witness ``add-checkpoint``
request and returns the reply, status code included, so the HTTP server around it only
moves bytes. The checks run in the order the protocol gives them: an unknown origin is
404, a checkpoint no trusted key signed is 403, an old size past the checkpoint is 400,
an old size that is not the one the witness last cosigned is 409 with that size, the same
size with another root is 409, a consistency proof that does not verify is 422. Only
then is the state advanced (compare-and-swap) and the cosignature returned.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from consentry.crypto import Signer
from consentry.errors import InputError, VerificationError
from consentry.log.note import Checkpoint, NoteVerifier, open_note
from consentry.log.proofs import verify_consistency
from consentry.log.witness import WitnessKey, cosign
from consentry.witness.state import CosignedState, WitnessState

__all__ = ["SIZE_CONTENT_TYPE", "Witness", "WitnessReply", "WitnessRequest"]

SIZE_CONTENT_TYPE = "text/x.tlog.size"
_MAX_PROOF_LINES = 63


@dataclass(frozen=True, slots=True)
class WitnessReply:
    """An HTTP answer: status, content type and body."""

    status: int
    content_type: str
    body: bytes

    @classmethod
    def text(cls, status: int, message: str) -> WitnessReply:
        return cls(status, "text/plain; charset=utf-8", (message.rstrip("\n") + "\n").encode())


@dataclass(frozen=True, slots=True)
class WitnessRequest:
    """A parsed add-checkpoint body: the old size, the consistency proof, the note."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str

    def to_body(self) -> bytes:
        lines = [f"old {self.old_size}", *(base64.b64encode(h).decode() for h in self.proof)]
        return ("\n".join(lines) + "\n\n" + self.note).encode("utf-8")

    @classmethod
    def parse(cls, body: bytes) -> WitnessRequest:
        """Parse a request body; ``InputError`` says what is malformed."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("the request body is not UTF-8") from exc
        head, separator, note = text.partition("\n\n")
        if not separator:
            raise InputError("the request body has no empty line before the checkpoint")
        old_line, *proof_lines = head.split("\n")
        size = old_line.removeprefix("old ")
        if size == old_line or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise InputError(f"the first line {old_line!r} is not 'old <size>'")
        if len(proof_lines) > _MAX_PROOF_LINES:
            raise InputError(f"{len(proof_lines)} proof lines; at most {_MAX_PROOF_LINES}")
        proof = []
        for line in proof_lines:
            try:
                digest = base64.b64decode(line, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise InputError(f"proof line {line!r} is not base64") from exc
            if len(digest) != 32:
                raise InputError(f"proof line {line!r} is {len(digest)} bytes, not 32")
            proof.append(digest)
        return cls(int(size), tuple(proof), note)


class Witness:
    """A witness: its name and key, the logs it follows (by verifier key), its state."""

    def __init__(
        self,
        name: str,
        key: Signer,
        logs: Sequence[NoteVerifier],
        state: WitnessState,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = WitnessKey(name, key.public)
        self._name = name
        self._signer = key
        self._logs: dict[str, list[NoteVerifier]] = {}
        for log in logs:
            self._logs.setdefault(log.name, []).append(log)
        self._state = state
        self._clock = clock

    @property
    def origins(self) -> list[str]:
        return sorted(self._logs)

    def add_checkpoint(self, body: bytes) -> WitnessReply:
        """The reply to one add-checkpoint request (see the module docstring)."""
        try:
            request = WitnessRequest.parse(body)
            text = request.note.rpartition("\n\n")[0] + "\n"
            checkpoint = Checkpoint.parse(text)
        except InputError as exc:
            return WitnessReply.text(400, str(exc))
        trusted = self._logs.get(checkpoint.origin)
        if trusted is None:
            return WitnessReply.text(404, f"unknown log {checkpoint.origin!r}")
        try:
            open_note(request.note, trusted)
        except VerificationError as exc:
            return WitnessReply.text(403, f"checkpoint not signed by the log: {exc}")
        if request.old_size > checkpoint.size:
            return WitnessReply.text(
                400, f"old size {request.old_size} is past the checkpoint's {checkpoint.size}"
            )
        return self._advance(checkpoint, request)

    def _advance(self, checkpoint: Checkpoint, request: WitnessRequest) -> WitnessReply:
        stored = self._state.latest(checkpoint.origin)
        known = 0 if stored is None else stored.size
        if request.old_size != known:
            return _size_conflict(known)
        new = CosignedState(checkpoint.size, checkpoint.root)
        if stored is not None and stored.size == checkpoint.size:
            if stored.root != checkpoint.root:
                return WitnessReply.text(
                    409, f"this witness cosigned size {known} with a different root hash"
                )
        elif stored is not None or request.proof:
            try:
                verify_consistency(
                    known,
                    checkpoint.size,
                    b"" if stored is None else stored.root,
                    checkpoint.root,
                    request.proof,
                )
            except VerificationError as exc:
                return WitnessReply.text(422, f"consistency proof does not verify: {exc}")
        if stored != new and not self._state.advance(checkpoint.origin, stored, new):
            moved = self._state.latest(checkpoint.origin)
            return _size_conflict(0 if moved is None else moved.size)
        line = cosign(checkpoint, self._name, self._signer, int(self._clock()))
        return WitnessReply(200, "text/plain; charset=utf-8", line.encode("utf-8"))


def _size_conflict(size: int) -> WitnessReply:
    return WitnessReply(409, SIZE_CONTENT_TYPE, f"{size}\n".encode())
