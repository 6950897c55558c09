"""``/v1/works`` and ``/v1/collections``: an owner registers works by their fingerprints
(the content never reaches the registry), a batch a request; anyone reads works' and
collections' metadata, which is public."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from consentry import app
from consentry.api.changes import run_change
from consentry.api.deps import Cursor, Limit, Served, Signed, keyset_page
from consentry.api.models import SigningModel
from consentry.app.remote_works import MAX_BATCH
from consentry.registry import Collection

__all__ = ["router"]

router = APIRouter(tags=["works"])

_OWNER = Query(default=None, max_length=40, description="Only this owner's works.")


class WorksBody(BaseModel):
    """One batch of files: each its path and fingerprints (``FileFingerprint.to_json``),
    at most 500, into the owner's collection of that name or id, if given (create it
    first with ``POST /v1/collections``)."""

    model_config = ConfigDict(extra="forbid")
    collection: str | None = Field(default=None, min_length=1, max_length=200)
    files: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)
    signing: SigningModel | None = None


class CollectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    signing: SigningModel | None = None


def _collection(found: Collection) -> dict[str, Any]:
    return {"id": found.id, "owner_id": found.owner_id, "name": found.name}


@router.post("/v1/works", status_code=201, summary="Register a batch of works (owner)")
def register(service: Served, caller: Signed, body: WorksBody) -> JSONResponse:
    actor = caller.require()
    # Every file is read and checked before anything runs: a bad one stores nothing.
    files = app.uploaded_files(body.files)
    return run_change(
        service,
        caller,
        operation="register-works",
        body=body,
        signing=body.signing,
        make=lambda ws: app.register_batch(
            ws, files, owner_id=actor.party_id, collection=body.collection
        ),
        render=lambda made: {"items": [r.to_json() for r in made]},
    )


@router.get("/v1/works", summary="Registered works, oldest first (their metadata is public)")
def works(
    service: Served, owner: str | None = _OWNER, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    public = service.public()
    return keyset_page(
        lambda after, n: app.list_works(public, owner_id=owner, limit=n, after=after),
        key=lambda w: w.id,
        cursor=cursor,
        limit=limit,
        render=lambda w: w.to_json(),
    )


@router.get("/v1/works/{work_id}", summary="One work")
def work(service: Served, work_id: str) -> dict[str, Any]:
    return app.show_work(service.public(), work_id).to_json()


@router.post("/v1/collections", status_code=201, summary="Make a collection (owner)")
def make_collection(service: Served, caller: Signed, body: CollectionBody) -> JSONResponse:
    actor = caller.require()
    return run_change(
        service,
        caller,
        operation="collection",
        body=body,
        signing=body.signing,
        make=lambda ws: app.create_collection(ws, body.name, owner_id=actor.party_id),
        render=_collection,
    )


@router.get("/v1/collections/{reference:path}", summary="A collection by id, or by name")
def collection(
    service: Served,
    reference: str,
    owner: str = Query(max_length=40, description="Whose collection a name is."),
) -> dict[str, Any]:
    return _collection(app.find_collection(service.public(), reference, owner_id=owner))
