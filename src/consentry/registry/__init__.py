"""The registry domain: owners, licensees, works, terms, requests, grants, revocations.

Importing it loads the database layer, not the fingerprinting kernels: fingerprinting a
catalogue (``consentry.registry.catalogue``) and the match index are imported by what
uses them."""

from consentry.registry.accounts import Account, Credentials
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
    "Account",
    "Actor",
    "Collection",
    "CounterOffer",
    "Credentials",
    "EffectiveTerms",
    "EventKind",
    "FileFingerprint",
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
    "verify_grant",
    "verify_revocation",
]
