"""Signed HTTP to a served registry: every request signed with the acting party's key
(RFC 9421), every problem answered turned back into the error it was, and a change
carried through its signing rounds, each message checked before it is signed."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from consentry import errors
from consentry.crypto import Signer, canonical_json
from consentry.crypto.httpsig import sign_request
from consentry.registry import EventKind

__all__ = ["RegistryClient", "cursor_for"]

_ROUNDS = 6

_ERRORS: dict[str, type[errors.ConsentryError]] = {
    "unknown-key": errors.UnknownKeyError,
    "bad-digest": errors.ContentDigestError,
    "stale-signature": errors.StaleRequestError,
    "replayed-request": errors.ReplayedRequestError,
    "bad-signature": errors.BadSignatureError,
    "signature-required": errors.BadSignatureError,
    "invalid-terms": errors.TermsError,
    "invalid-input": errors.InputError,
    "too-large": errors.InputError,
    "not-verified": errors.VerificationError,
    "not-found": errors.NotFoundError,
    "forbidden": errors.PermissionDeniedError,
    "conflict": errors.StateConflictError,
    "signing-stale": errors.StaleSigningError,
    "refused": errors.RegistryError,
    "unavailable": errors.StorageError,
}


class RegistryClient:
    """One registry at ``base_url``, spoken to over one connection pool."""

    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def wait_until_answering(self, seconds: float) -> None:
        """Return once the registry answers ``/healthz``; ``ConfigurationError`` when it
        has not within ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.get("/healthz")
                return
            except errors.ConfigurationError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    # -- plain requests ---------------------------------------------------------------

    def get(
        self, path: str, *, params: Mapping[str, Any] | None = None, signer: Signer | None = None
    ) -> Any:
        return self._send("GET", path, params=params, signer=signer)

    def pages(
        self, path: str, *, params: Mapping[str, Any] | None = None, signer: Signer | None = None
    ) -> Iterable[dict[str, Any]]:
        """Every item of a paged list, page after page."""
        query = dict(params or {})
        query.setdefault("limit", 1000)
        while True:
            page = self.get(path, params=query, signer=signer)
            yield from page["items"]
            if page.get("next") is None:
                return
            query["cursor"] = page["next"]

    def download(
        self, path: str, *, params: Mapping[str, Any] | None = None, signer: Signer | None
    ) -> tuple[bytes, dict[str, str]]:
        """A binary answer and its headers (lowercase names)."""
        request = self._request("GET", path, params=params, content=b"", signer=signer)
        response = self._deliver(request)
        return response.content, {k.lower(): v for k, v in response.headers.items()}

    def post(self, path: str, body: Mapping[str, Any], *, signer: Signer | None) -> Any:
        return self._send("POST", path, body=body, signer=signer)

    def change(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any],
        *,
        signer: Signer,
        party_id: str,
        events: frozenset[EventKind],
        documents: Mapping[str, Callable[[dict[str, Any]], bool]] | None = None,
        subjects: frozenset[str] | None = None,
        embeds: Mapping[str, dict[str, Any]] | None = None,
    ) -> Any:
        """Make a change in its signing rounds: each round, sign the messages asked for
        that this party would sign, until the registry commits (201) and answers with
        what it made. ``events``: the kinds of event it expects to make; ``documents``:
        the kinds of document it expects to sign, each with what its body must say (a
        document of another kind, or one that says otherwise, is never signed);
        ``subjects``: what its events may be about, where that is known beforehand;
        ``embeds``: the documents this party signed beforehand that the change's events
        carry, by their signatures (base64): a run's manifest, signed when it finished."""
        signatures: dict[str, str] = {}
        # The body of each document this party signed for the change, by its signature.
        bodies: dict[str, bytes] = {sig: canonical_json(doc) for sig, doc in (embeds or {}).items()}
        token: str | None = None
        for _ in range(_ROUNDS):
            sent = dict(body)
            if token is not None:
                sent["signing"] = {"token": token, "signatures": signatures}
            try:
                status, answer = self._exchange(method, path, body=sent, signer=signer)
            except errors.StaleSigningError:
                if token is None:
                    raise
                # The registry moved on while this was signed: the change starts again.
                signatures, token = {}, None
                continue
            if status != 202:
                return answer
            token = str(answer["token"])
            messages = [_b64decode(m) for m in answer["messages"]]
            expected = _Expected(party_id, events, documents or {}, subjects)
            signable = _signable(messages, bodies, expected)
            if not signable:
                raise errors.VerificationError(
                    f"the registry at {self.base_url} asked {party_id} to sign messages that "
                    "are not the change asked for; nothing was signed"
                )
            for message in signable:
                signature = _b64encode(signer.sign(message))
                signatures[_digest(message)] = signature
                kind, _, signed_body = message.partition(b"\n")
                if kind not in (b"consentry/event/v1", b"consentry/log-leaf/v1"):
                    bodies[signature] = signed_body
        raise errors.StateConflictError(
            f"the registry at {self.base_url} kept asking for new signatures ({_ROUNDS} "
            "rounds); it may be changing quickly: run the command again"
        )

    # -- the wire ---------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        signer: Signer | None,
    ) -> Any:
        return self._exchange(method, path, params=params, body=body, signer=signer)[1]

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        signer: Signer | None,
    ) -> tuple[int, Any]:
        content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        response = self._deliver(
            self._request(method, path, params=params, content=content, signer=signer)
        )
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.status_code, response.json()
        return response.status_code, response.content

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        content: bytes,
        signer: Signer | None,
    ) -> httpx.Request:
        headers = {"accept": "application/json"}
        if content:
            headers["content-type"] = "application/json"
        request = self._http.build_request(
            method, path, params=params, content=content, headers=headers
        )
        if signer is not None:
            request.headers.update(
                sign_request(
                    method=method,
                    url=str(request.url),
                    headers=dict(request.headers),
                    body=content,
                    signer=signer,
                    created=int(time.time()),
                    nonce=secrets.token_urlsafe(16),
                )
            )
        return request

    def _deliver(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self._http.send(request)
        except httpx.HTTPError as exc:
            raise errors.ConfigurationError(
                f"cannot reach the registry at {self.base_url} ({exc}); check that it is "
                "served there (consentry serve) and that CONSENTRY_REGISTRY names it"
            ) from exc
        if response.status_code >= 400:
            raise _error_of(response, self.base_url)
        return response


def cursor_for(key: str) -> str:
    """The cursor of a list's page that starts after the item ``key`` names."""
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii").rstrip("=")


def _error_of(response: httpx.Response, base_url: str) -> errors.ConsentryError:
    try:
        problem = response.json()
        name = str(problem.get("type", "")).rsplit("/", 1)[-1]
        detail = str(problem.get("detail") or problem.get("title"))
    except (ValueError, AttributeError):
        return errors.ConsentryError(
            f"the registry at {base_url} answered {response.status_code} without a problem "
            "document; is CONSENTRY_REGISTRY a consentry registry?"
        )
    if name == "rate-limited":
        retry = int(response.headers.get("retry-after", "1") or 1)
        return errors.RateLimitedError(detail, retry_after=retry)
    return _ERRORS.get(name, errors.ConsentryError)(detail)


@dataclass(frozen=True, slots=True)
class _Expected:
    party_id: str
    events: frozenset[EventKind]
    documents: Mapping[str, Callable[[dict[str, Any]], bool]]
    subjects: frozenset[str] | None = None

    def document(self, kind: str, body: bytes) -> bool:
        check = self.documents.get(kind)
        if check is None:
            return False
        try:
            parsed = json.loads(body)
        except ValueError:
            return False
        return isinstance(parsed, dict) and check(parsed)


def _signable(messages: list[bytes], made: Mapping[str, bytes], expected: _Expected) -> list[bytes]:
    """The messages of a round this party signs: documents of the kinds expected that
    say what the change asked; events it makes, of the kinds expected, whose embedded
    document signature is its own; and log leaves of those events, once nothing else in
    the round is waiting (a leaf commits to its event's body, which is final only once
    its document signature is real). Nothing at all if any message is none of these.
    ``made``: the documents this party has signed for the change so far (their bodies,
    by their signatures)."""
    events = expected.events
    documents, waiting, leaves = [], [], []
    for message in messages:
        kind, _, body = message.partition(b"\n")
        name = kind.decode("ascii", "replace")
        if name == "consentry/log-leaf/v1":
            leaves.append((message, body))
        elif name == "consentry/event/v1":
            verdict = _event_verdict(body, made, expected)
            if verdict is None:
                documents.append(message)
            elif verdict == "wait":
                waiting.append(message)
            else:
                return []
        elif (
            name.startswith("consentry/")
            and name.endswith("/v1")
            and expected.document(name[len("consentry/") : -len("/v1")], body)
        ):
            documents.append(message)
        else:
            return []
    if waiting:
        return documents
    for message, body in leaves:
        try:
            leaf = json.loads(body)
        except ValueError:
            return []
        if leaf.get("event") not in events:
            return []
        documents.append(message)
    return documents


def _event_verdict(body: bytes, made: Mapping[str, bytes], expected: _Expected) -> str | None:
    """``None``: sign it; ``"wait"``: it embeds a document signature this party has not
    made yet; ``"refuse"``: it is not an event this change makes: another actor, kind
    or subject, or a document other than the one this party signed."""
    try:
        event = json.loads(body)
    except ValueError:
        return "refuse"
    subjects = expected.subjects
    if (
        event.get("actor") != expected.party_id
        or event.get("event") not in expected.events
        or (subjects is not None and event.get("subject") not in subjects)
    ):
        return "refuse"
    payload = event.get("payload")
    embedded = payload.get("signature") if isinstance(payload, dict) else None
    if embedded is None:
        return None
    if embedded not in made:
        return "wait"
    carried = [v for k, v in payload.items() if k != "signature" and isinstance(v, dict)]
    if len(carried) != 1 or canonical_json(carried[0]) != made[embedded]:
        return "refuse"
    return None


def _digest(message: bytes) -> str:
    return hashlib.sha256(message).hexdigest()


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
