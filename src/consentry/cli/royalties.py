"""``consentry royalties statement``."""

from __future__ import annotations

from pathlib import Path

import typer

from consentry.cli._common import out, print_json

__all__ = ["royalties_app"]

royalties_app = typer.Typer(help="What gate runs owe owners.", no_args_is_help=True)


@royalties_app.command("statement")
def statement(
    manifests: list[Path] = typer.Argument(..., help="Gate run folders or manifest.json files."),
    owner: str = typer.Option(..., "--owner", help="Owner id whose works were used."),
    fmt: str = typer.Option("markdown", "--format", help="markdown or csv."),
    as_json: bool = typer.Option(False, "--json", help="Print the statement as JSON."),
) -> None:
    """One owner's royalties over the runs' manifests, reconciling to the cent."""
    from consentry import app
    from consentry.errors import InputError

    if fmt not in ("markdown", "csv"):
        raise InputError(f"--format {fmt!r} is not markdown or csv")
    made = app.royalty_statement(manifests, owner_id=owner)
    if as_json:
        print_json(made.to_json())
        return
    text = made.to_csv() if fmt == "csv" else made.to_markdown()
    out.print(text, markup=False, end="", highlight=False, soft_wrap=True)
