"""Where a run's admitted content came from, and which reservations it honoured: the
figures a public summary of training content states (by basis, by crawled domain, by
signal), kept with the run's state and signed into its manifest."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from consentry.gate.decision import Decision

__all__ = ["SourceTally", "domain_of"]

# The summary template asks for the top tenth of crawled domains by size; a manifest
# names at least this many (where there are as many) and at most the cap.
_TOP_DOMAINS_AT_LEAST = 1_000
_TOP_DOMAINS_AT_MOST = 100_000


def domain_of(url: object) -> str | None:
    """The host an item's URL names, lower-cased and without a port or a leading
    ``www.``; None for no URL or one without a host."""
    if not isinstance(url, str) or "//" not in url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


@dataclass(slots=True)
class SourceTally:
    """Admitted items and bytes by basis kind, admitted crawled content by domain
    (items, bytes), and items whose reservation signals the run honoured (rejected
    for them, opt-out mode) or reported (beside a decision, consent-only mode), by
    kind of signal."""

    by_basis: Counter[str] = field(default_factory=Counter)
    bytes_by_basis: Counter[str] = field(default_factory=Counter)
    domains: dict[str, list[int]] = field(default_factory=dict)
    honoured: Counter[str] = field(default_factory=Counter)
    reported: Counter[str] = field(default_factory=Counter)

    def count(self, decision: Decision, *, url: object, size: int) -> None:
        """Count one decided item of ``size`` bytes, read from ``url`` (if any)."""
        if decision.admitted:
            # An item is counted under its first basis: the one that let it in.
            kind = decision.bases[0].kind.value if decision.bases else "none"
            self.by_basis[kind] += 1
            self.bytes_by_basis[kind] += size
            if (domain := domain_of(url)) is not None:
                entry = self.domains.setdefault(domain, [0, 0])
                entry[0] += 1
                entry[1] += size
        else:
            self.honoured.update({r.signal for r in decision.reasons if r.signal is not None})
        self.reported.update({r.signal for r in decision.signals if r.signal is not None})

    def to_state(self) -> dict[str, Any]:
        return {
            "by_basis": dict(self.by_basis),
            "bytes_by_basis": dict(self.bytes_by_basis),
            "domains": self.domains,
            "honoured": dict(self.honoured),
            "reported": dict(self.reported),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> SourceTally:
        if not state:
            return cls()
        return cls(
            Counter(state["by_basis"]),
            Counter(state["bytes_by_basis"]),
            {d: [int(n), int(b)] for d, (n, b) in state["domains"].items()},
            Counter(state["honoured"]),
            Counter(state["reported"]),
        )

    def manifest_sources(self) -> dict[str, Any]:
        """The manifest's ``sources``: admitted items and bytes by basis, and the
        crawled domains, the largest first (by bytes, then name)."""
        ranked = sorted(self.domains.items(), key=lambda pair: (-pair[1][1], pair[0]))
        wanted = max(_TOP_DOMAINS_AT_LEAST, math.ceil(len(ranked) / 10))
        top = ranked[: min(wanted, _TOP_DOMAINS_AT_MOST)]
        return {
            "admitted_by_basis": dict(sorted(self.by_basis.items())),
            "admitted_bytes_by_basis": dict(sorted(self.bytes_by_basis.items())),
            "domains": {
                "count": len(ranked),
                "items": sum(n for n, _ in self.domains.values()),
                "bytes": sum(b for _, b in self.domains.values()),
                "top": [{"domain": d, "items": n, "bytes": b} for d, (n, b) in top],
            },
        }

    def manifest_reservations(self) -> dict[str, Any]:
        """The manifest's ``reservations``: items by kind of signal, honoured (rejected
        for it) and reported (carried by an item decided on consent alone)."""
        return {
            "honoured": dict(sorted(self.honoured.items())),
            "reported": dict(sorted(self.reported.items())),
        }
