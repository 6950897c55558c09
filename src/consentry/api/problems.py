"""Every error the service answers with is an RFC 9457 problem: a type (a URI relative
to the service, under ``/problems/``), a title, the HTTP status, and the one-sentence
detail that says what to do. The type says which refusal it is, so a client can act on
it without reading the sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consentry import errors

__all__ = ["PROBLEM_TYPES", "Problem", "problem_for"]

MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class ProblemType:
    name: str
    status: int
    title: str

    @property
    def uri(self) -> str:
        return f"/problems/{self.name}"


# Most specific first: the first whose error class matches an error is its problem.
_BY_ERROR: tuple[tuple[type[errors.ConsentryError], ProblemType], ...] = (
    (errors.UnknownKeyError, ProblemType("unknown-key", 401, "The signing key is not registered")),
    (
        errors.ContentDigestError,
        ProblemType("bad-digest", 400, "The content digest is missing or wrong"),
    ),
    (
        errors.StaleRequestError,
        ProblemType("stale-signature", 401, "The signature is too old or too new"),
    ),
    (
        errors.ReplayedRequestError,
        ProblemType("replayed-request", 401, "The request was sent before"),
    ),
    (
        errors.BadSignatureError,
        ProblemType("bad-signature", 401, "The request signature is refused"),
    ),
    (errors.TermsError, ProblemType("invalid-terms", 422, "The terms document is not valid")),
    (errors.InputError, ProblemType("invalid-input", 400, "The request cannot be used as sent")),
    (
        errors.VerificationError,
        ProblemType("not-verified", 422, "A signature or proof does not hold"),
    ),
    (errors.NotFoundError, ProblemType("not-found", 404, "No such object")),
    (errors.PermissionDeniedError, ProblemType("forbidden", 403, "Not yours to do")),
    (errors.RateLimitedError, ProblemType("rate-limited", 429, "Too many requests")),
    (errors.StaleSigningError, ProblemType("signing-stale", 409, "Sign the change anew")),
    (errors.StateConflictError, ProblemType("conflict", 409, "It does not fit the object's state")),
    (errors.RegistryError, ProblemType("refused", 422, "The registry's rules refuse it")),
    (errors.StorageError, ProblemType("unavailable", 503, "The registry's database failed")),
    (errors.ConsentryError, ProblemType("server-error", 500, "The registry failed")),
)

SIGNATURE_REQUIRED = ProblemType("signature-required", 401, "The request must be signed")
TOO_LARGE = ProblemType("too-large", 413, "The request body is too large")
NO_ROUTE = ProblemType("not-found", 404, "No such object")
BAD_METHOD = ProblemType("method-not-allowed", 405, "The method is not allowed here")
INVALID_REQUEST = ProblemType("invalid-input", 400, "The request cannot be used as sent")
INTERNAL = ProblemType("server-error", 500, "The registry failed")

PROBLEM_TYPES: dict[str, ProblemType] = {
    p.name: p
    for p in (
        *(problem for _, problem in _BY_ERROR),
        SIGNATURE_REQUIRED,
        TOO_LARGE,
        BAD_METHOD,
    )
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem document, ready to send."""

    kind: ProblemType
    detail: str
    instance: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def status(self) -> int:
        return self.kind.status

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.kind.uri,
            "title": self.kind.title,
            "status": self.kind.status,
            "detail": self.detail,
        }
        if self.instance is not None:
            body["instance"] = self.instance
        return body


def problem_for(error: errors.ConsentryError, *, instance: str | None = None) -> Problem:
    """The problem an error is, with its message as the detail."""
    kind = next(problem for cls, problem in _BY_ERROR if isinstance(error, cls))
    headers: tuple[tuple[str, str], ...] = ()
    if isinstance(error, errors.RateLimitedError):
        headers = (("Retry-After", str(error.retry_after)),)
    detail = str(error)
    if isinstance(error, errors.StorageError) or kind.status >= 500:
        # What the database said (its statement, its parameters) is the operator's to
        # read in the service's log, not the caller's.
        detail = "the registry's database failed on this request; its operator's log says why"
    return Problem(kind, detail, instance, headers)
