"""Where the gate gets its answers: may this licensee use this work for the run's
purpose at the run's moment?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from consentry.registry import Actor, Registry
from consentry.registry.consent import Consent
from consentry.terms import Category, Price, UseDecision

__all__ = ["ConsentOracle", "RegistryConsent"]


class ConsentOracle(Protocol):
    def decide(self, work_ids: Sequence[str]) -> Mapping[str, UseDecision]:
        """The decision for each of ``work_ids``; a work left out has no consent."""
        ...

    def price_of(self, grant_id: str) -> Price | None: ...


class RegistryConsent:
    """Answers from the registry: verified grants and effective terms, one lookup per
    work per run (the licensee, purpose and moment are fixed for a run)."""

    def __init__(
        self,
        registry: Registry,
        *,
        licensee: Actor,
        purpose: Category,
        at: datetime,
        commercial: bool = True,
    ) -> None:
        self._registry = registry
        self._licensee = licensee
        self._purpose = purpose
        self._at = at
        self._commercial = commercial
        self._answers: dict[str, UseDecision] = {}
        self._consent: Consent | None = None

    def decide(self, work_ids: Sequence[str]) -> Mapping[str, UseDecision]:
        """Answers for ``work_ids``; those not yet known are read in one batch (a
        registry round trip costs far more than verifying one more work)."""
        answers = self._answers
        unknown = [w for w in work_ids if w not in answers]
        if unknown:
            unknown = list(dict.fromkeys(unknown))
            found = self._standing().decide(unknown)
            for work_id in unknown:
                # In the index but gone from the registry: no consent can be shown.
                answers[work_id] = found.get(work_id) or UseDecision(
                    False, f"work {work_id} is not in the registry"
                )
        return {w: answers[w] for w in work_ids}

    def _standing(self) -> Consent:
        # The licensee's key and grants are checked once per run, not per work.
        if self._consent is None:
            self._consent = self._registry.licensing.consent(
                self._licensee,
                self._purpose,
                at=self._at,
                commercial=self._commercial,
            )
        return self._consent

    def price_of(self, grant_id: str) -> Price | None:
        """The price the licensee's grant ``grant_id`` carries: of the grants the run's
        consent verified, so a grant set aside there costs nothing here."""
        return self._standing().price_of(grant_id)
