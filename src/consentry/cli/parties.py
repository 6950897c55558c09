"""``consentry owner ...`` and ``consentry licensee ...``."""

from __future__ import annotations

import typer
from rich.table import Table

from consentry.cli._common import key_store, out, print_json, registry_session
from consentry.crypto import KeyPair
from consentry.registry import Party, PartyKind, format_time
from consentry.registry.records import new_id

__all__ = ["licensee_app", "owner_app"]

owner_app = typer.Typer(
    help="Creators and rights holders who register works.", no_args_is_help=True
)
licensee_app = typer.Typer(
    help="AI developers and dataset builders who ask for licences.", no_args_is_help=True
)

_PREFIX = {PartyKind.OWNER: "own", PartyKind.LICENSEE: "lic"}


def _record(party: Party) -> dict[str, str]:
    return {
        "id": party.id,
        "kind": party.kind.value,
        "name": party.name,
        "key_id": party.key_id,
        "created_at": format_time(party.created_at),
    }


def _create(kind: PartyKind, name: str, as_json: bool) -> None:
    store = key_store()
    key = KeyPair.generate()
    party_id = new_id(_PREFIX[kind])
    # The private key is written before the registry knows the party, so a party never
    # exists without its key; if the registry write fails the key file is removed.
    store.save(party_id, key)
    try:
        with registry_session() as registry:
            party = registry.parties.create(kind, name, key, party_id=party_id)
    except BaseException:
        store.path(party_id).unlink(missing_ok=True)
        raise
    if as_json:
        print_json({**_record(party), "key_file": str(store.path(party.id))})
        return
    out.print(f"{party.id}")
    out.print(
        f"[dim]{kind.value} {party.name!r} created; private key in {store.path(party.id)} "
        "(mode 0600, keep it safe)[/dim]"
    )


def _list(kind: PartyKind, as_json: bool) -> None:
    with registry_session() as registry:
        parties = registry.parties.all(kind)
    if as_json:
        for party in parties:
            print_json(_record(party))
        return
    table = Table("id", "name", "key", "created")
    for party in parties:
        table.add_row(party.id, party.name, party.key_id, format_time(party.created_at)[:19])
    out.print(table)


_JSON = typer.Option(False, "--json", help="Print JSON records, one per line.")


@owner_app.command("create")
def owner_create(
    name: str = typer.Argument(..., help="Display name."), as_json: bool = _JSON
) -> None:
    """Create an owner with a new key pair; print its id."""
    _create(PartyKind.OWNER, name, as_json)


@owner_app.command("list")
def owner_list(as_json: bool = _JSON) -> None:
    """List owners."""
    _list(PartyKind.OWNER, as_json)


@licensee_app.command("create")
def licensee_create(
    name: str = typer.Argument(..., help="Display name."), as_json: bool = _JSON
) -> None:
    """Create a licensee with a new key pair; print its id."""
    _create(PartyKind.LICENSEE, name, as_json)


@licensee_app.command("list")
def licensee_list(as_json: bool = _JSON) -> None:
    """List licensees."""
    _list(PartyKind.LICENSEE, as_json)
