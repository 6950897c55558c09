"""``/v1/terms``: an owner publishes terms on itself, a collection or a work, signed in
its rounds; anyone reads the terms in force and the layers they come from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from consentry import app
from consentry.api.changes import run_change
from consentry.api.deps import Served, Signed
from consentry.api.models import SigningModel
from consentry.registry import EffectiveTerms
from consentry.terms import Terms

__all__ = ["router"]

router = APIRouter(tags=["terms"])


class TermsBody(BaseModel):
    """The terms document (``consentry terms schema``); fields left out are inherited."""

    model_config = ConfigDict(extra="forbid")
    terms: dict[str, Any] = Field(description="A terms document, as Terms.to_json writes it.")
    signing: SigningModel | None = None


def effective_json(effective: EffectiveTerms) -> dict[str, Any]:
    """``EffectiveTerms.to_json``, each layer with its own terms as well, so that a
    client has the whole record and not only its summary."""
    shown = effective.to_json()
    for layer, entry in zip(effective.layers, shown["layers"], strict=True):
        entry["terms"] = layer.terms.to_json()
    return shown


@router.put("/v1/terms/{target_id:path}", status_code=201, summary="Publish terms (owner)")
def set_terms(service: Served, caller: Signed, target_id: str, body: TermsBody) -> JSONResponse:
    actor = caller.require()
    terms = Terms.from_json(body.terms, source="terms")
    return run_change(
        service,
        caller,
        operation=f"terms {target_id}",
        body=body,
        signing=body.signing,
        make=lambda ws: app.set_terms(ws, target_id, owner_id=actor.party_id, terms=terms),
        render=lambda layer: layer.to_json(),
    )


@router.get("/v1/terms/{target_id:path}", summary="The terms in force, and where each part is from")
def show_terms(service: Served, target_id: str) -> dict[str, Any]:
    return effective_json(app.show_terms(service.public(), target_id))
