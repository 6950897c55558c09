"""The creator's pages: dashboard, works, upload, terms, requests, uses and earnings.

Every page reads, as the creator's party, through ``consentry.app``; every change
(registering works, a collection, terms, answering a request) is a form the browser
signs with the creator's own key and sends to the JSON API (``static/js/changes.js``).
The one thing posted here is a batch of files to fingerprint, which is answered with
the fingerprints and kept nowhere."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from markupsafe import Markup

from consentry import app
from consentry.app.log import WorkUse, owner_uses
from consentry.app.remote_works import MAX_BATCH
from consentry.app.royalties import Earnings, EarningsRow, owner_earnings
from consentry.app.works import collections_of, count_works, fingerprint_upload
from consentry.clock import utc_now
from consentry.errors import ConsentryError, NotFoundError
from consentry.ids import IdKind, kind_of
from consentry.registry import LicenseRequest, PartyKind, RequestState, Work
from consentry.registry.catalogue import FileProblem
from consentry.terms import VOCABULARY, Category, Permission, PriceUnit, Terms
from consentry.web.charts import Bar, bar_chart
from consentry.web.periods import asked_period, moments, period_of, this_month
from consentry.web.sessions import Creator, Scripted, Visit
from consentry.web.templating import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

WORKS_PAGE = 50
# A batch of files to fingerprint: well under the 32 MiB body limit, and few enough
# that the page's progress moves often (upload.js sends at most this many).
FINGERPRINT_FILES = 25
FINGERPRINT_BYTES = 8 * 1024 * 1024
_OPEN = (RequestState.PENDING, RequestState.ACCEPTED)

# -- what each choice means, in a sentence ---------------------------------------------

CATEGORY_NAMES = {
    Category.TRAIN_AI: "Training generative AI",
    Category.TRAIN_OTHER: "Training other AI models",
    Category.AI_INPUT: "Input to AI when it answers",
    Category.SEARCH: "Search indexing",
    Category.DATA_MINING: "Other text and data mining",
    Category.PUBLISH_OUTPUT: "Publishing AI output that copies it",
}
_USES = {
    Category.TRAIN_AI: "train AI that generates text, images or code on your work",
    Category.TRAIN_OTHER: "train other kinds of AI model (classifiers, rankers) on your work",
    Category.AI_INPUT: "give your work to an AI as it answers (retrieval, grounding, summaries)",
    Category.SEARCH: "index your work for search that sends people to it",
    Category.DATA_MINING: "mine your work's text and data in other ways",
    Category.PUBLISH_OUTPUT: "publish AI output that reproduces parts of your work",
}
UNIT_WORDS = {
    PriceUnit.WORK: "per work",
    PriceUnit.THOUSAND_TOKENS: "per 1,000 tokens",
    PriceUnit.BYTE: "per byte",
}
# The page's script fills in the same sentences as the creator types ({value} and the
# price's fields), so that what a choice says is written once, here.
PRICE_SENTENCE = "A licence costs {amount} {currency} {per}."
NO_PRICE = "No price is set here: a lab offers one when it asks, and you accept or counter it."
CONDITION_SENTENCES = {
    "attribution": "Whoever uses your work must credit it as: “{value}”.",
    "share_alike": "What is made from your work must be shared under these same terms.",
    "non_commercial": "What these terms allow, they allow for non-commercial use only.",
    "expires": "What these terms allow, they allow until {value}; after that it needs a licence.",
    "max_excerpt_chars": "AI output may publish at most {value} characters of your work.",
}


def sentence(category: Category, permission: Permission | None) -> str:
    """What a choice for ``category`` says, in plain words (``None``: not set here)."""
    use = _USES[category]
    match permission:
        case Permission.ALLOW:
            return f"Anyone may {use}, without asking you."
        case Permission.DENY:
            return f"Nobody may {use}, unless you sign a licence for them."
        case Permission.LICENSE:
            return f"Anyone who wants to {use} must ask you for a licence first."
        case None:
            return "Not set here: the choice above this one applies."


def _lowered(text: str) -> str:
    return text[:1].lower() + text[1:]


# -- shared reads ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    id: str
    kind: str  # owner, collection, work
    name: str


def _target(visit: Visit, target_id: str) -> _Target:
    """A terms target that is the creator's own (itself, a collection, a work); any
    other id is a page that does not exist for this creator."""
    owner_id = visit.party.party_id
    public = visit.service.public()
    kind = kind_of(target_id)
    if kind is IdKind.OWNER and target_id == owner_id:
        return _Target(owner_id, "owner", "all your works")
    if kind is IdKind.COLLECTION:
        found = app.find_collection(public, target_id, owner_id=owner_id)
        if found.owner_id == owner_id:
            return _Target(found.id, "collection", f"collection {found.name}")
    if kind is IdKind.WORK:
        work = _own_work(visit, target_id)
        return _Target(work.id, "work", work.title or work.path)
    raise NotFoundError(f"no terms target {target_id!r} of yours")


def _own_work(visit: Visit, work_id: str) -> Work:
    work = app.show_work(visit.service.public(), work_id)
    if work.owner_id != visit.party.party_id:
        raise NotFoundError(f"no work {work_id!r} of yours")
    return work


def _requests(visit: Visit) -> list[LicenseRequest]:
    party = visit.party
    found = app.requests_of(visit.reading(), party.party_id, PartyKind.OWNER)

    # Open ones first (they wait for this creator), newest first within each group.
    def group(made: LicenseRequest) -> int:
        if made.state in _OPEN:
            return 0
        return 1 if made.state is RequestState.COUNTERED else 2

    return sorted(found, key=lambda r: (group(r), -r.created_at.timestamp()))


def _earnings(
    visit: Visit, first: date | None, last: date | None, uses: list[WorkUse] | None = None
) -> Earnings:
    since, until = moments(first, last)
    return owner_earnings(
        visit.reading(), visit.party.party_id, since=since, until=until, uses=uses
    )


def _chart(rows: list[EarningsRow], *, currency: str, by: str, chart_id: str) -> Markup:
    chosen = [r for r in rows if r.currency == currency][:12]
    bars = [Bar(r.name, r.amount, f"{r.amount:,.2f} {currency}") for r in chosen]
    listed = "; ".join(f"{b.label}: {b.shown}" for b in bars) or "nothing yet"
    svg = bar_chart(
        bars,
        title=f"Earnings by {by}, {currency}",
        description=f"Earnings in {currency} by {by}, largest first: {listed}.",
        chart_id=chart_id,
    )
    return Markup(svg)  # noqa: S704 (every text in it is escaped by bar_chart)


# -- pages -------------------------------------------------------------------------------


@router.get("/creator")
def dashboard(request: Request, visit: Creator) -> Response:
    party = visit.party
    reading = visit.reading()
    requests = _requests(visit)
    uses = owner_uses(reading, party.party_id)
    first, last = this_month(utc_now())
    earned = _earnings(visit, first, last, uses)
    return render(
        request,
        "creator/dashboard.html",
        {
            "title": "Your dashboard",
            "works": count_works(reading, owner_id=party.party_id),
            "open_requests": [r for r in requests if r.state in _OPEN],
            "uses": uses[:5],
            "use_count": len(uses),
            "totals": earned.totals(),
            "first": first,
            "last": last,
        },
    )


@router.get("/creator/works")
def works(request: Request, visit: Creator, after: str | None = None) -> Response:
    party = visit.party
    public = visit.service.public()
    page = app.list_works(public, owner_id=party.party_id, limit=WORKS_PAGE + 1, after=after)
    collections = collections_of(public, owner_id=party.party_id)
    names = {c.collection.id: c.collection.name for c in collections}
    return render(
        request,
        "creator/works.html",
        {
            "title": "Your works",
            "works": page[:WORKS_PAGE],
            "next": page[WORKS_PAGE - 1].id if len(page) > WORKS_PAGE else None,
            "first_page": after is None,
            "total": count_works(public, owner_id=party.party_id),
            "collections": collections,
            "names": names,
        },
    )


@router.get("/creator/works/{work_id}")
def work(request: Request, visit: Creator, work_id: str) -> Response:
    found = _own_work(visit, work_id)
    public = visit.service.public()
    effective = app.show_terms(public, found.id)
    collection = None
    if found.collection_id is not None:
        collection = app.find_collection(public, found.collection_id, owner_id=visit.party.party_id)
    uses = [
        u for u in owner_uses(visit.reading(), visit.party.party_id) if u.usage.work_id == work_id
    ]
    return render(
        request,
        "creator/work.html",
        {
            "title": found.title or found.path,
            "work": found,
            "collection": collection,
            "terms": effective.terms,
            "layers": effective.layers,
            "sentences": _sentences(effective.terms),
            "uses": uses,
        },
    )


@router.get("/creator/upload")
def upload(request: Request, visit: Creator) -> Response:
    public = visit.service.public()
    return render(
        request,
        "creator/upload.html",
        {
            "title": "Register works",
            "collections": collections_of(public, owner_id=visit.party.party_id),
            "batch_files": FINGERPRINT_FILES,
            "batch_bytes": FINGERPRINT_BYTES,
            "register_batch": min(MAX_BATCH, 200),
        },
    )


@router.post("/creator/fingerprints")
async def fingerprints(request: Request, visit: Scripted) -> JSONResponse:
    """The files of one batch fingerprinted in memory, answered as the records a
    ``consentry work register --export`` file holds; the files' bytes are dropped
    with the request and nothing of them is stored."""
    account = visit.account
    if account is None or account.role is not PartyKind.OWNER or account.party_id is None:
        raise NotFoundError("only a creator with a key fingerprints works here")
    form = await request.form(max_files=FINGERPRINT_FILES, max_fields=FINGERPRINT_FILES + 5)
    records: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    try:
        for _, value in form.multi_items():
            if isinstance(value, str):
                continue
            path = value.filename or "unnamed"
            data = await value.read()
            result = await request.app.state.heavy.run(fingerprint_upload, path, data)
            del data
            if isinstance(result, FileProblem):
                problems.append(
                    {"path": result.path, "message": result.message, "refused": result.refused}
                )
            else:
                records.append(result.to_json())
    finally:
        await form.close()
    return JSONResponse({"files": records, "problems": problems})


def _sentences(terms: Terms) -> list[tuple[str, str]]:
    out = [(CATEGORY_NAMES[c], sentence(c, terms.permission(c))) for c in Category]
    if terms.price is not None:
        price = terms.price
        out.append(
            ("Price", f"A licence costs {price.amount} {price.currency} {UNIT_WORDS[price.unit]}.")
        )
    return out + [("Conditions", s) for s in _condition_sentences(terms)]


def _condition_sentences(terms: Terms) -> list[str]:
    c = terms.conditions
    out = []
    if c.attribution:
        out.append(CONDITION_SENTENCES["attribution"].format(value=c.attribution))
    if c.share_alike:
        out.append(CONDITION_SENTENCES["share_alike"])
    if c.non_commercial:
        out.append(CONDITION_SENTENCES["non_commercial"])
    if c.expires is not None:
        out.append(CONDITION_SENTENCES["expires"].format(value=c.expires.isoformat()))
    if c.max_excerpt_chars is not None:
        out.append(
            CONDITION_SENTENCES["max_excerpt_chars"].format(value=f"{c.max_excerpt_chars:,}")
        )
    return out


@router.get("/creator/terms")
def owner_terms(request: Request, visit: Creator) -> Response:
    return _terms_page(request, visit, visit.party.party_id)


@router.get("/creator/terms/{target_id}")
def target_terms(request: Request, visit: Creator, target_id: str) -> Response:
    return _terms_page(request, visit, target_id)


def _terms_page(request: Request, visit: Visit, target_id: str) -> Response:
    target = _target(visit, target_id)
    public = visit.service.public()
    effective = app.show_terms(public, target.id)
    own = next((layer for layer in effective.layers if layer.target_id == target.id), None)
    mine = own.terms if own is not None else Terms()
    above = [layer for layer in effective.layers if layer.target_id != target.id]
    inherited = Terms()
    for layer in above:
        inherited = layer.terms.over(inherited)
    categories = [
        {
            "category": c,
            "name": CATEGORY_NAMES[c],
            "chosen": mine.categories.get(c),
            "inherited": inherited.permission(c),
            "sentences": {p.value: sentence(c, p) for p in Permission},
            "inherit_sentence": (
                "Not set here: " + _lowered(sentence(c, inherited.permission(c)))
                if target.kind != "owner"
                else "Not set: " + _lowered(sentence(c, Permission.LICENSE))
            ),
            "labels": VOCABULARY[c],
        }
        for c in Category
    ]
    return render(
        request,
        "creator/terms.html",
        {
            "title": f"Terms for {target.name}",
            "target": target,
            "categories": categories,
            "mine": mine,
            "document_json": json.dumps(mine.to_json(), indent=2, ensure_ascii=False),
            "price_sentence": PRICE_SENTENCE,
            "no_price": NO_PRICE,
            "condition_sentences": CONDITION_SENTENCES,
            "effective": effective.terms,
            "sentences": _sentences(effective.terms),
            "units": [(u.value, UNIT_WORDS[u]) for u in PriceUnit],
            "collections": collections_of(public, owner_id=visit.party.party_id),
            "owner_id": visit.party.party_id,
        },
    )


@router.get("/creator/requests")
def requests(request: Request, visit: Creator) -> Response:
    found = _requests(visit)
    return render(
        request,
        "creator/requests.html",
        {
            "title": "Licence requests",
            "open": [r for r in found if r.state in _OPEN],
            "waiting": [r for r in found if r.state is RequestState.COUNTERED],
            "answered": [r for r in found if r.state not in (*_OPEN, RequestState.COUNTERED)],
            "names": _licensee_names(visit, found),
            "categories": [(c.value, CATEGORY_NAMES[c]) for c in Category],
            "units": [(u.value, UNIT_WORDS[u]) for u in PriceUnit],
        },
    )


def _licensee_names(visit: Visit, found: list[LicenseRequest]) -> dict[str, str]:
    public = visit.service.public()
    names = {}
    for licensee in {r.licensee_id for r in found}:
        try:
            names[licensee] = public.party(licensee, PartyKind.LICENSEE).name
        except ConsentryError:
            names[licensee] = licensee
    return names


@router.get("/creator/uses")
def uses(request: Request, visit: Creator) -> Response:
    found = owner_uses(visit.reading(), visit.party.party_id)
    return render(
        request, "creator/uses.html", {"title": "Where your works were used", "uses": found}
    )


@router.get("/creator/uses/{run_id}/{work_id}.usage.json")
def usage_proof(request: Request, visit: Creator, run_id: str, work_id: str) -> Response:
    """The proof that run ``run_id``'s manifest lists the work, to check offline with
    ``consentry usage verify`` (or on the public verify page)."""
    for use in owner_uses(visit.reading(), visit.party.party_id):
        if use.usage.run_id == run_id and use.usage.work_id == work_id:
            return Response(
                use.usage.proof.to_json(),
                media_type="application/json",
                headers={
                    "content-disposition": f'attachment; filename="{work_id}.{run_id}.usage.json"'
                },
            )
    raise NotFoundError(f"no use of work {work_id!r} of yours in run {run_id!r}")


@router.get("/creator/earnings")
def earnings(
    request: Request, visit: Creator, since: str | None = None, until: str | None = None
) -> Response:
    (first, last), errors = asked_period(since, until)
    earned = _earnings(visit, first, last)
    totals = earned.totals()
    by_licensee, by_work = earned.by_licensee(), earned.by_work()
    charts = [
        (
            currency,
            _chart(by_licensee, currency=currency, by="licensee", chart_id=f"lic-{currency}"),
            _chart(by_work, currency=currency, by="work", chart_id=f"work-{currency}"),
        )
        for currency in totals
    ]
    query = (
        f"since={first.isoformat() if first else 'all'}&until={last.isoformat() if last else 'all'}"
    )
    return render(
        request,
        "creator/earnings.html",
        {
            "title": "Earnings",
            "first": first,
            "last": last,
            "values": {
                "since": since or (first.isoformat() if first else ""),
                "until": until or (last.isoformat() if last else ""),
            },
            "errors": errors,
            "totals": totals,
            "by_licensee": by_licensee,
            "by_work": by_work,
            "charts": charts,
            "lines": earned.lines,
            "query": query,
        },
        status_code=400 if errors else 200,
    )


@router.get("/creator/earnings.csv")
def earnings_csv(
    request: Request, visit: Creator, since: str | None = None, until: str | None = None
) -> Response:
    first, last = period_of(since, until)
    earned = _earnings(visit, first, last)
    start = first.isoformat() if first else "start"
    name = f"earnings-{start}-{last.isoformat() if last else 'now'}.csv"
    return Response(
        earned.to_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
