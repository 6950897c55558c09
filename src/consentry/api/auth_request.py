"""The crawler gate as a proxy's authorisation endpoint: nginx ``auth_request`` (and
any proxy that asks a URL whether to serve a request) sends the original request's
headers and its URI in ``X-Original-URI``, and this answers as ``CrawlerGate`` would:
204 to serve it (with the licence's ``Link`` for a licensed crawler), else the RSL CAP
refusal (RSL 1.0 §6.3: 401, 402, 403 or 503, with ``WWW-Authenticate: License`` and the
``Link`` to the licence), its status also in ``X-RSL-Status``.

nginx passes on only a 2xx, 401 or 403 from ``auth_request`` (anything else is an error
to it, a 500), so with ``refusals_as_401`` every refusal is a 401 whose ``X-RSL-Status``
the proxy restores (``docs/rsl.md`` has the snippet). Run it with
``uvicorn --factory consentry.api.auth_request:from_env``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from consentry.api.crawler_gate import CrawlerAuthorizer, GateConfig, refuse, respond

__all__ = ["AuthRequest", "from_env"]


class AuthRequest:
    """ASGI application answering, for each request, whether the request it describes
    (``X-Original-URI`` and its own headers) may be served."""

    def __init__(self, config: GateConfig, *, refusals_as_401: bool = False) -> None:
        self.config = config
        self.refusals_as_401 = refusals_as_401
        self.authorizer = CrawlerAuthorizer(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = Headers(scope=scope)
        uri = headers.get("x-original-uri")
        if not uri:
            # A proxy misconfigured: an error to it, never a pass.
            text = b"X-Original-URI is missing: set it to the original $request_uri\n"
            await respond(send, 500, [("Content-Type", "text/plain; charset=utf-8")], text)
            return
        verdict = await self.authorizer.decide(
            uri, headers.get("user-agent"), headers.get("authorization")
        )
        if verdict.allowed:
            await respond(send, 204, verdict.headers(self.config))
            return
        await refuse(
            send,
            verdict,
            self.config,
            status=401 if self.refusals_as_401 else None,
            extra=[("X-RSL-Status", str(verdict.status))],
        )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.authorizer.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def from_env(env: Mapping[str, str] = os.environ) -> AuthRequest:
    """From ``GateConfig.from_env``'s variables; ``CONSENTRY_RSL_PROXY=nginx`` answers
    every refusal as a 401 with ``X-RSL-Status``."""
    return AuthRequest(
        GateConfig.from_env(env), refusals_as_401=env.get("CONSENTRY_RSL_PROXY") == "nginx"
    )
