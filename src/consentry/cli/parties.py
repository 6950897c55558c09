"""``consentry owner ...`` and ``consentry licensee ...``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from consentry.cli._common import out, print_json, workspace
from consentry.settings import shown

if TYPE_CHECKING:
    from consentry.registry import PartyKind

__all__ = ["licensee_app", "owner_app"]

owner_app = typer.Typer(
    help="Creators and rights holders who register works.", no_args_is_help=True
)
licensee_app = typer.Typer(
    help="AI developers and dataset builders who ask for licences.", no_args_is_help=True
)

_JSON = typer.Option(False, "--json", help="Print JSON records, one per line.")


def _create(kind: PartyKind, name: str, as_json: bool) -> None:
    from consentry.app import create_party

    with workspace() as ws:
        made = create_party(ws, kind, name)
    if as_json:
        print_json(made.to_json())
        return
    out.print(made.party.id)
    out.print(
        f"[dim]{kind.value} {made.party.name!r} created; private key in "
        f"{shown(made.key_file)} (mode 0600, keep it safe: it alone acts for this party)[/dim]"
    )


def _list(kind: PartyKind, as_json: bool) -> None:
    from rich.table import Table

    from consentry.app import list_parties
    from consentry.clock import format_time

    with workspace() as ws:
        parties = list_parties(ws, kind)
    if as_json:
        for party in parties:
            print_json(party.to_json())
        return
    table = Table("id", "name", "key", "created")
    for party in parties:
        table.add_row(party.id, party.name, party.key_id, format_time(party.created_at)[:19])
    out.print(table)


def _kind(name: str) -> PartyKind:
    from consentry.registry import PartyKind

    return PartyKind(name)


@owner_app.command("create")
def owner_create(
    name: str = typer.Argument(..., help="Display name."), as_json: bool = _JSON
) -> None:
    """Create an owner with a new key pair in $CONSENTRY_KEYS; print its id."""
    _create(_kind("owner"), name, as_json)


@owner_app.command("list")
def owner_list(as_json: bool = _JSON) -> None:
    """List owners."""
    _list(_kind("owner"), as_json)


@licensee_app.command("create")
def licensee_create(
    name: str = typer.Argument(..., help="Display name."), as_json: bool = _JSON
) -> None:
    """Create a licensee with a new key pair in $CONSENTRY_KEYS; print its id."""
    _create(_kind("licensee"), name, as_json)


@licensee_app.command("list")
def licensee_list(as_json: bool = _JSON) -> None:
    """List licensees."""
    _list(_kind("licensee"), as_json)
