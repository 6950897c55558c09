"""``consentry license ...``: request, answer, revoke, list and check licences."""

from __future__ import annotations

import typer

from consentry.cli._common import (
    out,
    parse_category,
    parse_until,
    print_json,
    workspace,
)

__all__ = ["license_app"]

license_app = typer.Typer(
    help="Ask for, grant, deny, counter, revoke and list licences.", no_args_is_help=True
)

_JSON = typer.Option(False, "--json", help="Print JSON records, one per line.")


@license_app.command("request")
def request(
    licensee: str = typer.Option(..., "--licensee", help="Licensee id; its key signs."),
    work: list[str] = typer.Option([], "--work", help="Work id (repeatable)."),
    owner: str | None = typer.Option(None, "--owner", help="All works of this owner."),
    collection: str | None = typer.Option(
        None, "--collection", help="All works of a collection (col_...)."
    ),
    purpose: list[str] = typer.Option(
        ..., "--purpose", help="Use category (repeatable), e.g. train-ai."
    ),
    until: str | None = typer.Option(None, "--until", help="Last day, YYYY-MM-DD."),
    offer: str | None = typer.Option(None, "--offer", help="Price offered, e.g. '0.05 EUR'."),
    per: str = typer.Option("work", "--per", help="Offer unit: work, 1k-tokens or byte."),
    non_commercial: bool = typer.Option(
        False, "--non-commercial", help="The use is non-commercial."
    ),
    as_json: bool = _JSON,
) -> None:
    """Ask an owner for a licence; print the request id."""
    from consentry import app
    from consentry.terms import Price

    scope = app.scope_of(work, owner, collection)
    purposes = [parse_category(p) for p in purpose]
    price = Price.from_text(offer, per, option="--offer") if offer is not None else None
    with workspace() as ws:
        made = app.request(
            ws,
            licensee_id=licensee,
            scope=scope,
            purposes=purposes,
            not_after=parse_until(until),
            offer=price,
            commercial=not non_commercial,
        )
    if as_json:
        print_json(made.to_json())
    else:
        out.print(made.id)
        asked = ", ".join(sorted(purpose))
        out.print(f"[dim]asked {made.owner_id} for {asked} on {scope.describe()}[/dim]")


@license_app.command("grant")
def grant(
    request_id: str = typer.Argument(..., help="Request id (req_...)."),
    owner: str = typer.Option(..., "--owner", help="Owner id; its key signs the grant."),
    as_json: bool = _JSON,
) -> None:
    """Grant a request: sign a licence for exactly what was asked (or countered)."""
    from consentry import app

    with workspace() as ws:
        made = app.grant(ws, request_id, owner_id=owner)
    if as_json:
        print_json(made.to_json())
    else:
        out.print(made.id)
        price = made.price.describe() if made.price else "no charge"
        purposes = ", ".join(sorted(made.purposes))
        out.print(f"[dim]signed grant to {made.licensee_id}: {purposes}; {price}[/dim]")


@license_app.command("deny")
def deny(
    request_id: str = typer.Argument(..., help="Request id."),
    owner: str = typer.Option(..., "--owner", help="Owner id."),
    reason: str | None = typer.Option(None, "--reason", help="Told to the licensee."),
) -> None:
    """Deny a request."""
    from consentry import app

    with workspace() as ws:
        app.deny(ws, request_id, owner_id=owner, reason=reason)
    out.print(f"denied {request_id}")


@license_app.command("counter")
def counter(
    request_id: str = typer.Argument(..., help="Request id."),
    owner: str = typer.Option(..., "--owner", help="Owner id; its key signs the counter-offer."),
    price: str | None = typer.Option(None, "--price", help="Price asked, e.g. '0.08 EUR'."),
    per: str = typer.Option("work", "--per", help="Price unit: work, 1k-tokens or byte."),
    until: str | None = typer.Option(None, "--until", help="Last day, YYYY-MM-DD."),
    purpose: list[str] = typer.Option(
        [], "--purpose", help="Purposes offered (default: as asked)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Answer a request with other terms; the licensee accepts with 'license accept'."""
    from consentry import app
    from consentry.terms import Price

    with workspace() as ws:
        made = app.counter(
            ws,
            request_id,
            owner_id=owner,
            purposes=[parse_category(p) for p in purpose] or None,
            not_after=parse_until(until),
            price=Price.from_text(price, per, option="--price") if price is not None else None,
        )
    if as_json:
        print_json(made.to_json())
    else:
        out.print(f"countered {request_id}")


@license_app.command("accept")
def accept(
    request_id: str = typer.Argument(..., help="Request id."),
    licensee: str = typer.Option(..., "--licensee", help="Licensee id; its key signs."),
) -> None:
    """Accept an owner's counter-offer; the owner can then grant it."""
    from consentry import app

    with workspace() as ws:
        app.accept(ws, request_id, licensee_id=licensee)
    out.print(f"accepted the counter-offer on {request_id}")


@license_app.command("revoke")
def revoke(
    grant_id: str = typer.Argument(..., help="Grant id (grt_...)."),
    owner: str = typer.Option(..., "--owner", help="Owner id; its key signs."),
    effective: str | None = typer.Option(
        None, "--effective", help="From this date on (default now)."
    ),
    reason: str | None = typer.Option(None, "--reason", help="Recorded with the revocation."),
) -> None:
    """Revoke a grant for later runs; earlier runs stay licensed."""
    from consentry import app
    from consentry.clock import format_time

    with workspace() as ws:
        made = app.revoke(
            ws,
            grant_id,
            owner_id=owner,
            effective_at=parse_until(effective, option="--effective"),
            reason=reason,
        )
    out.print(f"revoked {grant_id} from {format_time(made.effective_at)}")


@license_app.command("list")
def list_licences(
    owner: str | None = typer.Option(
        None, "--owner", help="Requests to and grants from this owner."
    ),
    licensee: str | None = typer.Option(
        None, "--licensee", help="Requests and grants of this licensee."
    ),
    as_json: bool = _JSON,
) -> None:
    """List a party's own requests and grants (its key proves who asks)."""
    from rich.table import Table

    from consentry import app
    from consentry.clock import format_time
    from consentry.errors import InputError

    if (owner is None) == (licensee is None):
        raise InputError("name exactly one of --owner or --licensee")
    from consentry.registry import PartyKind

    kind = PartyKind.OWNER if owner is not None else PartyKind.LICENSEE
    with workspace() as ws:
        held = app.licences(ws, owner or licensee or "", kind)
    if as_json:
        for item in held.requests:
            print_json({"record": "request", **item.to_json()})
        for made in held.grants:
            print_json({"record": "grant", **made.to_json()})
        return
    if not held.requests and not held.grants:
        out.print(f"no licence requests or grants for {owner or licensee} yet", markup=False)
        return
    table = Table("request", "state", "licensee", "owner", "purposes", "scope")
    for item in held.requests:
        table.add_row(
            item.id,
            item.state.value,
            item.licensee_id,
            item.owner_id,
            ", ".join(sorted(item.purposes)),
            item.scope.describe(),
        )
    out.print(table)
    table = Table("grant", "licensee", "purposes", "until", "price", "revoked")
    for made in held.grants:
        g, revocation = made.grant, made.revocation
        table.add_row(
            g.id,
            g.licensee_id,
            ", ".join(sorted(g.purposes)),
            format_time(g.not_after)[:10] if g.not_after else "open",
            g.price.describe() if g.price else "no charge",
            format_time(revocation.effective_at)[:19] if revocation else "",
        )
    out.print(table)


@license_app.command("check")
def check_use(
    work_id: str = typer.Argument(..., help="Work id."),
    licensee: str = typer.Option(..., "--licensee", help="Licensee id."),
    purpose: str = typer.Option(..., "--purpose", help="Use category."),
    at: str | None = typer.Option(None, "--at", help="Moment of use (default now)."),
    non_commercial: bool = typer.Option(
        False, "--non-commercial", help="The use is non-commercial."
    ),
    as_json: bool = _JSON,
) -> None:
    """May this licensee use this work for this purpose? Exit 0 yes, 1 no."""
    from consentry import app

    with workspace() as ws:
        decision = app.may_use(
            ws,
            work_id,
            licensee_id=licensee,
            purpose=parse_category(purpose),
            at=parse_until(at, option="--at"),
            commercial=not non_commercial,
        )
    if as_json:
        print_json({"work_id": work_id, **decision.to_json()})
    else:
        verdict = "[green]allowed[/green]" if decision.allowed else "[red]not allowed[/red]"
        out.print(f"{verdict}: {decision.reason}")
    if not decision.allowed:
        raise typer.Exit(1)
