"""``/v1/check``: may this model output be published? Text, code (its file name says
its language) or an image, checked against the registry. Public: an unsigned request
is checked as anyone's; one signed by a licensee that names itself counts its grants.

A party with a sketch checks offline instead (``consentry check --sketch``), so that
its output never leaves its machine."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from consentry import app
from consentry.api import problems
from consentry.api.deps import Served, Signed
from consentry.errors import InputError

__all__ = ["MAX_OUTPUT", "router"]

router = APIRouter(tags=["check"])

# One output's bound, within the service's bound on a body: a check holds the output
# and its fingerprints in memory, and a public route must not be told to hold more.
MAX_OUTPUT = 16 * 1024 * 1024


class OutputBody(BaseModel):
    """One output: ``text``, or its bytes in ``content_base64`` (an image, or text and
    code as a file holds them); ``name`` is its file name (``main.py`` says Python)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=255)
    text: str | None = None
    content_base64: str | None = None
    min_span: int = Field(default=200, ge=1, le=1_000_000_000)
    licensee: str | None = Field(default=None, max_length=40)


class _TooLargeError(Exception):
    pass


def _content(body: OutputBody) -> tuple[str, str | bytes]:
    if (body.text is None) == (body.content_base64 is None):
        raise InputError("send the output as exactly one of text or content_base64")
    if body.text is not None:
        if len(body.text) > MAX_OUTPUT:
            raise _TooLargeError(f"{len(body.text):,} characters")
        return body.name or "output.txt", body.text
    encoded = body.content_base64 or ""
    if len(encoded) > (MAX_OUTPUT + 2) // 3 * 4:
        raise _TooLargeError(f"about {len(encoded) // 4 * 3:,} bytes")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(
            "content_base64 is not base64 (RFC 4648, with padding); encode the output's bytes"
        ) from None
    return body.name or "output", data


@router.post(
    "/v1/check",
    summary="Does this output reproduce a registered work? (public)",
    responses={200: {"description": "The report, as 'consentry check --json' prints it"}},
)
def check(request: Request, service: Served, caller: Signed, body: OutputBody) -> JSONResponse:
    try:
        name, content = _content(body)
    except _TooLargeError as exc:
        problem = problems.Problem(
            problems.TOO_LARGE,
            f"{body.name or 'the output'} is {exc}; the registry checks outputs of at most "
            f"{MAX_OUTPUT:,} bytes or characters each: check a larger one offline, from a sketch "
            "(consentry sketch export, then consentry check --sketch)",
            request.url.path,
        )
        return JSONResponse(
            problem.to_json(), status_code=problem.status, media_type=problems.MEDIA_TYPE
        )
    ws = service.public() if caller.actor is None else service.reading_as(caller.actor)
    (report,) = app.check_served(
        ws, [(name, content)], licensee_id=body.licensee, min_span=body.min_span
    )
    return JSONResponse(report.to_json())
