"""The lab's pages: dashboard, search, requests, grants, runs and statements.

Every page reads, as the lab's party, through ``consentry.app``; every change (asking
for licences, accepting a counter-offer) is signed in the browser with the lab's own
key and sent to the JSON API (``static/js/changes.js``, ``static/js/lab-search.js``).
A grant is shown as valid only because the registry verified its owner's signature as
it loaded it, and one that does not verify is shown as not valid, with why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from consentry import app
from consentry.app.gating import LabRun, runs_of
from consentry.app.licensing import CheckedGrant, checked_grants_of
from consentry.app.royalties import Owed, licensee_owed
from consentry.app.works import FoundWork, search_owners, search_works, titles_of
from consentry.clock import utc_now
from consentry.errors import InputError, NotFoundError
from consentry.registry import LicenseRequest, PartyKind, RequestState, Scope, ScopeKind
from consentry.terms import Category, Permission, Price, PriceUnit, Terms
from consentry.web.periods import asked_period, moments, period_of, this_month
from consentry.web.sessions import Lab, Visit
from consentry.web.templating import render
from consentry.web.words import USES, purposes_words

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

SEARCH_PAGE = 20
RECENT = 5
# A grant that ends within this long is "expiring": time to ask again.
EXPIRING = timedelta(days=30)
KINDS = (("text", "Text"), ("code", "Code"), ("image", "Images"))

# -- what terms and offers say, in plain words -----------------------------------------

PERMISSIONS = {
    Permission.ALLOW: "Allowed without asking",
    Permission.LICENSE: "Needs a licence from its owner",
    Permission.DENY: "Refused unless its owner signs a licence",
}
UNITS = {
    PriceUnit.WORK: "per work",
    PriceUnit.THOUSAND_TOKENS: "per 1,000 tokens",
    PriceUnit.BYTE: "per byte",
}
STATES = {
    RequestState.PENDING: "Waiting for the owner to answer",
    RequestState.COUNTERED: "The owner made a counter-offer: accept it or leave it",
    RequestState.ACCEPTED: "You accepted the counter-offer: waiting for the owner to sign",
    RequestState.GRANTED: "Granted",
    RequestState.DENIED: "Denied",
}


def _day(moment: datetime | date | None) -> str:
    return "" if moment is None else moment.strftime("%-d %b %Y")


def price_words(price: Price | None) -> str:
    if price is None:
        return "no price"
    return f"{price.amount:,} {price.currency} {UNITS[price.unit]}"


def terms_words(terms: Terms) -> list[str]:
    """The terms in force for a work, as a lab reads them: what each use needs, then
    the price and the conditions."""
    said: list[str] = []
    for permission in (Permission.ALLOW, Permission.LICENSE, Permission.DENY):
        uses = [USES[c] for c in Category if terms.permission(c) is permission]
        if uses:
            said.append(f"{PERMISSIONS[permission]}: {', '.join(uses)}.")
    if terms.price is not None:
        said.append(f"A licence costs {price_words(terms.price)}.")
    else:
        said.append("No price is published: offer one when you ask.")
    conditions = terms.conditions
    if conditions.attribution:
        said.append(f"Credit it as: “{conditions.attribution}”.")
    if conditions.share_alike:
        said.append("What is made from it must be shared under the same terms.")
    if conditions.non_commercial:
        said.append("What these terms allow, they allow for non-commercial use only.")
    if conditions.expires is not None:
        said.append(f"What these terms allow, they allow until {_day(conditions.expires)}.")
    if conditions.max_excerpt_chars is not None:
        said.append(f"AI output may publish at most {conditions.max_excerpt_chars:,} characters.")
    return said


# -- shared reads ------------------------------------------------------------------------


class _Names:
    """Owners' names, read once per page."""

    def __init__(self, visit: Visit) -> None:
        self._public = visit.service.public()
        self._known: dict[str, str] = {}

    def __call__(self, party_id: str) -> str:
        if party_id not in self._known:
            try:
                self._known[party_id] = self._public.party(party_id).name
            except NotFoundError:
                self._known[party_id] = party_id
        return self._known[party_id]


@dataclass(frozen=True, slots=True)
class _Asked:
    """One of the lab's requests as its pages show it."""

    request: LicenseRequest
    owner: str
    state: str
    works: str
    purposes: str
    until: str
    price: str
    counter: str | None

    @property
    def open(self) -> bool:
        return self.request.state in (
            RequestState.PENDING,
            RequestState.COUNTERED,
            RequestState.ACCEPTED,
        )


def _plural(count: int, one: str) -> str:
    return f"{count:,} {one if count == 1 else one + 's'}"


def _scope_words(scope: Scope, owner: str, titles: dict[str, str]) -> str:
    match scope.kind:
        case ScopeKind.WORKS:
            named = [titles.get(w, w) for w in scope.ids]
            shown = ", ".join(named[:5])
            more = len(named) - 5
            return shown + (f" and {_plural(more, 'other work')}" if more > 0 else "")
        case ScopeKind.COLLECTION:
            return f"{owner}'s collection {scope.ids[0]}"
        case ScopeKind.OWNER:
            return f"all of {owner}'s works"


def _titles(visit: Visit, scopes: list[Scope]) -> dict[str, str]:
    ids = sorted({w for s in scopes if s.kind is ScopeKind.WORKS for w in s.ids})
    if not ids:
        return {}
    found = titles_of(visit.service.public(), ids)
    return {w: found.get(w, w) for w in ids}


def _asked(visit: Visit) -> list[_Asked]:
    party = visit.party
    made = app.requests_of(visit.reading(), party.party_id, PartyKind.LICENSEE)
    names = _Names(visit)
    titles = _titles(visit, [r.scope for r in made])
    shown = []
    for request in sorted(made, key=lambda r: r.created_at, reverse=True):
        owner = names(request.owner_id)
        counter = request.counter
        offered = None
        if counter is not None:
            until = f" until {_day(counter.not_after)}" if counter.not_after else ""
            offered = (
                f"{owner} offers a licence for {purposes_words(counter.purposes)}{until}, "
                f"for {price_words(counter.price)}."
            )
        shown.append(
            _Asked(
                request,
                owner,
                STATES[request.state],
                _scope_words(request.scope, owner, titles),
                purposes_words(request.purposes),
                _day(request.not_after) or "no end date",
                price_words(request.offer)
                if request.offer
                else "none: the owner's published price applies",
                offered,
            )
        )
    # What waits for the lab first: a counter-offer to accept.
    shown.sort(key=lambda a: a.request.state is not RequestState.COUNTERED)
    return shown


@dataclass(frozen=True, slots=True)
class _Held:
    """One of the lab's grants as its pages show it."""

    checked: CheckedGrant
    owner: str
    state: str  # in force, expiring, expired, not yet in force, revoked, not valid
    works: str
    purposes: str
    period: str
    price: str

    @property
    def valid(self) -> bool:
        return self.checked.grant is not None


def _grant_state(checked: CheckedGrant, now: datetime) -> str:
    grant = checked.grant
    if grant is None:
        return "not valid"
    revocation = checked.revocation
    if revocation is not None and revocation.effective_at <= now:
        return "revoked"
    if grant.not_after is not None and grant.not_after <= now:
        return "expired"
    if grant.not_before > now:
        return "not yet in force"
    if revocation is not None or (grant.not_after is not None and grant.not_after - now < EXPIRING):
        return "expiring"
    return "in force"


def _held(visit: Visit) -> list[_Held]:
    party = visit.party
    checked = checked_grants_of(visit.reading(), party.party_id, PartyKind.LICENSEE)
    names = _Names(visit)
    titles = _titles(visit, [c.grant.scope for c in checked if c.grant is not None])
    now = utc_now()
    shown = []
    for one in checked:
        owner = names(one.owner_id)
        grant = one.grant
        if grant is None:
            shown.append(_Held(one, owner, "not valid", "", "", "", ""))
            continue
        period = f"from {_day(grant.not_before)}" + (
            f" to {_day(grant.not_after)}" if grant.not_after else ", with no end date"
        )
        shown.append(
            _Held(
                one,
                owner,
                _grant_state(one, now),
                _scope_words(grant.scope, owner, titles),
                purposes_words(grant.purposes),
                period,
                price_words(grant.price),
            )
        )
    order = {"not valid": 0, "expiring": 1, "in force": 2, "not yet in force": 3}
    shown.sort(key=lambda h: order.get(h.state, 4))
    return shown


def _owed(visit: Visit, first: date | None, last: date | None) -> Owed:
    since, until = moments(first, last)
    return licensee_owed(visit.reading(), visit.party.party_id, since=since, until=until)


def _run_figures(run: LabRun) -> dict[str, Any]:
    manifest = run.manifest or {}
    counts = manifest.get("counts") or {}
    works = [w for w in manifest.get("works", ()) if isinstance(w, dict)]
    totals = manifest.get("royalties_total") or {}
    return {
        "run": run,
        "seen": counts.get("items"),
        "kept": counts.get("admitted"),
        "works": len(works),
        "owners": len({w.get("owner_id") for w in works}),
        "owed": ", ".join(f"{Decimal(str(a)):,.2f} {c}" for c, a in sorted(totals.items())),
    }


# -- pages -------------------------------------------------------------------------------


@router.get("/lab")
def dashboard(request: Request, visit: Lab) -> Response:
    asked = _asked(visit)
    held = _held(visit)
    runs, _ = runs_of(visit.reading(), licensee_id=visit.party.party_id)
    first, last = this_month(utc_now())
    owed = _owed(visit, first, last)
    return render(
        request,
        "lab/dashboard.html",
        {
            "title": "Your lab",
            "open": [a for a in asked if a.open],
            "countered": [a for a in asked if a.request.state is RequestState.COUNTERED],
            "asked": len(asked),
            "in_force": [h for h in held if h.state in ("in force", "expiring")],
            "not_valid": [h for h in held if not h.valid],
            "runs": [_run_figures(r) for r in runs[:RECENT]],
            "run_count": len(runs),
            "totals": owed.totals(),
            "first": _day(first),
            "last": _day(last),
        },
    )


@router.get("/lab/search")
def search(
    request: Request,
    visit: Lab,
    q: str = "",
    kind: str = "",
    owner: str = "",
    after: str | None = None,
) -> Response:
    public = visit.service.public()
    text = q.strip()[:200]
    errors: dict[str, str] = {}
    found: list[FoundWork] = []
    owner_name = None
    if kind and kind not in dict(KINDS):
        errors["kind"] = f"{kind!r} is not a kind of work; choose text, code or images"
    if owner:
        try:
            owner_name = public.party(owner, PartyKind.OWNER).name
        except (NotFoundError, InputError):
            errors["owner"] = f"there is no owner {owner!r}; search owners by name instead"
    if not errors:
        try:
            found = search_works(
                public,
                text=text,
                kind=kind or None,
                owner_id=owner or None,
                limit=SEARCH_PAGE + 1,
                after=after,
            )
        except InputError as error:
            errors["q"] = str(error)
    owners = search_owners(public, text) if text and not owner else []
    results = [
        {
            "found": f,
            "said": [] if f.terms is None else terms_words(f.terms),
        }
        for f in found[:SEARCH_PAGE]
    ]
    more = len(found) > SEARCH_PAGE
    return render(
        request,
        "lab/search.html",
        {
            "title": "Search works",
            "q": text,
            "kind": kind,
            "owner": owner,
            "owner_name": owner_name,
            "kinds": KINDS,
            "errors": errors,
            "results": results,
            "owners": owners,
            "next": found[SEARCH_PAGE - 1].work.id if more else None,
            "first_page": after is None,
            "purposes": [(c.value, USES[c][:1].upper() + USES[c][1:]) for c in Category],
            "units": [(u.value, w) for u, w in UNITS.items()],
        },
        status_code=400 if errors else 200,
    )


@router.get("/lab/requests")
def requests(request: Request, visit: Lab) -> Response:
    return render(
        request, "lab/requests.html", {"title": "Your licence requests", "asked": _asked(visit)}
    )


@router.get("/lab/requests/{request_id}")
def one_request(request: Request, visit: Lab, request_id: str) -> Response:
    for asked in _asked(visit):
        if asked.request.id == request_id:
            grant = next(
                (
                    h
                    for h in _held(visit)
                    if h.checked.grant is not None and h.checked.grant.request_id == request_id
                ),
                None,
            )
            return render(
                request,
                "lab/request.html",
                {"title": f"Request {request_id}", "asked": asked, "grant": grant},
            )
    raise NotFoundError(f"no request {request_id!r} of yours")


@router.get("/lab/grants")
def grants(request: Request, visit: Lab) -> Response:
    return render(request, "lab/grants.html", {"title": "Your grants", "held": _held(visit)})


@router.get("/lab/grants/{grant_id}")
def one_grant(request: Request, visit: Lab, grant_id: str) -> Response:
    for held in _held(visit):
        if held.checked.grant_id == grant_id:
            return render(request, "lab/grant.html", {"title": f"Grant {grant_id}", "held": held})
    raise NotFoundError(f"no grant {grant_id!r} of yours")


@router.get("/lab/runs")
def runs(request: Request, visit: Lab) -> Response:
    found, problems = runs_of(visit.reading(), licensee_id=visit.party.party_id)
    return render(
        request,
        "lab/runs.html",
        {"title": "Your runs", "runs": [_run_figures(r) for r in found], "problems": problems},
    )


@router.get("/lab/statements")
def statements(
    request: Request, visit: Lab, since: str | None = None, until: str | None = None
) -> Response:
    (first, last), errors = asked_period(since, until)
    owed = _owed(visit, first, last)
    query = (
        f"since={first.isoformat() if first else 'all'}&until={last.isoformat() if last else 'all'}"
    )
    return render(
        request,
        "lab/statements.html",
        {
            "title": "What you owe",
            "errors": errors,
            "values": {
                "since": since if "since" in errors else (first.isoformat() if first else ""),
                "until": until if "until" in errors else (last.isoformat() if last else ""),
            },
            "period": _period_words(first, last),
            "owed": owed,
            "totals": owed.totals(),
            "by_owner": owed.by_owner(),
            "by_work": owed.by_work(),
            "query": query,
        },
        status_code=400 if errors else 200,
    )


def _end(day: date | None) -> str:
    return "all" if day is None else day.isoformat()


def _period_words(first: date | None, last: date | None) -> str:
    if first is None and last is None:
        return "all time"
    if first is None:
        return f"up to {_day(last)}"
    if last is None:
        return f"from {_day(first)} on"
    return f"{_day(first)} to {_day(last)}"


@router.get("/lab/statements.csv")
def statement_csv(visit: Lab, since: str | None = None, until: str | None = None) -> Response:
    first, last = period_of(since, until)
    owed = _owed(visit, first, last)
    name = f"statement-{visit.party.party_id}-{first or 'start'}-{last or 'now'}.csv"
    return Response(
        owed.to_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
