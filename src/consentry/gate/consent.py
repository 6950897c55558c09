"""Where the gate gets its answers: may this licensee use this work for the run's
purpose at the run's moment?"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from consentry.registry import Actor, Registry
from consentry.registry.consent import Consent
from consentry.terms import Category, Price, UseDecision

__all__ = ["ConsentOracle", "ConsentTable", "RegistryConsent"]


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


@dataclass(frozen=True, slots=True)
class ConsentTable:
    """Every answer a run can need, read before it starts: the decision for each work
    the index holds and the price of each grant those decisions use. A plain value, so
    workers that cannot reach the registry decide exactly as the run's oracle would."""

    at: datetime
    answers: Mapping[str, UseDecision]
    prices: Mapping[str, Price]

    @classmethod
    def read(cls, oracle: ConsentOracle, work_ids: Iterable[str], *, at: datetime) -> ConsentTable:
        """``oracle``'s answers (as of ``at``, the moment it decides for) for
        ``work_ids``, read in one batch, and the prices of the grants they rely on."""
        ids = sorted(set(work_ids))
        answers = dict(oracle.decide(ids))
        grants = sorted({d.grant_id for d in answers.values() if d.grant_id is not None})
        prices = {g: price for g in grants if (price := oracle.price_of(g)) is not None}
        return cls(at, answers, prices)

    def decide(self, work_ids: Sequence[str]) -> Mapping[str, UseDecision]:
        """As the oracle read answered; a work it was not asked about has no consent
        (the table covers the whole index, so a match always names one it holds)."""
        answers = self.answers
        return {
            w: answers.get(w) or UseDecision(False, f"work {w} is not in the registry")
            for w in work_ids
        }

    def price_of(self, grant_id: str) -> Price | None:
        return self.prices.get(grant_id)
