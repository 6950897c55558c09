"""``consentry terms set`` and ``consentry terms show``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from consentry.cli._common import load_key, out, print_json, registry_session
from consentry.crypto import parse_json_object
from consentry.errors import InputError
from consentry.terms import VOCABULARY, Category, Terms, terms_schema

__all__ = ["load_terms_file", "terms_app"]

terms_app = typer.Typer(
    help="Set and show terms on owners, collections and works.", no_args_is_help=True
)


def load_terms_file(path: Path) -> Terms:
    """Read and validate a terms JSON file; errors name the file and the field."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read terms file {path} ({exc.strerror})") from exc
    return Terms.from_json(parse_json_object(data, what=f"terms file {path}"), source=str(path))


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
    terms = load_terms_file(file)
    key = load_key(owner)
    with registry_session() as registry:
        if not target.startswith(("own_", "col_", "wrk_")):
            target = registry.works.find_collection(owner, target).id
        layer = registry.terms.set(target, owner, key, terms)
    if as_json:
        print_json({"target": layer.target_id, "version": layer.version, "terms": terms.to_json()})
    else:
        out.print(f"terms v{layer.version} set on {layer.target_kind.value} {layer.target_id}")


@terms_app.command("show")
def show_terms(
    target: str = typer.Argument(..., help="Owner, collection or work id."),
    as_json: bool = typer.Option(False, "--json", help="Print the effective terms as JSON."),
) -> None:
    """Show the terms in force for a target and where each came from."""
    with registry_session() as registry:
        effective = registry.terms.effective(target)
    terms = effective.terms
    if as_json:
        print_json(
            {
                "target": target,
                "effective": terms.to_json(),
                "layers": [
                    {
                        "kind": layer.target_kind.value,
                        "id": layer.target_id,
                        "version": layer.version,
                    }
                    for layer in effective.layers
                ],
            }
        )
        return
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
    conditions = terms.conditions.to_json()
    for name, value in conditions.items():
        out.print(f"{name}: {value}")


@terms_app.command("schema")
def show_schema() -> None:
    """Print the terms JSON Schema."""
    out.print_json(json.dumps(terms_schema()))
