"""Notices and grants from the registry itself (the check with a database)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from consentry.check.model import WorkNotice
from consentry.clock import utc_now
from consentry.errors import NotFoundError
from consentry.registry import Actor, PartyKind, Registry
from consentry.terms import Basis, Category

__all__ = ["RegistryNotices", "notices_for"]


def notices_for(
    registry: Registry,
    work_ids: Sequence[str] | None = None,
    *,
    names: dict[str, str] | None = None,
) -> list[WorkNotice]:
    """The notice of each work (every registered work by default; ids that name no
    work are left out): its owner's name and its effective terms."""
    # Owners and terms only: the works themselves were verified when the index or the
    # sketch was built from them, and each terms layer is verified as it is read.
    if work_ids is None:
        owners = {w.id: w.owner_id for w in registry.works.all()}
    else:
        owners = registry.works.owners(work_ids)
    if names is None:
        names = owner_names(registry)
    terms = registry.terms.effective_for_works(list(owners))
    return [
        WorkNotice(work_id, owner_id, names.get(owner_id, owner_id), terms[work_id])
        for work_id, owner_id in owners.items()
    ]


def owner_names(registry: Registry) -> dict[str, str]:
    return {party.id: party.name for party in registry.parties.all(PartyKind.OWNER)}


class RegistryNotices:
    """Notices looked up in the registry as findings need them, and, when the user is
    a licensee who gives their key, their grants for publishing output."""

    def __init__(
        self,
        registry: Registry,
        *,
        licensee: Actor | None = None,
        at: datetime | None = None,
    ) -> None:
        self._registry = registry
        self._licensee = licensee
        self._at = at or utc_now()
        self._notices: dict[str, WorkNotice] = {}
        self._names: dict[str, str] | None = None

    def notices(self, work_ids: Sequence[str]) -> dict[str, WorkNotice]:
        wanted = [w for w in work_ids if w not in self._notices]
        if wanted:
            if self._names is None:
                self._names = owner_names(self._registry)
            found = notices_for(self._registry, wanted, names=self._names)
            self._notices.update({n.work_id: n for n in found})
        return {w: self._notices[w] for w in work_ids if w in self._notices}

    def grants(self, work_ids: Sequence[str]) -> dict[str, str]:
        if self._licensee is None:
            return {}
        found = {}
        for work_id in work_ids:
            try:
                decision = self._registry.licensing.may_use(
                    self._licensee, work_id, Category.PUBLISH_OUTPUT, at=self._at
                )
            except NotFoundError:
                continue
            if decision.basis is Basis.GRANT and decision.grant_id is not None:
                found[work_id] = decision.grant_id
        return found
