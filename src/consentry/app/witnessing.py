"""Being a witness for other people's logs (C2SP tlog-witness): a key of the witness's
own, made on first use in its key folder, and the logs it follows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from consentry.app.workspace import Workspace
from consentry.crypto import KeyPair
from consentry.log import NoteVerifier, WitnessKey
from consentry.witness import Witness, WitnessState

__all__ = ["WITNESS_KEY", "open_witness", "witness_key"]

WITNESS_KEY = "witness"


def _identity(ws: Workspace, name: str | None) -> tuple[str, KeyPair]:
    store = ws.party_keys
    if not store.has(WITNESS_KEY):
        store.save(WITNESS_KEY, KeyPair.generate())
    key = store.load(WITNESS_KEY)
    return name or f"consentry.witness/{key.public.key_id}", key


def witness_key(ws: Workspace, name: str | None = None) -> WitnessKey:
    """The witness's verifier key, for logs and for clients' quorum policies."""
    witness_name, key = _identity(ws, name)
    return WitnessKey(witness_name, key.public)


def open_witness(
    ws: Workspace, logs: Sequence[str], *, state_file: Path | None = None, name: str | None = None
) -> Witness:
    """A witness following the logs whose verifier keys are ``logs``, remembering each
    log's latest cosigned checkpoint in ``state_file`` (default in the home)."""
    witness_name, key = _identity(ws, name)
    state = WitnessState(state_file or ws.settings.home / "witness.db")
    return Witness(witness_name, key, [NoteVerifier.from_vkey(v) for v in logs], state)
