"""``consentry royalties statement``."""

from __future__ import annotations

from pathlib import Path

import typer

from consentry.cli._common import out, print_json, workspace

__all__ = ["royalties_app"]

royalties_app = typer.Typer(help="What gate runs owe owners.", no_args_is_help=True)


@royalties_app.command("statement")
def statement(
    manifests: list[Path] | None = typer.Argument(
        None,
        help="Gate run folders or manifest.json files; none: every manifest on the registry's "
        "log that lists the owner's works (the owner's key must be here).",
    ),
    owner: str = typer.Option(..., "--owner", help="Owner id whose works were used."),
    fmt: str = typer.Option("markdown", "--format", help="markdown or csv."),
    as_json: bool = typer.Option(False, "--json", help="Print the statement as JSON."),
) -> None:
    """One owner's royalties, line by line, reconciling with each manifest to the cent:
    from the runs' manifests given, or from the registry alone."""
    from consentry import app
    from consentry.errors import InputError

    if fmt not in ("markdown", "csv"):
        raise InputError(f"--format {fmt!r} is not markdown or csv")
    if manifests:
        made = app.royalty_statement(manifests, owner_id=owner)
    else:
        with workspace() as ws:
            made = app.owner_statement(ws, owner)
    if as_json:
        print_json(made.to_json())
        return
    text = made.to_csv() if fmt == "csv" else made.to_markdown()
    out.print(text, markup=False, end="", highlight=False, soft_wrap=True)
