"""Where the gate gets its answers: may this licensee use this work for the run's
purpose at the run's moment?"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from consentry.crypto import KeyPair
from consentry.registry import PartyKind, Registry
from consentry.registry.consent import Consent
from consentry.terms import Category, Price, UseDecision

__all__ = ["ConsentOracle", "RegistryConsent"]


class ConsentOracle(Protocol):
    def decide(self, work_id: str) -> UseDecision: ...

    def price_of(self, grant_id: str) -> Price | None: ...


class RegistryConsent:
    """Answers from the registry: verified grants and effective terms, one lookup per
    work per run (the licensee, purpose and moment are fixed for a run)."""

    def __init__(
        self,
        registry: Registry,
        *,
        licensee_id: str,
        key: KeyPair,
        purpose: Category,
        at: datetime,
        commercial: bool = True,
    ) -> None:
        self._registry = registry
        self._licensee_id = licensee_id
        self._key = key
        self._purpose = purpose
        self._at = at
        self._commercial = commercial
        self._answers: dict[str, UseDecision] = {}
        self._consent: Consent | None = None
        self._prices: dict[str, Price | None] | None = None

    def decide(self, work_id: str) -> UseDecision:
        if work_id not in self._answers:
            if self._consent is None:
                # The licensee's key and grants are checked once per run, not per work.
                self._consent = self._registry.licensing.consent(
                    self._licensee_id,
                    self._key,
                    self._purpose,
                    at=self._at,
                    commercial=self._commercial,
                )
            # In the index but gone from the registry: no consent can be shown.
            missing = UseDecision(False, f"work {work_id} is not in the registry")
            self._answers[work_id] = self._consent.decide([work_id]).get(work_id, missing)
        return self._answers[work_id]

    def price_of(self, grant_id: str) -> Price | None:
        """The price the licensee's grant ``grant_id`` carries (grants verified once)."""
        if self._prices is None:
            held = self._registry.licensing.grants(self._licensee_id, PartyKind.LICENSEE, self._key)
            self._prices = {grant.id: grant.price for grant, _ in held}
        return self._prices.get(grant_id)
