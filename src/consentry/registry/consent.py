"""``Consent``: one licensee's standing for one purpose at one moment, to decide many
works. The licensee's key and every grant they hold are verified once, when it is made;
each batch of works is then read and verified together, its terms resolved together,
and ``may_use`` applied to each. ``Licensing.may_use`` is this for a single work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from consentry.crypto import PublicKey
from consentry.errors import VerificationError
from consentry.registry.grants import check_parties, permit_for
from consentry.registry.records import Grant, Revocation, Work
from consentry.registry.terms_service import TermsLayer, TermsService
from consentry.registry.works import Works
from consentry.terms import Category, Permit, Price, UseDecision, may_use

__all__ = ["Consent"]

_BATCH = 1000


class Consent:
    """Decisions for ``licensee_id`` (whose key was checked) from their verified
    ``held`` grants; ``rejected`` are (owner id, why) for grants that failed
    verification, reported with the decisions they could have changed."""

    def __init__(
        self,
        works: Works,
        terms: TermsService,
        *,
        licensee_id: str,
        licensee_key: PublicKey,
        held: Sequence[tuple[Grant, Revocation | None]],
        rejected: Sequence[tuple[str, str]],
        purpose: Category,
        at: datetime,
        commercial: bool,
    ) -> None:
        self._works = works
        self._terms = terms
        self._licensee_id = licensee_id
        self._licensee_key = licensee_key
        self._held = list(held)
        # A work is weighed against its owner's grants only: found by owner, not by
        # walking every grant the licensee holds for each of a million works.
        self._held_by_owner: dict[str, list[tuple[Grant, Revocation | None]]] = {}
        for grant, revocation in self._held:
            self._held_by_owner.setdefault(grant.owner_id, []).append((grant, revocation))
        self._rejected: dict[str, list[str]] = {}
        for owner_id, why in rejected:
            self._rejected.setdefault(owner_id, []).append(why)
        self._purpose = purpose
        self._at = at
        self._commercial = commercial
        # Terms layers (an owner's default, a collection's) are verified once per run.
        self._layers: dict[str, TermsLayer | None] = {}

    def decide(self, work_ids: Sequence[str]) -> dict[str, UseDecision]:
        """The decision for each of ``work_ids`` that names a work, read a thousand
        works at a time: a few queries per thousand (works, fingerprints, owners' keys,
        terms), none per work, and only one thousand works held at once however many
        are asked about (a run may ask about every work its index holds)."""
        out: dict[str, UseDecision] = {}
        for first in range(0, len(work_ids), _BATCH):
            out.update(self._decide(work_ids[first : first + _BATCH]))
        return out

    def _decide(self, work_ids: Sequence[str]) -> dict[str, UseDecision]:
        works, refused = self._works.many_checked(work_ids)
        # The works just read say whose and in which collection they are: their terms
        # are found without reading them again.
        terms = self._terms.effective_for(
            [(w.id, w.owner_id, w.collection_id) for w in works],
            layers=self._layers,
            refused=refused,
        )
        # A work whose record was changed behind the services' back decides nothing for
        # itself: the items that copy it are rejected naming it, and only those.
        out: dict[str, UseDecision] = {
            work_id: UseDecision(
                False,
                f"{why}; the registry was changed outside its services: run 'consentry log verify'",
            )
            for work_id, why in refused.items()
        }
        for work in works:
            if work.id in refused:
                continue
            permits, problems = self._permits(work)
            decision = may_use(
                terms[work.id],
                self._purpose,
                at=self._at,
                commercial=self._commercial,
                permits=permits,
            )
            if problems and not decision.allowed:
                decision = UseDecision(False, f"{decision.reason}; {'; '.join(problems)}")
            out[work.id] = decision
        return out

    def price_of(self, grant_id: str) -> Price | None:
        """The price a held grant carries; None for one not held (or set aside)."""
        for grant, _ in self._held:
            if grant.id == grant_id:
                return grant.price
        return None

    def _permits(self, work: Work) -> tuple[list[Permit], list[str]]:
        """Permits from the grants that cover ``work``, and why others do not."""
        problems = list(self._rejected.get(work.owner_id, ()))
        permits: list[Permit] = []
        for grant, revocation in self._held_by_owner.get(work.owner_id, ()):
            if not grant.scope.covers(work):
                continue
            try:
                check_parties(
                    grant, work=work, licensee_id=self._licensee_id, licensee_key=self._licensee_key
                )
            except VerificationError as exc:
                problems.append(f"grant {grant.id} rejected: {exc}")
                continue
            permits.append(permit_for(grant, revocation))
        return permits, problems
