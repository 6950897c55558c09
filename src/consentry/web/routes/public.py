"""The public pages: the log and its proofs, verifying a bundle, the check, certificates.

Anyone reads them, signed in or not: nothing here needs an account or a key, and
nothing a visitor sends is kept. Each page calls the functions the CLI and the API
call (``consentry log prove``, ``log verify-proof``, ``usage verify``, ``check``), so a
proof the page checks is the proof the command checks, and a verdict is the API's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from consentry import app
from consentry.api.routes.check import MAX_OUTPUT
from consentry.app.public import (
    PublicEntry,
    RunCertificate,
    VerifiedProof,
    checkpoint_cosigners,
    log_page,
    public_entry,
    run_certificate,
    verify_any_proof,
)
from consentry.app.remote_log import (
    PublishedLogWorkspace,
    publish_checkpoint,
    published_checkpoint,
    published_identity,
)
from consentry.check import CheckReport, Verdict
from consentry.errors import InputError, NotFoundError, VerificationError
from consentry.log import WitnessPolicy
from consentry.log.leaf import Leaf
from consentry.log.tree import leaf_hash
from consentry.registry.transparency import SignedCheckpoint
from consentry.web.sessions import CheckedForm, Viewer, Visit
from consentry.web.templating import render
from consentry.witness import WitnessEndpoint

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

LOG_PAGE = 50
# A proof file is a few kilobytes (a leaf is at most 64 KiB); anything far larger is
# not one, and is not read further.
MAX_PROOF = 256 * 1024
# Pasted text is a form field: the multipart parser holds at most 1 MiB of one.
MAX_PASTE = 1_000_000

Index = Annotated[int, Path(ge=0, le=2**62, description="The entry's index in the log.")]


# -- the log in words ----------------------------------------------------------------------

# What each kind of event says, for one entry and for several in a row by the same
# actor; {actor} and {subject} only for the events the registry publishes anyway.
_SAID: dict[str, tuple[str, str]] = {
    "owner.created": ("{actor} joined the registry as a creator", "{n} creators joined"),
    "licensee.created": ("{actor} joined the registry as a lab", "{n} labs joined"),
    "collection.created": (
        "{actor} made the collection “{subject}”",
        "{actor} made {n} collections",
    ),
    "work.registered": ("{actor} registered the work “{subject}”", "{actor} registered {n} works"),
    "terms.set": ("{actor} published terms for {subject}", "{actor} published {n} sets of terms"),
    "dispute.opened": ("Someone disputed a work's registration", "{n} registrations disputed"),
    "request.created": ("A lab asked a creator for a licence", "Labs asked for {n} licences"),
    "request.countered": (
        "A creator answered a licence request with a counter-offer",
        "Creators made {n} counter-offers",
    ),
    "request.accepted": ("A lab accepted a counter-offer", "Labs accepted {n} counter-offers"),
    "request.denied": ("A creator denied a licence request", "Creators denied {n} requests"),
    "grant.issued": ("A creator granted a licence", "Creators granted {n} licences"),
    "grant.revoked": ("A creator revoked a licence", "Creators revoked {n} licences"),
    "run.started": ("A lab started a training run", "Labs started {n} training runs"),
    "manifest.recorded": (
        "A lab recorded the signed manifest of a training run",
        "Labs recorded {n} training manifests",
    ),
}
_PRIVATE = (
    "Who did this is not shown: the log commits to the parties of requests, licences and "
    "runs without naming them, and only they can prove what an entry is about."
)


def _subject(entry: PublicEntry) -> str:
    if entry.event == "terms.set" and entry.subject_id == entry.actor_id:
        return "all their works"
    if entry.event == "terms.set" and (entry.subject_id or "").startswith("col_"):
        return f"the collection “{entry.subject_name or entry.subject_id}”"
    if entry.event == "terms.set":
        return f"the work “{entry.subject_name or entry.subject_id}”"
    return entry.subject_name or entry.subject_id or ""


def describe(entry: PublicEntry) -> str:
    """One entry in a sentence."""
    if entry.event == "unreadable":
        return f"An entry that is not a consentry event ({entry.problem})"
    one, _ = _SAID.get(entry.event, (f"An event of kind {entry.event}", ""))
    if "{actor}" in one and entry.actor_name is None:
        return f"An event of kind {entry.event} by a party not named here ({entry.problem})"
    text = one.format(actor=entry.actor_name, subject=_subject(entry))
    if entry.event == "manifest.recorded" and entry.works is not None:
        text += f", listing {entry.works:,} registered work{'s' if entry.works != 1 else ''}"
    return text


@dataclass(frozen=True, slots=True)
class Group:
    """Entries in a row that say the same thing of the same actor, shown as one line."""

    sentence: str
    entries: tuple[PublicEntry, ...]
    named: bool

    @property
    def newest(self) -> PublicEntry:
        return self.entries[0]

    @property
    def oldest(self) -> PublicEntry:
        return self.entries[-1]


def _group(entries: list[PublicEntry]) -> list[Group]:
    runs: list[list[PublicEntry]] = []
    for entry in entries:
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and (last.event, last.actor_id) == (entry.event, entry.actor_id)
            and entry.event in _SAID
            and (entry.actor_id is not None or entry.problem is None)
            and last.problem == entry.problem
        ):
            runs[-1].append(entry)
        else:
            runs.append([entry])
    groups = []
    for run in runs:
        first = run[0]
        if len(run) == 1:
            sentence = describe(first)
        else:
            many = _SAID[first.event][1].format(actor=first.actor_name, n=f"{len(run):,}")
            if first.event == "work.registered":
                titles = [e.subject_name or e.subject_id or "" for e in run[:3]]
                more = ", …" if len(run) > 3 else ""
                many += ": " + ", ".join(f"“{t}”" for t in titles) + more
            sentence = many
        groups.append(Group(sentence, tuple(run), first.actor_id is not None))
    return groups


def _log_reading(visit: Visit) -> PublishedLogWorkspace:
    """The log as the service published it: a page never signs a checkpoint itself
    (the service's home holds the log key; this workspace does not reach it)."""
    service = visit.service
    return PublishedLogWorkspace(service.settings, service.registry, None)


def _up_to_date(visit: Visit) -> None:
    """As the API's proof route does: what has grown since the last checkpoint is
    signed first, unless witnesses must cosign each checkpoint (then the checkpointer
    does, and the page waits for its next step)."""
    if not visit.service.options.witnesses:
        publish_checkpoint(visit.service.public())


def _checkpoint(ws: PublishedLogWorkspace) -> SignedCheckpoint | None:
    try:
        return published_checkpoint(ws)
    except NotFoundError:
        return None


@router.get("/public/log", response_class=HTMLResponse)
def log(
    request: Request,
    visit: Viewer,
    before: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> Response:
    ws = _log_reading(visit)
    identity = published_identity(ws)
    signed = _checkpoint(ws)
    witnesses = visit.service.options.witnesses
    cosigners = [] if signed is None else checkpoint_cosigners(signed, witnesses)
    page = log_page(ws, before=before, limit=LOG_PAGE)
    return render(
        request,
        "public/log.html",
        {
            "title": "The public log",
            "identity": identity,
            "signed": signed,
            "cosigners": cosigners,
            "witnesses": len(witnesses),
            "quorum": visit.service.options.quorum or len(witnesses),
            "page": page,
            "groups": _group(page.entries),
            "newer": None if page.end >= page.size else min(page.size, page.end + LOG_PAGE),
            "older": page.start if page.start > 0 else None,
            "private": _PRIVATE,
        },
    )


@router.get("/public/log/entries/{index}", response_class=HTMLResponse)
def entry(request: Request, visit: Viewer, index: Index) -> Response:
    _up_to_date(visit)
    ws = _log_reading(visit)
    found = public_entry(ws, index)
    signed = _checkpoint(ws)
    bundle = None
    if signed is not None and index < signed.checkpoint.size:
        bundle = app.prove(ws, index=index)
    leaf = None if bundle is None or bundle.extra is None else Leaf.parse(bundle.extra)
    return render(
        request,
        "public/entry.html",
        {
            "title": f"Log entry {index}",
            "entry": found,
            "sentence": describe(found),
            "named": found.actor_id is not None,
            "private": _PRIVATE,
            "signed": signed,
            "bundle": bundle,
            "leaf_hash": "" if bundle is None else leaf_hash(bundle.extra or b"").hex(),
            "leaf_json": "" if leaf is None else json.dumps(leaf.body(), indent=2),
            "hashes": [h.hex() for h in bundle.proof] if bundle is not None else [],
            "identity": published_identity(ws),
        },
    )


@router.get("/public/log/entries/{index}/proof")
def entry_proof(visit: Viewer, index: Index) -> Response:
    """The entry's c2sp.org/tlog-proof@v1 file, as ``consentry log prove --index``
    writes it; ``consentry log verify-proof`` checks it."""
    _up_to_date(visit)
    ws = _log_reading(visit)
    published_checkpoint(ws)  # none yet is "not yet", not a server error
    bundle = app.prove(ws, index=index)
    return Response(
        bundle.to_text(),
        media_type="text/plain; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="entry-{index}.tlog-proof"'},
    )


# -- verifying a proof ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Verified:
    proof: VerifiedProof
    sentence: str
    entry: PublicEntry | None
    work_title: str | None


async def _upload(value: object, limit: int, what: str) -> bytes | None:
    """The bytes of an uploaded file field, at most ``limit``; None when none was chosen."""
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    data = await value.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{value.filename} is larger than {limit:,} bytes: it is not {what}")
    return data


def _proof_text(data: bytes | None, pasted: str) -> str:
    if data is None:
        if not pasted.strip():
            raise InputError("choose a proof file, or paste a proof's text")
        return pasted.replace("\r\n", "\n")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(
            "this file is not text: a proof is the text file consentry or this site writes "
            "(.tlog-proof, or .usage.json)"
        ) from None


def _witness_policy(visit: Visit) -> WitnessPolicy | None:
    witnesses = visit.service.options.witnesses
    if not witnesses:
        return None
    keys = [WitnessEndpoint.parse(w).key.vkey() for w in witnesses]
    return app.witness_policy(keys, visit.service.options.quorum)


def _verified(visit: Visit, text: str) -> _Verified:
    ws = _log_reading(visit)
    identity = published_identity(ws)
    proof = verify_any_proof(text, identity, witnesses=_witness_policy(visit))
    # The leaf verified in a checkpoint this log signed: it is this log's entry, and
    # what the log says of it can be read back.
    try:
        found: PublicEntry | None = public_entry(ws, proof.index)
    except NotFoundError:
        found = None
    said = describe(found) if found is not None else f"An event of kind {proof.leaf.event}"
    where = f"{proof.checkpoint.origin}, whose key signed its checkpoint of size " + (
        f"{proof.checkpoint.size:,}"
    )
    if proof.work_id is None:
        sentence = (
            f"Verified: log entry {proof.index} is in the log {where}. It says: {said}. "
            "Nobody, the registry included, can remove or change it without that showing."
        )
        return _Verified(proof, sentence, found, None)
    try:
        work = app.show_work(ws, proof.work_id)
        title: str | None = work.title or work.path
    except NotFoundError:
        title = None  # erased since: the proof still holds
    named = f"“{title}” ({proof.work_id})" if title else proof.work_id
    sentence = (
        f"Verified: the signed training manifest at log entry {proof.index} lists the work "
        f"{named}, and that entry is in the log {where}."
    )
    return _Verified(proof, sentence, found, title)


@router.get("/public/verify", response_class=HTMLResponse)
def verify_form(request: Request, visit: Viewer) -> Response:
    return _verify_page(request, visit)


def _verify_page(
    request: Request,
    visit: Viewer,
    *,
    verified: _Verified | None = None,
    refused: str | None = None,
    errors: dict[str, str] | None = None,
    pasted: str = "",
    status_code: int = 200,
) -> Response:
    identity = published_identity(_log_reading(visit))
    return render(
        request,
        "public/verify.html",
        {
            "title": "Verify a proof",
            "identity": identity,
            "verified": verified,
            "refused": refused,
            "errors": errors or {},
            "pasted": pasted,
            "max_proof": MAX_PROOF,
        },
        status_code=status_code,
    )


@router.post("/public/verify", response_class=HTMLResponse)
async def verify(request: Request, visit: Viewer, form: CheckedForm) -> Response:
    pasted = str(form.get("text") or "")
    try:
        data = await _upload(form.get("proof"), MAX_PROOF, "a proof")
        text = _proof_text(data, pasted)
    except InputError as exc:
        return _verify_page(
            request, visit, errors={"proof": str(exc)}, pasted=pasted, status_code=400
        )
    finally:
        await form.close()
    try:
        verified = await run_in_threadpool(_verified, visit, text)
    except (VerificationError, InputError) as exc:
        reason = str(exc)
        refused = f"Not verified: {reason[:1].lower()}{reason[1:]}."
        return _verify_page(
            request, visit, refused=refused, pasted=pasted if data is None else "", status_code=422
        )
    return _verify_page(request, visit, verified=verified)


# -- the publication check -----------------------------------------------------------------

VERDICT_SENTENCES = {
    Verdict.BLOCKED: (
        "Do not publish this: it copies a registered work whose owner does not allow "
        "publishing it (or not this much of it)."
    ),
    Verdict.ATTRIBUTE: "You may publish this if you credit the owners with the text below.",
    Verdict.LICENSED: "You may publish this: a licence you hold covers what it copies.",
    Verdict.CLEAR: "You may publish this: the owners' terms allow what it copies.",
}
VERDICT_NAMES = {
    Verdict.BLOCKED: "Blocked",
    Verdict.ATTRIBUTE: "Allowed with attribution",
    Verdict.LICENSED: "Allowed under your licence",
    Verdict.CLEAR: "Allowed",
}
MATCH_WORDS = {
    "exact": "an exact copy",
    "near": "a near copy",
    "excerpt": "an excerpt",
    "image": "a copy of the image",
    "code": "a copy of the code",
}


@dataclass(frozen=True, slots=True)
class _Excerpt:
    before: str
    matched: str
    after: str
    start: int
    end: int


def _excerpts(text: str | None, spans: tuple[tuple[int, int], ...]) -> list[_Excerpt]:
    """The matched parts of the visitor's own text, a few words around each, shortened
    in the middle where long (the owner's work is never shown: only what was sent)."""
    if text is None:
        return []
    found = []
    for start, end in spans[:5]:
        matched = text[start:end]
        if len(matched) > 400:
            matched = matched[:200] + " … " + matched[-160:]
        found.append(
            _Excerpt(text[max(0, start - 40) : start], matched, text[end : end + 40], start, end)
        )
    return found


def _title(visit: Visit, work_id: str) -> str | None:
    try:
        work = app.show_work(visit.service.public(), work_id)
    except NotFoundError:
        return None
    return work.title or work.path


def _check_page(
    request: Request,
    visit: Visit,
    *,
    report: CheckReport | None = None,
    text: str | None = None,
    errors: dict[str, str] | None = None,
    pasted: str = "",
    status_code: int = 200,
) -> Response:
    findings = []
    if report is not None:
        for f in report.findings:
            findings.append(
                {
                    "finding": f,
                    "title": _title(visit, f.work_id),
                    "match": MATCH_WORDS.get(f.kind.value, f.kind.value),
                    "excerpts": _excerpts(text, f.spans),
                    "verdict": VERDICT_NAMES[f.verdict],
                }
            )
    return render(
        request,
        "public/check.html",
        {
            "title": "Check before you publish",
            "report": report,
            "findings": findings,
            "verdict": None if report is None else report.verdict,
            "verdict_name": None if report is None else VERDICT_NAMES[report.verdict],
            "verdict_sentence": None if report is None else VERDICT_SENTENCES[report.verdict],
            "errors": errors or {},
            "pasted": pasted,
            "max_paste": MAX_PASTE,
            "max_file": MAX_OUTPUT,
        },
        status_code=status_code,
    )


@router.get("/public/check", response_class=HTMLResponse)
def check_form(request: Request, visit: Viewer) -> Response:
    return _check_page(request, visit)


@router.post("/public/check", response_class=HTMLResponse)
async def check(request: Request, visit: Viewer, form: CheckedForm) -> Response:
    """The output checked as ``POST /v1/check`` checks an unsigned one, in this
    request's memory: nothing of it is stored, and it is dropped with the answer."""
    pasted = str(form.get("text") or "").replace("\r\n", "\n")
    upload = form.get("file")
    request.app.state.check_limiter.take(_address(request))
    try:
        data = await _upload(upload, MAX_OUTPUT, "an output the registry checks")
    except InputError as exc:
        return _check_page(
            request, visit, errors={"file": str(exc)}, pasted=pasted, status_code=400
        )
    finally:
        await form.close()
    content: str | bytes
    if data is not None:
        name = upload.filename if isinstance(upload, UploadFile) and upload.filename else "file"
        content = data
    elif pasted.strip():
        name, content = "pasted text.txt", pasted
    else:
        sentence = "paste the text to check, or choose a file or an image"
        return _check_page(request, visit, errors={"text": sentence}, status_code=400)
    try:
        (report,) = await request.app.state.heavy.run(
            app.check_served, visit.service.public(), [(name, content)]
        )
    except InputError as exc:
        field = "file" if data is not None else "text"
        return _check_page(request, visit, errors={field: str(exc)}, pasted=pasted, status_code=400)
    shown = content if isinstance(content, str) else _as_text(content)
    return _check_page(request, visit, report=report, text=shown, pasted=pasted)


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _as_text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


# -- certificates --------------------------------------------------------------------------


@router.get("/public/certificates/{run_id}", response_class=HTMLResponse)
def certificate(
    request: Request,
    visit: Viewer,
    run_id: Annotated[str, Path(min_length=1, max_length=40, pattern=r"^run_[a-z2-7]+$")],
) -> Response:
    ws = _log_reading(visit)
    found: RunCertificate = run_certificate(ws, run_id)
    manifest = found.manifest or {}
    return render(
        request,
        "public/certificate.html",
        {
            "title": f"Certificate of run {run_id}",
            "run": found,
            "counts": found.counts,
            "mode": str(manifest.get("mode", "")),
            "finished_at": _moment(manifest.get("finished_at")),
            "corpus_digest": str(manifest.get("corpus_digest", "")),
            "items_root": str(manifest.get("items_merkle_root", "")),
            "billed": sum(1 for w in found.works if w.get("amount") is not None),
        },
    )


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
