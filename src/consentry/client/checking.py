"""A served registry's sketches and publication check, over HTTP: the
``SketchService`` the application layer's ``remote_*`` use cases call. Sketches and
updates come back as they were sent; the application layer verifies them."""

from __future__ import annotations

import base64
import posixpath
from typing import Any

from consentry.app.remote_checking import ServedUpdate, SketchState
from consentry.check import CheckReport
from consentry.client.http import RegistryClient
from consentry.crypto import Signer
from consentry.errors import ConsentryError, InputError, NotFoundError

__all__ = ["RemoteSketches"]


class RemoteSketches:
    """``/v1/sketch`` and ``/v1/check`` of ``client``'s registry."""

    def __init__(self, client: RegistryClient) -> None:
        self._client = client

    def log_key(self) -> str:
        answer = self._client.get("/v1/log/key")
        try:
            return str(answer["vkey"])
        except (KeyError, TypeError) as exc:
            raise self._malformed("log key") from exc

    def latest_size(self) -> int:
        try:
            answer = self._client.get("/v1/log/checkpoint")
        except NotFoundError:
            return 0  # no checkpoint signed yet
        try:
            return int(answer["size"])
        except (KeyError, TypeError, ValueError) as exc:
            raise self._malformed("checkpoint") from exc

    def sketch(self) -> bytes:
        data = self._client.get("/v1/sketch")
        if not isinstance(data, bytes):
            raise self._malformed("sketch")
        return data

    def update(self, since: SketchState) -> ServedUpdate:
        answer = self._client.get("/v1/sketch/updates", params={"since": since.token})
        try:
            return ServedUpdate(
                base64.b64decode(str(answer["update"]), validate=True),
                int(answer["new_works"]),
                int(answer["changed_notices"]),
                int(answer["checkpoint_size"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise self._malformed("sketch update") from exc

    def check(
        self, name: str, data: bytes, *, min_span: int, licensee: tuple[str, Signer] | None
    ) -> CheckReport:
        """The registry's report on one output, under ``name`` as given here: only its
        base name (which says its language) is sent, never the path."""
        body: dict[str, Any] = {
            "name": posixpath.basename(name) or "output",
            "content_base64": base64.b64encode(data).decode("ascii"),
            "min_span": min_span,
        }
        signer = None
        if licensee is not None:
            body["licensee"], signer = licensee
        answer = self._client.post("/v1/check", body, signer=signer)
        try:
            report = CheckReport.from_json(answer)
        except (KeyError, TypeError, ValueError, ConsentryError) as exc:
            raise self._malformed("check report") from exc
        return CheckReport(name, report.findings)

    def _malformed(self, what: str) -> InputError:
        return InputError(
            f"the registry at {self._client.base_url} answered a malformed {what}; is "
            "CONSENTRY_REGISTRY a consentry registry of this version?"
        )
