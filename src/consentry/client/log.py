"""The transparency log of a served registry, shaped as the local one: the application
layer's calls (its key, its newest checkpoint, proofs, usage, a whole-log check) are
carried over HTTP. The registry signs its own checkpoints; this machine holds no log
key and trusts nothing it cannot check: the whole-log check fetches the tiles and
recomputes every hash up to the checkpoint's root, as for a published folder."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consentry.client.http import RegistryClient
from consentry.crypto import Signer
from consentry.errors import (
    ConfigurationError,
    InputError,
    NotFoundError,
    RegistryError,
    VerificationError,
)
from consentry.log import Checkpoint, NoteVerifier, open_checkpoint
from consentry.log.bundle import ProofBundle
from consentry.log.note import signature_lines
from consentry.log.tiles import entries_path, fsck, read_entries, tiles_for
from consentry.registry import Actor
from consentry.registry.transparency import SignedCheckpoint, TransparencyLog, Usage

if TYPE_CHECKING:
    from consentry.client.registry import Keyring
    from consentry.witness import WitnessEndpoint

__all__ = ["RemoteTransparencyLog"]


class RemoteTransparencyLog(TransparencyLog):
    """``/v1/log/...``, ``/v1/usage`` and the tiles under ``/log/`` of ``client``'s
    registry. Usage is read signed by its owner's key, from ``keyring``."""

    def __init__(self, client: RegistryClient, keyring: Keyring) -> None:
        self._client = client
        self._keyring = keyring

    # -- identity and checkpoints ---------------------------------------------------------

    def identity(self) -> NoteVerifier | None:
        try:
            answer = self._client.get("/v1/log/key")
        except NotFoundError:
            return None
        return NoteVerifier.from_vkey(str(answer["vkey"]))

    def adopt_identity(self, verifier: NoteVerifier) -> NoteVerifier:
        raise RegistryError(
            f"the registry at {self._client.base_url} records its log's key itself; its "
            "operator runs 'consentry init' in the registry's home"
        )

    def latest(self) -> SignedCheckpoint | None:
        try:
            return SignedCheckpoint.from_json(self._client.get("/v1/log/checkpoint"))
        except NotFoundError:
            return None

    def checkpoint(self, key: Signer, origin: str) -> SignedCheckpoint:
        """A served registry signs its own log as it grows: its newest checkpoint."""
        latest = self.latest()
        if latest is None:
            raise ConfigurationError(
                f"the registry at {self._client.base_url} has signed no checkpoint yet; it "
                "signs one within seconds of its first event"
            )
        return latest

    def add_cosignatures(self, size: int, lines: Sequence[str]) -> SignedCheckpoint:
        raise RegistryError(self._own_witnesses())

    def witness(
        self, signed: SignedCheckpoint, witnesses: Sequence[WitnessEndpoint]
    ) -> tuple[SignedCheckpoint, dict[str, str]]:
        raise RegistryError(self._own_witnesses())

    def _own_witnesses(self) -> str:
        return (
            f"the registry at {self._client.base_url} asks its own witnesses (consentry "
            "serve --witness); its operator configures them"
        )

    def size(self) -> int:
        return int(self._client.get("/healthz")["log_size"])

    # -- proofs and usage -----------------------------------------------------------------

    def index_of_event(self, event_seq: int) -> int:
        return int(self._client.get("/v1/log/proof", params={"event": event_seq})["index"])

    def prove(self, index: int, signed: SignedCheckpoint) -> ProofBundle:
        """A proof of entry ``index`` against the registry's newest checkpoint (``signed``
        or one after it: each bundle carries the checkpoint it is against)."""
        bundle = ProofBundle.parse(
            str(self._client.get("/v1/log/proof", params={"index": index})["proof"])
        )
        if bundle.index != index:
            raise VerificationError(
                f"the registry at {self._client.base_url} answered a proof of entry "
                f"{bundle.index} for entry {index}"
            )
        return bundle

    def usage(self, owner: Actor, signed: SignedCheckpoint) -> list[Usage]:
        answer = self._client.get("/v1/usage", signer=self._keyring.of(owner))
        return [Usage.from_json(item) for item in answer["items"]]

    # -- the whole log, from its tiles ----------------------------------------------------

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        with tempfile.TemporaryDirectory(prefix="consentry-tiles-") as folder:
            size = self._mirror(Path(folder), hashes=False)
            stop = size if end is None else min(end, size)
            data = read_entries(Path(folder), size)
            yield from ((i, data[i]) for i in range(start, stop))

    def audit(self, log: NoteVerifier) -> dict[str, Any]:
        """Check the served log with only its key: the checkpoint is the log's, every
        entry hashes into its tile, every tile into the one above, up to the
        checkpoint's root. Raises ``VerificationError`` naming what disagrees."""
        with tempfile.TemporaryDirectory(prefix="consentry-tiles-") as folder:
            self._mirror(Path(folder), hashes=True, log=log)
            checked = fsck(Path(folder), log)
        return {"entries": checked.size, "checkpoints": 1}

    def _mirror(self, folder: Path, *, hashes: bool, log: NoteVerifier | None = None) -> int:
        """Copy the served checkpoint and the tiles of its tree into ``folder``, laid out
        as ``consentry log publish`` writes them; returns the checkpoint's size. With
        ``log``, a checkpoint the log did not sign is refused before any tile is read."""
        note = self._bytes("/log/checkpoint")
        try:
            text = note.decode("utf-8")
            if log is not None:
                open_checkpoint(text, log)
            size = Checkpoint.parse(signature_lines(text)[0]).size
        except (UnicodeDecodeError, InputError) as exc:
            raise VerificationError(
                f"the registry at {self._client.base_url} served a checkpoint that is not a "
                f"signed note ({exc})"
            ) from exc
        (folder / "checkpoint").write_bytes(note)
        for ref in tiles_for(size):
            paths = [ref.path] if hashes else []
            if ref.level == 0:
                paths.append(entries_path(ref.index, ref.width))
            for path in paths:
                target = folder / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self._bytes(f"/log/{path}"))
        return size

    def _bytes(self, path: str) -> bytes:
        answer = self._client.get(path)
        if not isinstance(answer, bytes):
            raise VerificationError(
                f"the registry at {self._client.base_url} answered {path} with JSON, not "
                "the file of C2SP tlog-tiles"
            )
        return answer
