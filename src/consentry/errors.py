"""The one exception hierarchy of consentry.

Every error a caller can see is a ``ConsentryError`` whose message is one sentence a
user can act on: it names the input and says what to do. Library exceptions are
translated at the boundary (``raise X(...) from exc``) and never escape the public API.

    ConsentryError
    ├── ConfigurationError      the registry is missing or misconfigured
    │   └── EngineUnavailableError   a gate engine asked for is not installed or
    │                                reachable (consentry.gate.engines)
    ├── InputError              a file, argument or document the user gave is unusable
    │   └── TermsError          a terms document fails its schema
    ├── KeyStoreError           a private key is missing, unreadable or exposed
    ├── VerificationError       a signature, grant or proof does not hold
    │   └── RequestSignatureError    an HTTP request's RFC 9421 signature is refused
    │       ├── UnknownKeyError          its keyid names no registered party
    │       ├── BadSignatureError        missing, malformed, or not over what was sent
    │       ├── ContentDigestError       its RFC 9530 Content-Digest is missing or wrong
    │       ├── StaleRequestError        its ``created`` is outside the allowed window
    │       └── ReplayedRequestError     its nonce was seen before
    ├── RegistryError           a request the registry's rules refuse
    │   ├── NotFoundError       no such owner, licensee, work, request or grant
    │   ├── PermissionDeniedError    someone acting for another (guarantee 7)
    │   ├── StateConflictError       an action that does not fit the object's state
    │   │   └── StaleSigningError    the registry moved on while a change was signed
    │   └── RateLimitedError         too many requests from one key or address
    ├── WitnessError            a witness is unreachable or refused a checkpoint
    ├── StorageError            the database failed underneath us
    ├── ShardFailedError        deciding one shard of a run failed; names it
    │                           (consentry.gate.engines)
    ├── IndexShardLostError     a lookup found the worker holding its shard of the
    │                           index gone (consentry.gate.engines)
    └── WorkInterruptedError    the user stopped long work; what was saved, how to finish
"""

from __future__ import annotations

__all__ = [
    "BadSignatureError",
    "ConfigurationError",
    "ConsentryError",
    "ContentDigestError",
    "InputError",
    "KeyStoreError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RegistryError",
    "ReplayedRequestError",
    "RequestSignatureError",
    "StaleRequestError",
    "StaleSigningError",
    "StateConflictError",
    "StorageError",
    "TermsError",
    "UnknownKeyError",
    "VerificationError",
    "WitnessError",
    "WorkInterruptedError",
]


class ConsentryError(Exception):
    """Root of every error consentry raises on purpose."""


class ConfigurationError(ConsentryError):
    """The registry is missing, or its settings cannot be used."""


class InputError(ConsentryError):
    """Something the user supplied cannot be used as given. ``field``: which of the
    inputs it was, where the caller named them (a page shows the sentence beside it)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TermsError(InputError):
    """A terms document does not match the terms schema."""


class KeyStoreError(ConsentryError):
    """A private key cannot be created, found or read safely."""


class VerificationError(ConsentryError):
    """A signature, grant or proof does not verify; the message says what was expected."""


class RequestSignatureError(VerificationError):
    """An HTTP request's signature (RFC 9421) is refused; the subclass says why."""


class UnknownKeyError(RequestSignatureError):
    """The signature's ``keyid`` is not the key of any registered party."""


class BadSignatureError(RequestSignatureError):
    """The signature is missing or malformed, covers too little, or does not verify."""


class ContentDigestError(RequestSignatureError):
    """The RFC 9530 ``Content-Digest`` is missing, malformed, or not of the body sent."""


class StaleRequestError(RequestSignatureError):
    """The signature's ``created`` time is outside the window the registry accepts."""


class ReplayedRequestError(RequestSignatureError):
    """The signature's nonce was used before: the request is a replay."""


class RegistryError(ConsentryError):
    """The registry refuses a request under its rules."""


class NotFoundError(RegistryError):
    """The named owner, licensee, work, collection, request or grant does not exist."""


class PermissionDeniedError(RegistryError):
    """The caller's key does not belong to the party the action is for."""


class StateConflictError(RegistryError):
    """The action does not fit the current state of the object it targets."""


class StaleSigningError(StateConflictError):
    """The registry changed, or the window passed, while a change was being signed in
    rounds: the party signs it anew."""


class RateLimitedError(RegistryError):
    """Too many requests from one key or one address; ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WitnessError(ConsentryError):
    """A witness could not be reached, or refused a checkpoint for a reason it gave."""


class StorageError(ConsentryError):
    """The database failed; the message names the database and what to check."""


class WorkInterruptedError(ConsentryError):
    """The user stopped long work (Ctrl-C). The message says what was saved; ``resume``
    says whether running the same command with ``--resume`` finishes it."""

    def __init__(self, message: str, *, resume: bool = False) -> None:
        super().__init__(message)
        self.resume = resume
