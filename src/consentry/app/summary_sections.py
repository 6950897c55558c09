"""Which figures of a summary fill which section of the template, and in what words.

The mapping from what a gate run records to the template's sections (its headings are
``summary_template.SECTIONS``):

- 1.3 (modalities, size): every run's items, admitted content, its bytes, the runs'
  period and purposes, and the tokens of the registered works admitted.
- 2.1 (publicly available datasets): items admitted on an open licence (an SPDX id in
  ``metadata.license`` the run's policy accepts). The template's publicly available
  datasets are third parties' datasets offered to anyone under open terms; openly
  licensed content is what such datasets hold, whatever site it was read from.
- 2.2.1 (commercially licensed by rightsholders): items admitted under a grant the
  registered owner signed, and under an owner's published terms (a licence offered to
  every licensee); the registered works, owners, grants and royalties owed.
- 2.3 (crawled and scraped): items admitted because no reservation of rights was found
  (opt-out runs), and the domain names of every admitted item with a URL, whatever its
  basis, by the template's rule (``summary_figures``).
- 2.6 (other sources): the licensee's own data (``--own-source``). The template's 2.4
  is data from users of the model or of the provider's services; a provider whose own
  data is that declares it in 2.4 as well.
- 3.1 (reservations of rights): the runs' modes, and items rejected for each kind of
  reservation signal (honoured) or carrying one beside a decision on consent
  (reported).

Everything else in the template is the provider's declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from consentry.app.summary_figures import Figure, TrainingContentSummary

__all__ = ["Computed", "computed_fields", "mode_sentence"]


@dataclass(frozen=True, slots=True)
class Computed:
    """One computed field: its key in the JSON, its name in words, its value as JSON
    and in words, and the runs it comes from (with each run's own figure, for a
    number) and those whose manifests do not record it."""

    key: str
    label: str
    value: Any
    text: str
    runs: tuple[str, ...]
    unavailable: tuple[str, ...] = ()
    by_run: tuple[tuple[str, int], ...] = ()


def _counted(n: int, unit: str) -> str:
    """``n`` of ``unit`` (singular), in words: ``1 run``, ``2,048 bytes``."""
    return f"{n:,} {unit}" if n == 1 else f"{n:,} {unit}s"


def _runs(n: int) -> str:
    return _counted(n, "run")


def _figure(key: str, label: str, figure: Figure, unit: str) -> Computed:
    return Computed(
        key,
        label,
        figure.to_json(),
        _counted(figure.value, unit),
        figure.runs,
        figure.unavailable,
        figure.by_run,
    )


def _basis(summary: TrainingContentSummary, basis: str, key: str, what: str) -> list[Computed]:
    return [
        _figure(f"{key}_items", f"Items admitted {what}", summary.admitted_by_basis[basis], "item"),
        _figure(
            f"{key}_bytes",
            f"Bytes admitted {what}",
            summary.admitted_bytes_by_basis[basis],
            "byte",
        ),
    ]


_MODES = {
    "opt-out": "admits unregistered content only where no reservation of rights was found, "
    "and rejects every item whose signals reserve the use",
    "consent-only": "admits no content on the text and data mining exception: only "
    "licensed, openly licensed or the provider's own data",
}


def mode_sentence(mode: str) -> str:
    """What a gate run in ``mode`` does with reservations of rights, in one clause."""
    return _MODES.get(mode, f"runs in mode {mode!r}")


def _general(s: TrainingContentSummary) -> list[Computed]:
    runs = s.run_ids
    purposes = "; ".join(f"{p} ({_runs(len(r))})" for p, r in s.runs_by_purpose.items())
    return [
        Computed(
            "runs",
            "Gate runs",
            {
                "count": len(runs),
                "first_started": s.first_started,
                "last_finished": s.last_finished,
            },
            f"{_runs(len(runs))}, from {s.first_started} to {s.last_finished}",
            runs,
        ),
        Computed(
            "purposes",
            "Purposes the runs were gated for",
            {p: list(r) for p, r in s.runs_by_purpose.items()},
            purposes,
            runs,
        ),
        _figure("items", "Items the gate decided", s.items, "item"),
        _figure("admitted_items", "Items admitted for training", s.admitted, "item"),
        _figure("rejected_items", "Items rejected", s.rejected, "item"),
        _figure("admitted_bytes", "Bytes admitted for training", s.admitted_bytes, "byte"),
        _figure(
            "registered_work_tokens",
            "Tokens of registered works admitted",
            s.work_tokens,
            "token",
        ),
    ]


def _licensed(s: TrainingContentSummary) -> list[Computed]:
    royalties = {c: str(t) for c, t in s.royalties.items()}
    concluded = s.grants.value > 0
    return [
        Computed(
            "licensing_agreements",
            "Have you concluded transactional commercial licensing agreement(s) with "
            "rightsholder(s) or with their representatives?",
            concluded,
            f"{'Yes' if concluded else 'No'}: {_counted(s.grants.value, 'signed grant')}",
            s.grants.runs,
        ),
        *_basis(s, "grant", "grant", "under a grant its registered owner signed"),
        *_basis(s, "terms", "terms", "under their registered owner's published terms"),
        _figure("registered_works", "Registered works admitted", s.works, "work"),
        _figure("owners", "Rightsholders of the works admitted", s.owners, "owner"),
        _figure("grants", "Grants the runs billed under", s.grants, "grant"),
        Computed(
            "royalties",
            "Royalties owed to rightsholders",
            royalties,
            "; ".join(f"{t} {c}" for c, t in royalties.items()) or "none",
            s.run_ids,
        ),
    ]


def _crawled(s: TrainingContentSummary) -> list[Computed]:
    d = s.domains
    return [
        *_basis(s, "opt-out", "no_reservation", "because no reservation of rights was found"),
        _figure("url_items", "Admitted items read from a URL", d.items, "item"),
        _figure("url_bytes", "Admitted bytes read from a URL", d.bytes, "byte"),
        Computed(
            "domain_names",
            "Domain names of admitted content",
            {"total": d.total, "exact": d.total_exact},
            f"{d.total:,}" if d.total_exact else f"at most {d.total:,}",
            d.items.runs,
            d.items.unavailable,
        ),
    ]


def _other(s: TrainingContentSummary) -> list[Computed]:
    known = {"grant", "terms", "open-licence", "opt-out", "own-data"}
    lines = _basis(s, "own-data", "own_data", "as the provider's own data")
    for basis in s.admitted_by_basis:
        if basis not in known:
            key = basis.replace("-", "_")
            lines += _basis(s, basis, f"basis_{key}", f"on basis {basis!r}")
    return lines


def _reservations(s: TrainingContentSummary) -> list[Computed]:
    return [
        Computed(
            f"mode_{mode.replace('-', '_')}",
            f"Runs in {mode} mode",
            list(runs),
            f"{_runs(len(runs))}; this mode {mode_sentence(mode)}",
            runs,
        )
        for mode, runs in s.runs_by_mode.items()
    ]


def computed_fields(summary: TrainingContentSummary) -> Mapping[str, tuple[Computed, ...]]:
    """The computed fields of each section, by section number (in the template's
    words where it has a field for them). The crawled domains (2.3) and the signals
    (3.1) are tables of their own: ``summary.domains``, ``summary.honoured``."""
    return MappingProxyType(
        {
            "1.3": tuple(_general(summary)),
            "2.1": tuple(_basis(summary, "open-licence", "open_licence", "on an open licence")),
            "2.2.1": tuple(_licensed(summary)),
            "2.3": tuple(_crawled(summary)),
            "2.6": tuple(_other(summary)),
            "3.1": tuple(_reservations(summary)),
        }
    )
