"""The registry domain: owners, licensees, works, terms, requests, grants, revocations."""

from consentry.registry.catalogue import (
    DEFAULT_MAX_BYTES,
    CatalogueFile,
    FileProblem,
    discover_files,
    fingerprint_files,
)
from consentry.registry.grants import authorize, verify_grant, verify_revocation
from consentry.registry.records import (
    Actor,
    Collection,
    CounterOffer,
    EventKind,
    Grant,
    LicenseRequest,
    Party,
    PartyKind,
    Registration,
    RegistrationStatus,
    RequestState,
    Revocation,
    Scope,
    ScopeKind,
    Work,
)
from consentry.registry.service import Registry
from consentry.registry.terms_service import EffectiveTerms, TargetKind, TermsLayer
from consentry.registry.works import FileFingerprint

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Actor",
    "CatalogueFile",
    "Collection",
    "CounterOffer",
    "EffectiveTerms",
    "EventKind",
    "FileFingerprint",
    "FileProblem",
    "Grant",
    "LicenseRequest",
    "Party",
    "PartyKind",
    "Registration",
    "RegistrationStatus",
    "Registry",
    "RequestState",
    "Revocation",
    "Scope",
    "ScopeKind",
    "TargetKind",
    "TermsLayer",
    "Work",
    "authorize",
    "discover_files",
    "fingerprint_files",
    "verify_grant",
    "verify_revocation",
]
