"""``/v1/sketch``: the signed sketch a party checks outputs from offline (what
``consentry sketch export`` writes) and the update that brings a sketch to the latest
checkpoint (what ``consentry sketch update`` applies), both signed with the log's key
(``/v1/log/key``). Public: a sketch holds fingerprints and terms, none of the works' content.

Both are cacheable: the ETag of a sketch names its checkpoint, an update's its bytes;
``Cache-Control: no-cache`` has a cache ask again, since a newer checkpoint may exist."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from consentry import app
from consentry.api.deps import Served, Signed

__all__ = ["router"]

router = APIRouter(tags=["sketch"])

_SINCE = Query(
    min_length=66,
    max_length=8000,
    description="The sketch's state: its chain digest, a dot, and its checkpoint note in "
    "base64url (``consentry sketch update`` sends it).",
)


def _unchanged(request: Request, etag: str) -> bool:
    given = request.headers.get("if-none-match")
    if given is None:
        return False
    return given.strip() == "*" or etag in (tag.strip() for tag in given.split(","))


@router.get(
    "/v1/sketch",
    summary="The signed sketch of every registered work, at the latest checkpoint",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, 304: {}},
)
def sketch(request: Request, service: Served, caller: Signed) -> Response:
    made = app.served_sketch(service.public())
    headers = {
        "ETag": made.etag,
        "Cache-Control": "no-cache",
        "Consentry-Works": str(made.works),
        "Consentry-Checkpoint-Size": str(made.checkpoint_size),
    }
    if _unchanged(request, made.etag):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = 'attachment; filename="registry.sketch"'
    return Response(made.data, media_type="application/octet-stream", headers=headers)


@router.get(
    "/v1/sketch/updates",
    summary="What changed since a sketch's checkpoint, as an update file (base64)",
    responses={304: {}},
)
def updates(request: Request, service: Served, caller: Signed, since: str = _SINCE) -> Response:
    made = app.served_sketch_update(service.public(), app.SketchState.parse(since))
    headers = {"ETag": made.etag, "Cache-Control": "no-cache"}
    if _unchanged(request, made.etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse(made.to_json(), headers=headers)
