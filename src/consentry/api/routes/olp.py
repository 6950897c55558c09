"""The RSL licence server (RSL 1.0, RSL-SPEC-1.0, §5: the Open License Protocol), at
``/rsl/{owner_id}``: the ``server`` an owner's RSL licence names. Its three endpoints
(§5.2) take form-encoded or JSON bodies and answer in OAuth's words, not RFC 9457:

- ``POST /rsl/{owner_id}/token`` (§5.4, RFC 6749 §4.4): a licensee's licence token on
  its grant from that owner. ``grant_type=client_credentials``, ``license`` (the
  ``<license>`` element asked for), ``resource`` (its ``<content url>``), optional
  ``license_type`` and, consentry's own, ``grant_id``.
- ``POST /rsl/{owner_id}/introspect`` (§5.5, RFC 7662): the owner's site asks whether
  a token is active now and permits an asset (``token``, ``resource``).
- ``POST /rsl/{owner_id}/key`` (§7, EMS): refused, as the registry holds no content.

Every request is client-authenticated (§5.3): HTTP Basic with the party's client
credentials (``POST /v1/olp/credentials``, signed, mints them), or an RFC 9421
signature with the party's key, verified as every request to the registry is.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from consentry.api.auth import read_caller
from consentry.api.deps import Served, Signed
from consentry.app.rsl_licensing import (
    DEFAULT_TOKEN_LIFETIME,
    RSL_MEDIA_TYPE,
    ActiveToken,
    ClientAuthenticationError,
    OlpCode,
    TokenRefusedError,
    client_of_credentials,
    introspect_licence_token,
    issue_client_credentials,
    issue_licence_token,
    owner_licence_document,
)
from consentry.clock import format_time
from consentry.errors import (
    ConfigurationError,
    ConsentryError,
    InputError,
    PermissionDeniedError,
    RateLimitedError,
    RequestSignatureError,
    StorageError,
)

if TYPE_CHECKING:
    from consentry.registry import Actor

__all__ = ["LIFETIME_ENV", "OlpOptions", "describe", "router"]

router = APIRouter(tags=["rsl"])
_log = logging.getLogger("consentry.api")

LIFETIME_ENV = "CONSENTRY_SERVE_LICENCE_TOKEN_LIFETIME"
_MAX_LIFETIME = 86_400
# RFC 6749 §5.1: a token response (and so any answer carrying one) is never cached.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_REALM = 'Basic realm="consentry licence server", charset="UTF-8"'
_ERROR_STATUSES = (400, 401, 403, 429, 503)


@dataclass(frozen=True, slots=True)
class OlpOptions:
    """How the licence server issues tokens: ``token_lifetime``, at most a day."""

    token_lifetime: timedelta = DEFAULT_TOKEN_LIFETIME

    def __post_init__(self) -> None:
        if not 1 <= self.token_lifetime.total_seconds() <= _MAX_LIFETIME:
            raise ConfigurationError(
                f"a licence token lifetime of {self.token_lifetime.total_seconds():g} s is "
                f"outside 1 to {_MAX_LIFETIME} s; give seconds in that range"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> OlpOptions:
        """The options ``consentry serve`` carried in ``CONSENTRY_SERVE_LICENCE_TOKEN_LIFETIME``
        (seconds); the defaults without it."""
        text = env.get(LIFETIME_ENV, "").strip()
        if not text:
            return cls()
        if not text.isdigit():
            raise ConfigurationError(f"{LIFETIME_ENV}={text[:40]!r} is not a number of seconds")
        return cls(timedelta(seconds=int(text)))


class TokenModel(BaseModel):
    """RSL 1.0 §5.4.3: the token, always of type ``License``, and its lifetime; with
    ``scope`` (the consentry categories it licenses) and the ``grant_id`` it rests on."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str
    grant_id: str


class IntrospectionModel(BaseModel):
    """RFC 7662 §2.2 with RSL 1.0 §5.5's members; an inactive token has ``active`` only."""

    active: bool
    token_type: str | None = None
    license: str | None = None
    resource: str | None = None
    permitted: bool | None = None
    reason: str | None = None
    scope: str | None = None
    client_id: str | None = None
    sub: str | None = None
    iat: int | None = None
    exp: int | None = None
    grant_id: str | None = None
    owner_id: str | None = None
    licensee_id: str | None = None


class OlpErrorModel(BaseModel):
    """An OAuth error (RFC 6749 §5.2), with OLP's codes (RSL 1.0 §5.4.4)."""

    error: str
    error_description: str | None = None


class CredentialsModel(BaseModel):
    """Client credentials for the licence server; the secret is shown this once."""

    client_id: str
    client_secret: str
    created_at: str


def _body(fields: Mapping[str, str], required: list[str]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {
            name: {"type": "string", "maxLength": 65_536, "description": text}
            for name, text in fields.items()
        },
        "required": required,
    }
    content = {"application/x-www-form-urlencoded": {"schema": schema}}
    content["application/json"] = {"schema": schema}
    return {"requestBody": {"required": True, "content": content}}


_TOKEN_FIELDS = {
    "grant_type": "client_credentials",
    "license": "The <license> element asked for (RSL XML)",
    "license_type": "application/rsl+xml (the default)",
    "resource": "The url of the licence's <content>: an http(s) URL, or a path from /",
    "grant_id": "consentry's own: the grant to issue the token on (default: the server picks)",
}
_ASSET_FIELDS = {
    "token": "The licence token",
    "resource": "The absolute URL of the asset being accessed",
}


@dataclass(frozen=True, slots=True)
class _Refusal:
    """An OLP error as it is sent: its code, sentence and status."""

    code: str
    description: str
    status: int


# Most specific first: the first class an error is decides its code and status.
_REFUSALS: tuple[tuple[type[ConsentryError], str, int], ...] = (
    (ClientAuthenticationError, OlpCode.INVALID_CLIENT.value, 401),
    (RequestSignatureError, OlpCode.INVALID_CLIENT.value, 401),
    (PermissionDeniedError, OlpCode.UNAUTHORIZED_CLIENT.value, 403),
    # OAuth has no code for it; RFC 6749 §4.1.2.1's is the nearest.
    (RateLimitedError, "temporarily_unavailable", 429),
    (InputError, OlpCode.INVALID_REQUEST.value, 400),
)


def _refusal_of(error: ConsentryError) -> _Refusal:
    if isinstance(error, TokenRefusedError):
        status = 403 if error.code is OlpCode.UNAUTHORIZED_CLIENT else 400
        return _Refusal(error.code.value, str(error), status)
    for kind, code, status in _REFUSALS:
        if isinstance(error, kind):
            return _Refusal(code, str(error), status)
    if isinstance(error, StorageError):
        _log.error("the licence server's database failed: %s", error)
        return _Refusal(OlpCode.SERVER_ERROR.value, "the registry's database failed; retry", 503)
    _log.error("the licence server failed: %s", error)
    return _Refusal(OlpCode.SERVER_ERROR.value, "the licence server failed; see its log", 500)


def _answer(refusal: _Refusal, retry_after: int | None = None) -> JSONResponse:
    headers = dict(_NO_STORE)
    if refusal.status == 401:
        # RFC 6749 §5.2: an invalid_client answer names the scheme to authenticate with.
        headers["WWW-Authenticate"] = _REALM
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    body = {"error": refusal.code, "error_description": refusal.description}
    return JSONResponse(body, status_code=refusal.status, headers=headers)


def _invalid(message: str) -> TokenRefusedError:
    return TokenRefusedError(message, code=OlpCode.INVALID_REQUEST)


def _fields(body: bytes, content_type: str | None) -> dict[str, str]:
    """The parameters of a form-encoded or JSON body (§5.2), each given once (RFC 6749
    §3.2)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
        if kind == "application/json":
            data = json.loads(text) if text.strip() else {}
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                raise ValueError("not an object of strings")
            return dict(data)
        if kind in ("application/x-www-form-urlencoded", ""):
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=50)
            names = [name for name, _ in pairs]
            if len(names) != len(set(names)):
                raise _invalid("each parameter may be sent once (RFC 6749 §3.2)")
            return dict(pairs)
    except (UnicodeDecodeError, ValueError):
        raise _invalid(
            "the body is not UTF-8 application/x-www-form-urlencoded (or a JSON object of "
            "strings); send the parameters as RSL 1.0 §5.2 asks"
        ) from None
    raise _invalid(f"the body is {kind[:60]}; send application/x-www-form-urlencoded or JSON")


def _basic(authorization: str) -> tuple[str, str]:
    """RFC 6749 §2.3.1: base64 of the form-encoded client id and secret, joined by ``:``."""
    try:
        decoded = base64.b64decode(authorization.split(" ", 1)[1].strip(), validate=True)
        client_id, sep, secret = decoded.decode("utf-8").partition(":")
    except (IndexError, binascii.Error, UnicodeDecodeError):
        sep, client_id, secret = "", "", ""
    if not sep or not client_id:
        raise ClientAuthenticationError(
            "the Basic credentials are not base64 of client_id:client_secret (RFC 6749 §2.3.1)"
        )
    return unquote_plus(client_id), unquote_plus(secret)


async def _client(request: Request, service: Served) -> Actor:
    """The party a request comes from (§5.3): its RFC 9421 signature, or HTTP Basic
    with its client credentials; one of them and not both (RFC 6749 §2.3)."""
    headers = request.headers
    signed = "signature" in headers or "signature-input" in headers
    authorization = headers.get("authorization", "")
    if signed and authorization:
        raise _invalid("authenticate with a signature or with Basic, not both (RFC 6749 §2.3)")
    if signed:
        return (await read_caller(request, service)).require()
    if authorization.split(" ", 1)[0].lower() == "basic":
        service.per_address.take(request.client.host if request.client else "unknown")
        client_id, secret = _basic(authorization)
        actor = await run_in_threadpool(client_of_credentials, service.public(), client_id, secret)
        service.per_key.take(actor.party_id)
        return actor
    raise ClientAuthenticationError(
        "authenticate the request with HTTP Basic and your client credentials (RSL 1.0 §5.3; "
        "POST /v1/olp/credentials signed with your key gives them), or sign it with your "
        "key (RFC 9421)"
    )


_Exchange = Callable[["Actor", dict[str, str]], Awaitable[dict[str, Any]]]


def _options(request: Request) -> OlpOptions:
    options = getattr(request.app.state, "olp", None)
    return options if isinstance(options, OlpOptions) else OlpOptions()


async def _olp(request: Request, service: Served, answer: _Exchange) -> JSONResponse:
    """Run one OLP exchange: ``answer(client, fields)`` makes the JSON body; every
    refusal becomes an OLP error."""
    try:
        client = await _client(request, service)
        fields = _fields(await request.body(), request.headers.get("content-type"))
        body: dict[str, Any] = await answer(client, fields)
    except ConsentryError as error:
        retry = error.retry_after if isinstance(error, RateLimitedError) else None
        return _answer(_refusal_of(error), retry)
    return JSONResponse(body, headers=_NO_STORE)


@router.get(
    "/rsl/{owner_id}/license.xml",
    summary="The owner's terms as an RSL 1.0 licence naming this licence server",
    response_class=Response,
    responses={200: {"content": {RSL_MEDIA_TYPE: {}}, "description": "The RSL document"}},
)
def licence_document(request: Request, service: Served, owner_id: str) -> Response:
    server = str(request.base_url).rstrip("/")
    document = owner_licence_document(service.public(), owner_id, server=server)
    # Terms change when the owner signs new ones; a crawler rereads within minutes.
    headers = {"Cache-Control": "public, max-age=300"}
    return Response(document.text, media_type=RSL_MEDIA_TYPE, headers=headers)


@router.post(
    "/rsl/{owner_id}/token",
    summary="Acquire a licence token on your grant from this owner (RSL 1.0 §5.4)",
    response_model=None,
    responses={200: {"model": TokenModel, "description": "The licence token"}},
    openapi_extra=_body(_TOKEN_FIELDS, ["grant_type", "license", "resource"]),
)
async def token(request: Request, service: Served, owner_id: str) -> JSONResponse:
    async def issue(client: Actor, fields: dict[str, str]) -> dict[str, Any]:
        grant_type = fields.get("grant_type")
        if not grant_type:
            raise _invalid("grant_type is missing; send grant_type=client_credentials")
        if grant_type != "client_credentials":
            raise TokenRefusedError(
                f"grant_type {grant_type[:60]!r} is not supported; RSL 1.0 asks for "
                "client_credentials",
                code=OlpCode.UNSUPPORTED_GRANT_TYPE,
            )
        issued = await run_in_threadpool(
            lambda: issue_licence_token(
                service.reading_as(client),
                licensee_id=client.party_id,
                owner_id=owner_id,
                resource=fields.get("resource"),
                licence=fields.get("license"),
                licence_type=fields.get("license_type"),
                grant_id=fields.get("grant_id"),
                lifetime=_options(request).token_lifetime,
            )
        )
        return {
            "access_token": issued.token,
            "token_type": "License",
            "expires_in": issued.expires_in,
            "scope": " ".join(sorted(issued.uses)),
            "grant_id": issued.grant_id,
        }

    return await _olp(request, service, issue)


def _introspection(status: ActiveToken | None) -> dict[str, Any]:
    if status is None:
        return {"active": False}
    shown: dict[str, Any] = {
        "active": True,
        "token_type": "License",
        "license": status.licence,
        "resource": status.content,
        "permitted": status.permitted,
        "scope": " ".join(sorted(status.uses)),
        "client_id": status.licensee_id,
        "sub": status.licensee_id,
        "iat": int(status.issued_at.timestamp()),
        "exp": int(status.expires_at.timestamp()),
        "grant_id": status.grant_id,
        "owner_id": status.owner_id,
        "licensee_id": status.licensee_id,
    }
    if status.reason is not None:
        shown["reason"] = status.reason
    return shown


def _asset(fields: Mapping[str, str]) -> tuple[str, str]:
    token, resource = fields.get("token"), fields.get("resource")
    if not token:
        raise _invalid("token is missing; send the licence token")
    if not resource:
        raise _invalid("resource is missing; send the asset's absolute URL")
    return token, resource


@router.post(
    "/rsl/{owner_id}/introspect",
    summary="Whether a licence token is active and permits an asset (RSL 1.0 §5.5; owner)",
    response_model=None,
    responses={200: {"model": IntrospectionModel, "description": "What the token licenses"}},
    openapi_extra=_body(_ASSET_FIELDS, ["token", "resource"]),
)
async def introspect(request: Request, service: Served, owner_id: str) -> JSONResponse:
    async def look(client: Actor, fields: dict[str, str]) -> dict[str, Any]:
        if client.party_id != owner_id:
            raise TokenRefusedError(
                f"{client.party_id} introspects the tokens on its own grants, at "
                f"/rsl/{client.party_id}/introspect",
                code=OlpCode.UNAUTHORIZED_CLIENT,
            )
        token, resource = _asset(fields)
        if len(token) > 512:
            return {"active": False}
        status = await run_in_threadpool(
            introspect_licence_token,
            service.reading_as(client),
            owner_id=owner_id,
            token=token,
            resource=resource,
        )
        return _introspection(status)

    return await _olp(request, service, look)


@router.post(
    "/rsl/{owner_id}/key",
    summary="An encrypted asset's key (RSL 1.0 §7): none, as the registry holds no content",
    response_model=None,
    openapi_extra=_body(_ASSET_FIELDS, ["token", "resource"]),
)
async def key(request: Request, service: Served, owner_id: str) -> JSONResponse:
    async def refuse(client: Actor, fields: dict[str, str]) -> dict[str, Any]:
        _, resource = _asset(fields)
        raise _invalid(
            f"{resource[:200]} is no encrypted asset this licence server holds a key for: the "
            "registry keeps fingerprints, never content, so it provisions no EMS keys"
        )

    return await _olp(request, service, refuse)


@router.post(
    "/v1/olp/credentials",
    status_code=201,
    response_model=CredentialsModel,
    summary="New client credentials for the RSL licence server, in place of yours",
)
def credentials(service: Served, caller: Signed) -> JSONResponse:
    actor = caller.require()
    made = issue_client_credentials(service.reading_as(actor), actor.party_id)
    body = {
        "client_id": made.client_id,
        "client_secret": made.client_secret,
        "created_at": format_time(made.created_at),
    }
    return JSONResponse(body, status_code=201, headers=_NO_STORE)


def describe(api: FastAPI) -> None:
    """Make ``api.openapi()`` say that the licence server's errors are OAuth errors
    (``application/json``), not RFC 9457 problems; call after ``openapi.describe``."""
    made = api.openapi
    described = False

    def document() -> dict[str, Any]:
        nonlocal described
        schema = made()
        if not described:
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["OlpErrorModel"] = OlpErrorModel.model_json_schema()
            error = {"$ref": "#/components/schemas/OlpErrorModel"}
            for path, operations in schema.get("paths", {}).items():
                if not path.startswith("/rsl/"):
                    continue
                for operation in operations.values():
                    for status in _ERROR_STATUSES:
                        operation.setdefault("responses", {})[str(status)] = {
                            "description": "An OAuth error (RFC 6749 §5.2; RSL 1.0 §5.4.4)",
                            "content": {"application/json": {"schema": error}},
                        }
            described = True
        return schema

    api.openapi = document  # type: ignore[method-assign]
