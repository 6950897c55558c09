"""``consentry signals export`` and ``consentry signals import``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from consentry.cli._common import out, print_json, workspace
from consentry.cli.signals_import import import_signals_command

if TYPE_CHECKING:
    from consentry.app.signal_export import ExportedFile

__all__ = ["signals_app"]

signals_app = typer.Typer(
    help="Write an owner's terms into a site's consent signals, and read a site's back.",
    no_args_is_help=True,
)

signals_app.command("import")(import_signals_command)

_COLOURS = {"written": "green", "updated": "green", "unchanged": "dim", "skipped": "yellow"}


def _line(file: ExportedFile) -> str:
    colour = _COLOURS.get(file.status, "white")
    line = f"[{colour}]{file.status:<9}[/{colour}] {escape(file.path)}"
    if file.reason:
        line += f"  [yellow]{escape(file.reason)}[/yellow]"
    return line


@signals_app.command("export")
def export(
    owner: str = typer.Option(..., "--owner", help="Owner id (own_...) whose terms are written."),
    site: Path = typer.Option(..., "--site", help="The folder the static site is built into."),
    base_url: str | None = typer.Option(
        None,
        "--base-url",
        help="The site's address (https://...): tdm-policy and robots.txt's License need it.",
    ),
    licence_server: str | None = typer.Option(
        None,
        "--licence-server",
        help="A served registry's URL: the RSL licence names its licence server for the owner.",
    ),
    sign_images: bool = typer.Option(
        False,
        "--sign-images",
        help="Sign a CAWG training-mining assertion into each image (the owner's key signs).",
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace signal files that hold content consentry did not write."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write the owner's terms into a static site's consent signals.

    robots.txt, .well-known/tdmrep.json and its policy, ai.txt, an RSL license.xml,
    meta tags in each page, _headers, XMP sidecars (and, with --sign-images, CAWG
    assertions); then what each format cannot say of the terms.

    Your own lines in robots.txt, _headers and the pages are kept: consentry's part sits
    between marker comments and is replaced on the next export."""
    from consentry.app.signal_export import export_signals

    with workspace() as ws:
        done = export_signals(
            ws,
            owner_id=owner,
            site=site,
            base_url=base_url,
            licence_server=licence_server,
            sign_images=sign_images,
            force=force,
            on_file=None if as_json else (lambda file: out.print(_line(file))),
        )
    if as_json:
        print_json(done.to_json())
        return
    counts = ", ".join(
        f"{done.count(s)} {s}" for s in ("written", "updated", "unchanged", "skipped")
    )
    out.print(f"{len(done.files)} file(s) in {escape(str(site))}: {counts}")
    # Every page (and every sidecar) says the same: once per kind of file is enough.
    told: set[tuple[str, ...]] = set()
    for file in done.files:
        if file.unsaid and file.unsaid not in told:
            told.add(file.unsaid)
            out.print(f"what {escape(file.path)} cannot say:")
            for sentence in file.unsaid:
                out.print(f"  [dim]- {escape(sentence)}[/dim]", soft_wrap=True)
    for note in done.notes:
        out.print(f"note: {escape(note)}", soft_wrap=True)
