"""The one exception hierarchy of consentry.

Every error a caller can see is a ``ConsentryError`` whose message is one sentence a
user can act on: it names the input and says what to do. Library exceptions are
translated at the boundary (``raise X(...) from exc``) and never escape the public API.

    ConsentryError
    ├── ConfigurationError      the registry is missing or misconfigured
    ├── InputError              a file, argument or document the user gave is unusable
    │   └── TermsError          a terms document fails its schema
    ├── KeyStoreError           a private key is missing, unreadable or exposed
    ├── VerificationError       a signature, grant or proof does not hold
    ├── RegistryError           a request the registry's rules refuse
    │   ├── NotFoundError       no such owner, licensee, work, request or grant
    │   ├── PermissionDeniedError    someone acting for another (guarantee 7)
    │   └── StateConflictError       an action that does not fit the object's state
    ├── WitnessError            a witness is unreachable or refused a checkpoint
    ├── StorageError            the database failed underneath us
    └── WorkInterruptedError    the user stopped long work; what was saved, how to finish
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ConsentryError",
    "InputError",
    "KeyStoreError",
    "NotFoundError",
    "PermissionDeniedError",
    "RegistryError",
    "StateConflictError",
    "StorageError",
    "TermsError",
    "VerificationError",
    "WitnessError",
    "WorkInterruptedError",
]


class ConsentryError(Exception):
    """Root of every error consentry raises on purpose."""


class ConfigurationError(ConsentryError):
    """The registry is missing, or its settings cannot be used."""


class InputError(ConsentryError):
    """Something the user supplied cannot be used as given."""


class TermsError(InputError):
    """A terms document does not match the terms schema."""


class KeyStoreError(ConsentryError):
    """A private key cannot be created, found or read safely."""


class VerificationError(ConsentryError):
    """A signature, grant or proof does not verify; the message says what was expected."""


class RegistryError(ConsentryError):
    """The registry refuses a request under its rules."""


class NotFoundError(RegistryError):
    """The named owner, licensee, work, collection, request or grant does not exist."""


class PermissionDeniedError(RegistryError):
    """The caller's key does not belong to the party the action is for."""


class StateConflictError(RegistryError):
    """The action does not fit the current state of the object it targets."""


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
