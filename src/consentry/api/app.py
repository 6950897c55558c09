"""The FastAPI application: routes, RFC 9457 problems for every error, a bound on
request bodies, ``/healthz``. One per worker, over the registry its ``Service`` opened."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consentry.api import problems
from consentry.api.openapi import describe
from consentry.api.publishing import Checkpointer
from consentry.api.routes import ROUTERS, olp
from consentry.api.service import Service, ServiceOptions
from consentry.errors import ConsentryError
from consentry.settings import Settings

__all__ = ["create_app"]

_log = logging.getLogger("consentry.api")


def _answer(request: Request, problem: problems.Problem) -> Response:
    render: Callable[[Request, problems.Problem], Response | None] | None = getattr(
        request.app.state, "problem_page", None
    )
    page = None if render is None else render(request, problem)
    return page if page is not None else _problem_response(problem)


def _problem_response(problem: problems.Problem) -> JSONResponse:
    return JSONResponse(
        problem.to_json(),
        status_code=problem.status,
        media_type=problems.MEDIA_TYPE,
        headers=dict(problem.headers),
    )


class _BodyLimit:
    """Refuses a body larger than ``limit`` bytes with 413, by its Content-Length or
    as it streams in, before any route reads it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLargeError
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLargeError:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = problems.Problem(
            problems.TOO_LARGE,
            f"the request body is over {self.limit:,} bytes; send it in smaller parts "
            "(the CLI sends works in batches)",
        )
        await _problem_response(problem)(scope, receive, send)


class _TooLargeError(Exception):
    pass


def create_app(
    settings: Settings,
    options: ServiceOptions | None = None,
    *,
    service: Service | None = None,
    pages: Callable[[FastAPI], None] | None = None,
    licence_server: olp.OlpOptions | None = None,
) -> FastAPI:
    """The service over the registry ``settings`` name (opened when it starts).
    ``pages(api)`` adds the registry's pages; where it sets ``api.state.problem_page``,
    a problem met by a page (not under ``/v1/``) is answered by what that renders.
    ``licence_server``: how the RSL licence server under ``/rsl/`` issues tokens
    (default: as ``consentry serve`` set in the environment)."""
    chosen = options or ServiceOptions()

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        opened = service or Service.open(settings, chosen)
        api.state.service = opened
        checkpointer = Checkpointer(opened)
        checkpointer.start()
        try:
            yield
        finally:
            checkpointer.stop()
            if service is None:
                opened.close()

    api = FastAPI(
        title="consentry registry",
        version="1",
        summary="Consent, licences and provenance for AI training data.",
        description=(
            "Every request that reads or changes a party's objects is signed by the "
            "party (RFC 9421, Ed25519, with an RFC 9530 Content-Digest). A change is "
            "made in rounds: the registry answers 202 with the messages to sign, and "
            "commits (201) once they are signed. Errors are RFC 9457 problems."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    describe(api)
    olp.describe(api)
    api.state.olp = licence_server or olp.OlpOptions.from_env()

    @api.exception_handler(ConsentryError)
    async def consentry_error(request: Request, error: Exception) -> Response:
        if not isinstance(error, ConsentryError):  # registered for that class only
            raise error
        problem = problems.problem_for(error, instance=request.url.path)
        if problem.status >= 500:
            _log.error("%s %s failed: %s", request.method, request.url.path, error)
        return _answer(request, problem)

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: Exception) -> Response:
        if not isinstance(error, RequestValidationError):  # registered for that class only
            raise error
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        detail = f"{where}: {first.get('msg', 'invalid')}; send it as /openapi.json describes"
        return _answer(
            request, problems.Problem(problems.INVALID_REQUEST, detail, request.url.path)
        )

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: Exception) -> Response:
        if not isinstance(error, StarletteHTTPException):  # registered for that class only
            raise error
        kind = {404: problems.NO_ROUTE, 405: problems.BAD_METHOD}.get(
            error.status_code, problems.INVALID_REQUEST
        )
        return _answer(request, problems.Problem(kind, str(error.detail), request.url.path))

    @api.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        _log.exception("unexpected error in %s %s", request.method, request.url.path)
        return _answer(
            request,
            problems.Problem(
                problems.INTERNAL,
                "the registry failed on this request; its operator's log says why",
                request.url.path,
            ),
        )

    @api.get("/healthz", tags=["service"], summary="Whether the service and its database answer")
    def healthz(request: Request) -> dict[str, Any]:
        served: Service = request.app.state.service
        return {"status": "ok", "log_size": served.registry.log.size()}

    @api.get(
        "/problems/{name}",
        tags=["service"],
        summary="What a problem type means",
        response_class=PlainTextResponse,
    )
    def problem_page(name: str) -> Response:
        kind = problems.PROBLEM_TYPES.get(name)
        if kind is None:
            return _problem_response(
                problems.Problem(problems.NO_ROUTE, f"no problem type {name!r}", None)
            )
        return PlainTextResponse(f"{kind.name} ({kind.status}): {kind.title}.\n")

    for router in ROUTERS:
        api.include_router(router)
    # The RSL licence server (RSL 1.0 §5): OAuth's wire format, not the /v1/ API's.
    api.include_router(olp.router)
    if pages is not None:
        pages(api)
    api.add_middleware(_BodyLimit, limit=chosen.max_body)
    return api
