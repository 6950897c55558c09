"""``consentry terms set``, ``show`` and ``schema``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from consentry.cli._common import out, print_json, workspace

__all__ = ["terms_app"]

terms_app = typer.Typer(
    help="Set and show terms on owners, collections and works.", no_args_is_help=True
)


@terms_app.command("set")
def set_terms(
    target: str = typer.Argument(
        ..., help="Owner (own_...), collection (col_... or name) or work (wrk_...)."
    ),
    owner: str = typer.Option(..., "--owner", help="Owner id; its key signs the terms."),
    file: Path = typer.Option(..., "--file", help="Terms JSON (schema: consentry terms schema)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Publish new terms on a target; fields left out are inherited."""
    from consentry import app

    terms = app.load_terms_file(file)
    with workspace() as ws:
        layer = app.set_terms(ws, target, owner_id=owner, terms=terms)
    if as_json:
        print_json(layer.to_json())
    else:
        out.print(f"terms v{layer.version} set on {layer.target_kind.value} {layer.target_id}")


@terms_app.command("show")
def show_terms(
    target: str = typer.Argument(..., help="Owner, collection or work id."),
    as_json: bool = typer.Option(False, "--json", help="Print the effective terms as JSON."),
) -> None:
    """Show the terms in force for a target and where each came from."""
    from rich.table import Table

    from consentry import app
    from consentry.terms import VOCABULARY, Category

    with workspace() as ws:
        effective = app.show_terms(ws, target)
    if as_json:
        print_json(effective.to_json())
        return
    terms = effective.terms
    sources = " → ".join(
        f"{layer.target_kind.value} {layer.target_id} v{layer.version}"
        for layer in effective.layers
    )
    out.print(f"terms for {target} (from: {sources or 'consentry default'})")
    table = Table("use", "permission", "IETF AI-pref", "CAWG")
    for category in Category:
        label = VOCABULARY[category]
        table.add_row(
            category.value, terms.permission(category).value, label.aipref or "—", label.cawg or "—"
        )
    out.print(table)
    out.print(f"price: {terms.price.describe() if terms.price else 'none set'}")
    for name, value in terms.conditions.to_json().items():
        out.print(f"{name}: {value}")


@terms_app.command("schema")
def show_schema() -> None:
    """Print the terms JSON Schema."""
    from consentry.terms import terms_schema

    out.print_json(json.dumps(terms_schema()))
