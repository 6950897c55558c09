"""The licensee's gate policy: the mode, and which bases it accepts for unregistered
items (DESIGN.md §3, guarantee 1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["DEFAULT_OPEN_LICENCES", "GateMode", "GatePolicy", "reservation_signal"]


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


def _reserves(value: object) -> bool:
    return isinstance(value, str) and any(
        token.strip().lower() in {"noai", "noimageai"}
        for token in value.replace(";", ",").split(",")
    )


def reservation_signal(metadata: Mapping[str, Any]) -> str | None:
    """The first machine-readable opt-out an item carries (TDMRep, noai), or None."""
    headers = metadata.get("http_headers") or {}
    meta = metadata.get("html_meta") or {}
    if str(headers.get("tdm-reservation", "")).strip() == "1":
        return "HTTP header tdm-reservation: 1"
    if str(meta.get("tdm-reservation", "")).strip() == "1":
        return "HTML meta tdm-reservation=1"
    if _reserves(headers.get("x-robots-tag")):
        return f"X-Robots-Tag: {headers['x-robots-tag']}"
    if _reserves(meta.get("robots")):
        return f"HTML meta robots={meta['robots']}"
    return None
