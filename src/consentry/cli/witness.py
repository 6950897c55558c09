"""``consentry witness ...``: run a witness for other people's logs (C2SP tlog-witness).

A witness needs no registry: a key (made on first use in $CONSENTRY_HOME/keys), the
verifier keys of the logs it follows, and a state file."""

from __future__ import annotations

from pathlib import Path

import typer

from consentry.cli._common import err, key_store, out, settings
from consentry.crypto import KeyPair
from consentry.log import NoteVerifier, WitnessKey
from consentry.witness import Witness, WitnessServer, WitnessState

__all__ = ["WITNESS_KEY", "witness_app"]

WITNESS_KEY = "witness"

witness_app = typer.Typer(
    help="Run a witness that cosigns other logs' checkpoints (C2SP tlog-witness).",
    no_args_is_help=True,
)

_NAME = typer.Option(
    None, "--name", help="The witness's name (default: consentry.witness/<key id>)."
)


def _identity(name: str | None) -> tuple[str, KeyPair]:
    store = key_store()
    if not store.has(WITNESS_KEY):
        store.save(WITNESS_KEY, KeyPair.generate())
    key = store.load(WITNESS_KEY)
    return name or f"consentry.witness/{key.public.key_id}", key


@witness_app.command("key")
def key(name: str | None = _NAME) -> None:
    """Print the witness's verifier key, for logs and for clients' quorum policies."""
    witness_name, signer = _identity(name)
    out.print(WitnessKey(witness_name, signer.public).vkey(), markup=False)


@witness_app.command("serve")
def serve(
    logs: list[str] = typer.Option(
        ..., "--log", help="Verifier key of a log to follow (repeat for more logs)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(7380, "--port", help="Port to listen on (0: any free port)."),
    state_file: Path | None = typer.Option(
        None, "--state", help="The witness's state file (default: $CONSENTRY_HOME/witness.db)."
    ),
    name: str | None = _NAME,
) -> None:
    """Answer POST /add-checkpoint until interrupted, remembering each log's latest
    cosigned checkpoint."""
    witness_name, signer = _identity(name)
    state = WitnessState(state_file or settings().home / "witness.db")
    witness = Witness(witness_name, signer, [NoteVerifier.from_vkey(v) for v in logs], state)
    with WitnessServer(witness, host, port) as server:
        # One line a supervisor (or a test) can read to learn the address.
        out.print(f"witness {witness_name} listening on {server.url}", markup=False)
        out.file.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            err.print("witness stopped")
