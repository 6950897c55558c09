"""``consentry summary``: the public summary of a model's training content, in the
structure of the AI Office's template, from the manifests of its gate runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from consentry.cli._common import out, print_json, workspace

__all__ = ["summary"]


def summary(
    manifests: list[Path] = typer.Argument(
        ..., help="The runs' manifest.json files, or their gate run folders."
    ),
    provider: str | None = typer.Option(
        None, "--provider", help="Provider name and contact details (in place of --about's)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Versioned model name (in place of --about's)."
    ),
    about: Path | None = typer.Option(
        None,
        "--about",
        help="JSON file of the template's fields only the provider can fill in (docs/summary.md).",
    ),
    sme: bool | None = typer.Option(
        None,
        "--sme/--not-sme",
        help="The provider is an SME: list the top 5% or 1,000 domain names, whichever is "
        "lower, not the top 10% (in place of --about's).",
        show_default=False,
    ),
    out_file: Path | None = typer.Option(
        None, "--out", help="Write the summary to this file (default: print it)."
    ),
    proofs: Path | None = typer.Option(
        None, "--proofs", help="Also write each run's log proof into this folder."
    ),
    as_json: bool = typer.Option(False, "--json", help="The summary as JSON, not Markdown."),
) -> None:
    """Write the public summary of training content (AI Act art. 53(1)(d)) from the
    runs' signed manifests: each verified against its licensee's key and found on the
    log, each figure naming the runs it comes from. Read where the registry is."""
    from consentry.app.summary import summarise_manifests
    from consentry.app.summary_declaration import ProviderDeclaration
    from consentry.app.summary_render import summary_to_json, summary_to_markdown
    from consentry.errors import InputError

    declaration = ProviderDeclaration.read(about, provider=provider, model=model, sme=sme)
    with workspace() as ws:
        made = summarise_manifests(ws, manifests, declaration)
    written = []
    try:
        if proofs is not None:
            proofs.mkdir(parents=True, exist_ok=True)
            for source in made.sources:
                path = proofs / f"{source.run_id}.tlog-proof"
                path.write_text(source.manifest.proof, "utf-8")
                written.append(path)
        if out_file is not None:
            text = (
                json.dumps(summary_to_json(made), indent=2, ensure_ascii=False) + "\n"
                if as_json
                else summary_to_markdown(made)
            )
            out_file.write_text(text, "utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {exc.filename} ({exc.strerror})") from exc
    if out_file is None:
        if as_json:
            print_json(summary_to_json(made))
        else:
            # Written as is: the document is Markdown, not console markup.
            sys.stdout.write(summary_to_markdown(made))
        return
    runs = len(made.sources)
    out.print(
        f"summary of {runs} run{'s' if runs != 1 else ''} written to {out_file}", markup=False
    )
    if written:
        out.print(f"{len(written)} log proofs written to {proofs}", markup=False)
