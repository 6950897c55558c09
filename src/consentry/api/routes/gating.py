"""``/v1/snapshot``, ``/v1/runs``, ``/v1/manifests``: a lab gates on its own machine
from a signed snapshot, records its run's start here, and sends the signed manifest."""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path
from typing import Any

import zstandard
from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, JSONResponse
from pydantic import Field
from starlette.background import BackgroundTask

from consentry import app
from consentry.api.changes import run_change
from consentry.api.deps import Served, Signed
from consentry.api.models import Change
from consentry.app.snapshots import export_gate_snapshot
from consentry.clock import format_time
from consentry.errors import InputError
from consentry.terms import Category

__all__ = ["router"]

router = APIRouter(tags=["gating"])

SNAPSHOT_MEDIA_TYPE = "application/vnd.consentry.snapshot+zstd"


class RunBody(Change):
    run_id: str = Field(min_length=5, max_length=40, pattern=r"^run_[a-z2-7]{16}$")
    purpose: str = Field(max_length=40)
    snapshot_note: str | None = Field(default=None, max_length=4000)


class ManifestBody(Change):
    manifest: dict[str, Any]
    signature: str = Field(max_length=200)


def _purpose(text: str) -> Category:
    try:
        return Category(text)
    except ValueError:
        raise InputError(f"purpose {text!r} is not a use category") from None


@router.get(
    "/v1/snapshot",
    summary="Your signed snapshot for gating (licensee), or the update after event `since`",
    response_class=FileResponse,
    responses={200: {"content": {SNAPSHOT_MEDIA_TYPE: {}}}},
)
def snapshot(
    service: Served, caller: Signed, since: int = Query(default=0, ge=0, le=2**62)
) -> FileResponse:
    actor = caller.require()
    service.snapshots.take(actor.key.key_id)
    folder = Path(tempfile.mkdtemp(prefix="consentry-snapshot-"))
    made, packed = folder / "snapshot.db", folder / "snapshot.db.zst"
    try:
        _, note = export_gate_snapshot(
            service.reading_as(actor), made, licensee_id=actor.party_id, since=since
        )
        with made.open("rb") as source, packed.open("wb") as target:
            zstandard.ZstdCompressor(level=3).copy_stream(source, target)
    except BaseException:
        _remove(folder)
        raise
    made.unlink()
    verifier = app.log_verifier(service.public())
    return FileResponse(
        packed,
        media_type=SNAPSHOT_MEDIA_TYPE,
        headers={
            "Consentry-Snapshot-Note": base64.b64encode(note.note.encode()).decode("ascii"),
            "Consentry-Log-Key": verifier.vkey(),
            "Cache-Control": "no-store",
        },
        background=BackgroundTask(_remove, folder),
    )


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


@router.post("/v1/runs", status_code=201, summary="Record that your run begins now (licensee)")
def start_run(service: Served, caller: Signed, body: RunBody) -> JSONResponse:
    actor = caller.require()
    return run_change(
        service,
        caller,
        operation="start-run",
        body=body,
        signing=body.signing,
        make=lambda ws: app.start_run(
            ws,
            licensee_id=actor.party_id,
            run_id=body.run_id,
            purpose=_purpose(body.purpose),
            snapshot_note=body.snapshot_note,
        ),
        render=lambda at: {"run_id": body.run_id, "started_at": format_time(at)},
    )


@router.get("/v1/runs/{run_id}", summary="When your run began, as the registry recorded it")
def run(service: Served, caller: Signed, run_id: str) -> dict[str, Any]:
    actor = caller.require()
    at = app.run_started(service.reading_as(actor), licensee_id=actor.party_id, run_id=run_id)
    return {"run_id": run_id, "started_at": format_time(at)}


@router.post("/v1/manifests", status_code=201, summary="Record your run's signed manifest")
def record_manifest(service: Served, caller: Signed, body: ManifestBody) -> JSONResponse:
    actor = caller.require()

    def recorded(ws: Any) -> dict[str, Any]:
        app.record_manifest(
            ws, licensee_id=actor.party_id, manifest=body.manifest, signature=body.signature
        )
        return {"run_id": body.manifest.get("run_id"), "recorded": True}

    return run_change(
        service,
        caller,
        operation="record-manifest",
        body=body,
        signing=body.signing,
        make=recorded,
        render=lambda done: done,
    )
