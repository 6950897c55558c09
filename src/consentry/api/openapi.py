"""The OpenAPI document as a client needs it: every error an RFC 9457 problem under
``application/problem+json``, and every change's 202 round (the messages to sign)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from consentry.api.models import ProblemModel, SigningRequestModel
from consentry.api.problems import MEDIA_TYPE

__all__ = ["ERROR_STATUSES", "describe"]

ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 503)
_PROBLEM = {"$ref": "#/components/schemas/ProblemModel"}
_ROUND = {"$ref": "#/components/schemas/SigningRequestModel"}


def describe(api: FastAPI) -> None:
    """Make ``api.openapi()`` return the document described above (built once)."""

    def document() -> dict[str, Any]:
        if api.openapi_schema is not None:
            return api.openapi_schema
        made = get_openapi(
            title=api.title,
            version=api.version,
            summary=api.summary,
            description=api.description,
            routes=api.routes,
        )
        schemas = made.setdefault("components", {}).setdefault("schemas", {})
        schemas["ProblemModel"] = ProblemModel.model_json_schema()
        schemas["SigningRequestModel"] = SigningRequestModel.model_json_schema()
        for operations in made.get("paths", {}).values():
            for operation in operations.values():
                _describe_operation(operation, schemas)
        api.openapi_schema = made
        return made

    api.openapi = document  # type: ignore[method-assign]


def _describe_operation(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    # FastAPI's own 422 is for its validation errors, which are problems here (400).
    responses.pop("422", None)
    for status in ERROR_STATUSES:
        responses[str(status)] = {
            "description": "An RFC 9457 problem",
            "content": {MEDIA_TYPE: {"schema": _PROBLEM}},
        }
    if _is_change(operation, schemas):
        responses["202"] = {
            "description": "Sign these messages and send the request again with `signing`",
            "content": {"application/json": {"schema": _ROUND}},
        }


def _is_change(operation: dict[str, Any], schemas: dict[str, Any]) -> bool:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    body = schemas.get(ref.rsplit("/", 1)[-1], schema) if ref else schema
    return "signing" in body.get("properties", {})
