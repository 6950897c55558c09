"""``consentry check`` and ``consentry sketch ...``: may this output be published?

Exit status: 0 publishable (nothing found, or every finding clear, to attribute or
licensed), 1 a finding blocks publication, 2 a usage or input error, never a wrong
"clear"."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from consentry.cli._common import err, out, print_json, workspace
from consentry.errors import InputError

if TYPE_CHECKING:
    from consentry.check import CheckReport

__all__ = ["check", "sketch_app"]

sketch_app = typer.Typer(
    help="The offline sketch: check outputs with no database and no network.",
    no_args_is_help=True,
)


_SKETCH_KEY = typer.Option(
    None, "--log-key", help="Verifier key of the registry that signed the sketch."
)


def _read(path: str) -> tuple[str, bytes]:
    if path == "-":
        return "-", sys.stdin.buffer.read()
    try:
        return path, Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path} ({exc.strerror}); give a file to check") from exc


def _print(report: CheckReport) -> None:
    if not report.findings:
        out.print(f"{report.name}: clear (no registered work found)", markup=False)
        return
    out.print(f"{report.name}: {report.verdict.value}", markup=False)
    for finding in report.findings:
        where = ", ".join(f"characters {s}-{e}" for s, e in finding.spans) or (
            "whole image" if finding.kind.value == "image" else "no characters"
        )
        out.print(
            f"  {finding.verdict.value:<9} {finding.work_id} by {finding.owner_name} "
            f"({finding.kind.value}, {where}: {finding.length:,} normalised characters "
            f"copied): {finding.reason}",
            markup=False,
        )
    for text in report.attributions():
        out.print(f"  attribution to publish with it: {text}", markup=False)


def check(
    files: list[str] = typer.Argument(..., help="Files to check ('-' reads stdin)."),
    sketch: Path | None = typer.Option(
        None,
        "--sketch",
        help="Check offline against this sketch (no database needed; the output never "
        "leaves this machine).",
    ),
    vkey: str | None = _SKETCH_KEY,
    licensee: str | None = typer.Option(
        None, "--licensee", help="Count your grants (not from a sketch; uses your key)."
    ),
    min_span: int = typer.Option(
        200, "--min-span", help="Shortest reproduced run, in normalised characters, to report."
    ),
    name: str = typer.Option(
        "stdin.txt", "--name", help="File name for stdin (its extension says code)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON report per file."),
) -> None:
    """Does an output reproduce a registered work, and may it be published? Exit 0
    publishable, 1 blocked, 2 usage or input error.

    With CONSENTRY_REGISTRY set, a check with --sketch stays offline on this machine
    (the output is never sent; the key is --log-key or the registry's); without one,
    each output is sent to the registry's /v1/check."""
    from consentry import app
    from consentry.check import Verdict

    inputs = [(name if path == "-" else path, data) for path, data in map(_read, files)]
    with workspace() as ws:
        checking = app.remote_check_outputs if app.registry_is_remote(ws) else app.check_outputs
        reports = checking(
            ws,
            inputs,
            sketch=sketch,
            vkey=vkey,
            licensee_id=licensee,
            min_span=min_span,
            on_warning=lambda text: err.print(f"warning: {text}", markup=False, soft_wrap=True),
        )
    for report in reports:
        if as_json:
            print_json(report.to_json())
        else:
            _print(report)
    if any(report.verdict is Verdict.BLOCKED for report in reports):
        raise typer.Exit(1)


@sketch_app.command("export")
def export(
    out_file: Path = typer.Option(..., "--out", help="Where to write the sketch."),
    image_keypoints: bool = typer.Option(
        False,
        "--image-keypoints",
        help="Carry images' keypoints, so that crops are found offline too. Off by "
        "default: a coarse picture can be rebuilt from them, and a sketch is public.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write a signed sketch of every registered work, tied to the latest checkpoint:
    fingerprints, band keys and terms, none of the works' content. With
    CONSENTRY_REGISTRY set, download the registry's and verify it with its log key."""
    from consentry import app

    with workspace() as ws:
        remote = app.registry_is_remote(ws)
        export = app.remote_export_sketch_file if remote else app.export_sketch_file
        made = export(ws, out_file, image_keypoints=image_keypoints)
    if as_json:
        print_json(made.to_json())
    else:
        out.print(
            f"sketch of {made.works:,} works ({made.size_bytes:,} bytes) at log size "
            f"{made.checkpoint_size} in {out_file}",
            markup=False,
        )


@sketch_app.command("update")
def update(
    sketch: Path = typer.Argument(..., help="The sketch file to bring up to date."),
    from_file: Path | None = typer.Option(
        None, "--from", help="Apply this update file (from the registry) to the sketch."
    ),
    out_file: Path | None = typer.Option(
        None, "--out", help="At the registry: write the update here instead of applying it."
    ),
    vkey: str | None = _SKETCH_KEY,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Add only what changed since the sketch's checkpoint: works registered since and
    the terms that changed. At the registry it is made from the database; with
    CONSENTRY_REGISTRY set only the update is fetched from the registry; elsewhere apply
    the update file the registry publishes (--from)."""
    from consentry import app

    with workspace() as ws:
        remote = app.registry_is_remote(ws)
        update_file = app.remote_update_sketch_file if remote else app.update_sketch_file
        made = update_file(ws, sketch, from_file=from_file, out_file=out_file, vkey=vkey)
    if as_json:
        print_json(made.record)
    else:
        out.print(
            " ".join(f"{k.replace('_', ' ')}: {v};" for k, v in made.record.items()).rstrip(";"),
            markup=False,
        )
