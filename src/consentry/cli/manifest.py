"""``consentry manifest submit``: send a finished run's signed manifest to the registry."""

from __future__ import annotations

from pathlib import Path

import typer

from consentry.cli._common import out, print_json, remote_workspace

__all__ = ["manifest_app"]

manifest_app = typer.Typer(help="Send training manifests to the registry.", no_args_is_help=True)


@manifest_app.command("submit")
def submit(
    run_dir: Path = typer.Argument(..., help="The run's --out folder."),
    licensee: str = typer.Option(..., "--licensee", help="Licensee id; its key signs."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a run's signed manifest on the registry (a run made offline with
    'gate run --snapshot' records its start first, as of its snapshot). Needs
    CONSENTRY_REGISTRY."""
    from consentry.client.gating import submit_manifest
    from consentry.registry import PartyKind

    with remote_workspace() as ws:
        signer = ws.signer(licensee, PartyKind.LICENSEE)
        done = submit_manifest(ws.client, signer, run_dir, licensee_id=licensee)
    if as_json:
        print_json(done)
        return
    out.print(f"manifest of run {done['run_id']} recorded on the registry's log")
