"""``consentry license ...``: request, answer, revoke, list and check licences."""

from __future__ import annotations

import typer
from rich.table import Table

from consentry.cli._common import (
    load_key,
    out,
    parse_category,
    parse_price,
    parse_until,
    print_json,
    registry_session,
)
from consentry.errors import InputError
from consentry.registry import (
    Grant,
    LicenseRequest,
    PartyKind,
    Revocation,
    Scope,
    ScopeKind,
    format_time,
)

__all__ = ["license_app"]

license_app = typer.Typer(
    help="Ask for, grant, deny, counter, revoke and list licences.", no_args_is_help=True
)

_JSON = typer.Option(False, "--json", help="Print JSON records, one per line.")


def _request_record(request: LicenseRequest) -> dict[str, object]:
    record: dict[str, object] = {
        "id": request.id,
        "state": request.state.value,
        "licensee_id": request.licensee_id,
        "owner_id": request.owner_id,
        "scope": request.scope.to_json(),
        "purposes": sorted(p.value for p in request.purposes),
        "not_before": format_time(request.not_before),
        "not_after": format_time(request.not_after) if request.not_after else None,
        "offer": request.offer.to_json() if request.offer else None,
        "commercial": request.commercial,
    }
    if request.counter is not None:
        record["counter"] = {
            "purposes": sorted(p.value for p in request.counter.purposes),
            "not_after": format_time(request.counter.not_after)
            if request.counter.not_after
            else None,
            "price": request.counter.price.to_json() if request.counter.price else None,
        }
    if request.note:
        record["note"] = request.note
    return record


def _grant_record(grant: Grant, revocation: Revocation | None) -> dict[str, object]:
    return {
        "id": grant.id,
        "request_id": grant.request_id,
        "owner_id": grant.owner_id,
        "licensee_id": grant.licensee_id,
        "scope": grant.scope.to_json(),
        "purposes": sorted(p.value for p in grant.purposes),
        "not_before": format_time(grant.not_before),
        "not_after": format_time(grant.not_after) if grant.not_after else None,
        "price": grant.price.to_json() if grant.price else None,
        "issued_at": format_time(grant.issued_at),
        "revoked_at": format_time(revocation.effective_at) if revocation else None,
    }


def _scope(works: list[str], owner: str | None, collection: str | None) -> Scope:
    given = [bool(works), owner is not None, collection is not None]
    if sum(given) != 1:
        raise InputError("name exactly one of --work (repeatable), --owner or --collection")
    if works:
        return Scope(ScopeKind.WORKS, tuple(works))
    if collection is not None:
        return Scope(ScopeKind.COLLECTION, (collection,))
    assert owner is not None  # noqa: S101 - exactly one was given, checked above
    return Scope(ScopeKind.OWNER, (owner,))


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
    scope = _scope(work, owner, collection)
    purposes = [parse_category(p) for p in purpose]
    price = parse_price(offer, per, option="--offer") if offer else None
    key = load_key(licensee)
    with registry_session() as registry:
        made = registry.licensing.request(
            licensee,
            key,
            scope=scope,
            purposes=purposes,
            not_after=parse_until(until),
            offer=price,
            commercial=not non_commercial,
        )
    if as_json:
        print_json(_request_record(made))
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
    key = load_key(owner)
    with registry_session() as registry:
        made = registry.licensing.grant(request_id, owner, key)
    if as_json:
        print_json(_grant_record(made, None))
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
    key = load_key(owner)
    with registry_session() as registry:
        registry.licensing.deny(request_id, owner, key, reason)
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
    key = load_key(owner)
    with registry_session() as registry:
        made = registry.licensing.counter(
            request_id,
            owner,
            key,
            purposes=[parse_category(p) for p in purpose] or None,
            not_after=parse_until(until),
            price=parse_price(price, per, option="--price") if price else None,
        )
    if as_json:
        print_json(_request_record(made))
    else:
        out.print(f"countered {request_id}")


@license_app.command("accept")
def accept(
    request_id: str = typer.Argument(..., help="Request id."),
    licensee: str = typer.Option(..., "--licensee", help="Licensee id; its key signs."),
) -> None:
    """Accept an owner's counter-offer; the owner can then grant it."""
    key = load_key(licensee)
    with registry_session() as registry:
        registry.licensing.accept(request_id, licensee, key)
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
    key = load_key(owner)
    with registry_session() as registry:
        made = registry.licensing.revoke(
            grant_id,
            owner,
            key,
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
    if (owner is None) == (licensee is None):
        raise InputError("name exactly one of --owner or --licensee")
    party = owner or licensee or ""
    kind = PartyKind.OWNER if owner else PartyKind.LICENSEE
    key = load_key(party)
    with registry_session() as registry:
        requests = registry.licensing.requests(party, kind, key)
        grants = registry.licensing.grants(party, kind, key)
    if as_json:
        for item in requests:
            print_json({"record": "request", **_request_record(item)})
        for made, revocation in grants:
            print_json({"record": "grant", **_grant_record(made, revocation)})
        return
    table = Table("request", "state", "licensee", "owner", "purposes", "scope")
    for item in requests:
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
    for made, revocation in grants:
        table.add_row(
            made.id,
            made.licensee_id,
            ", ".join(sorted(made.purposes)),
            format_time(made.not_after)[:10] if made.not_after else "open",
            made.price.describe() if made.price else "no charge",
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
    key = load_key(licensee)
    with registry_session() as registry:
        decision = registry.licensing.may_use(
            licensee,
            key,
            work_id,
            parse_category(purpose),
            at=parse_until(at, option="--at"),
            commercial=not non_commercial,
        )
    if as_json:
        print_json(
            {
                "work_id": work_id,
                "allowed": decision.allowed,
                "reason": decision.reason,
                "basis": decision.basis.value if decision.basis else None,
                "grant_id": decision.grant_id,
            }
        )
    else:
        verdict = "[green]allowed[/green]" if decision.allowed else "[red]not allowed[/red]"
        out.print(f"{verdict}: {decision.reason}")
    if not decision.allowed:
        raise typer.Exit(1)
