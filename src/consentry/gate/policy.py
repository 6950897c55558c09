"""The licensee's gate policy: the mode, and which bases it accepts for unregistered
items (DESIGN.md §3, guarantee 1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from consentry.terms import Category

__all__ = ["DEFAULT_OPEN_LICENCES", "GateMode", "GatePolicy"]


class GateMode(StrEnum):
    CONSENT_ONLY = "consent-only"
    OPT_OUT = "opt-out"


# Licences that allow training without asking: public-domain dedications and
# permissive licences. A licensee's policy may narrow or widen this.
DEFAULT_OPEN_LICENCES = frozenset(
    {
        "CC0-1.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "MIT",
        "Apache-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "Unlicense",
        "PDDL-1.0",
        "ODC-By-1.0",
    }
)


@dataclass(frozen=True, slots=True)
class GatePolicy:
    mode: GateMode = GateMode.CONSENT_ONLY
    open_licences: frozenset[str] = DEFAULT_OPEN_LICENCES
    # Items whose metadata.source equals one of these, or whose metadata.url starts with
    # one, are the licensee's own data.
    own_sources: frozenset[str] = field(default_factory=frozenset)
    # The use the run is for: the category whose reservations bind it.
    purpose: Category = Category.TRAIN_AI
    # The crawler (user-agent token) whose rules bind the licensee; None: every AI
    # crawler's, the most restrictive of them, as a party that does not say which
    # crawler gathered its corpus cannot claim another's permission.
    agent: str | None = None

    def open_licence(self, metadata: Mapping[str, Any]) -> str | None:
        licence = metadata.get("license")
        return licence if isinstance(licence, str) and licence in self.open_licences else None

    def own_data(self, metadata: Mapping[str, Any]) -> str | None:
        source, url = metadata.get("source"), metadata.get("url")
        if isinstance(source, str) and source in self.own_sources:
            return source
        if isinstance(url, str):
            return next((p for p in self.own_sources if p and url.startswith(p)), None)
        return None
