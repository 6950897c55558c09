"""``consentry witness ...``: run a witness for other people's logs (C2SP tlog-witness).

A witness needs no registry: a key of its own (made on first use in $CONSENTRY_KEYS),
the verifier keys of the logs it follows, and a state file."""

from __future__ import annotations

from pathlib import Path

import typer

from consentry.cli._common import err, out, workspace

__all__ = ["witness_app"]

witness_app = typer.Typer(
    help="Run a witness that cosigns other logs' checkpoints (C2SP tlog-witness).",
    no_args_is_help=True,
)

_NAME = typer.Option(
    None, "--name", help="The witness's name (default: consentry.witness/<key id>)."
)


@witness_app.command("key")
def key(name: str | None = _NAME) -> None:
    """Print the witness's verifier key, for logs and for clients' quorum policies."""
    from consentry import app

    with workspace() as ws:
        out.print(app.witness_key(ws, name).vkey(), markup=False)


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
    from consentry import app
    from consentry.witness import WitnessServer

    with workspace() as ws:
        witness = app.open_witness(ws, logs, state_file=state_file, name=name)
    with WitnessServer(witness, host, port) as server:
        # One line a supervisor (or a test) can read to learn the address.
        out.print(f"witness {witness.key.name} listening on {server.url}", markup=False)
        out.file.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            err.print("witness stopped")
