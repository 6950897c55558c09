"""A ``TrainingContentSummary`` as Markdown to publish and as JSON for machines, in the
template's sections and field names (``summary_template``), each field marked as the
provider's declaration or as computed from the runs' manifests, each computed figure
naming the runs it adds up (``S1``... in the sources appendix, with their log entries).

Pure: the summary in, text or a JSON object out. The JSON matches
``summary.schema.json``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from consentry.app.summary_declaration import DeclaredValue
from consentry.app.summary_figures import Figure, TrainingContentSummary
from consentry.app.summary_sections import Computed, computed_fields
from consentry.app.summary_template import SECTIONS, TEMPLATE, signal_sentence
from consentry.clock import format_time

__all__ = ["summary_to_json", "summary_to_markdown"]

_DECLARED = "*(declared by the provider)*"
_COMPUTED = "*(computed from the manifests)*"
_NOT_DECLARED = "not declared"


# -- JSON ---------------------------------------------------------------------------------


def _declared_json(value: DeclaredValue | None) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _signals_json(summary: TrainingContentSummary) -> list[dict[str, Any]]:
    names = list(dict.fromkeys([*summary.honoured, *summary.reported]))
    return [
        {
            "signal": name,
            "description": signal_sentence(name),
            "honoured": summary.honoured[name].to_json() if name in summary.honoured else None,
            "reported": summary.reported[name].to_json() if name in summary.reported else None,
        }
        for name in names
    ]


def _domains_json(summary: TrainingContentSummary) -> dict[str, Any]:
    d = summary.domains
    return {
        "rule": d.rule,
        "total": d.total,
        "total_exact": d.total_exact,
        "wanted": d.wanted,
        "ranking_exact": d.ranking_exact,
        "partial_runs": list(d.partial),
        "listed": [
            {
                "rank": n,
                "domain": s.domain,
                "items": s.items,
                "bytes": s.bytes,
                "runs": list(s.runs),
            }
            for n, s in enumerate(d.listed, start=1)
        ],
    }


def _source_json(summary: TrainingContentSummary) -> Iterator[dict[str, Any]]:
    for s in summary.sources:
        m, f = s.manifest, s.figures
        yield {
            "ref": s.ref,
            "run_id": s.run_id,
            "file": m.file,
            "manifest_sha256": m.digest,
            "licensee": m.licensee_id,
            "licensee_name": m.licensee_name,
            "purpose": s.field("purpose"),
            "mode": s.field("mode"),
            "started_at": s.field("started_at"),
            "finished_at": s.field("finished_at"),
            "log": {
                "index": m.log_index,
                "recorded_at": format_time(m.recorded_at),
                "checkpoint": {
                    "origin": m.checkpoint.origin,
                    "size": m.checkpoint.size,
                    "root": m.checkpoint.root.hex(),
                },
                "proof": m.proof,
            },
            "counts": {"items": f.items, "admitted": f.admitted, "rejected": f.rejected},
            "admitted_by_basis": _maybe(f.admitted_by_basis),
            "admitted_bytes_by_basis": _maybe(f.admitted_bytes_by_basis),
            "domains": None
            if f.domains is None
            else {
                "count": f.domains.count,
                "items": f.domains.items,
                "bytes": f.domains.bytes,
                "listed": len(f.domains.top),
            },
            "reservations": None
            if f.honoured is None or f.reported is None
            else {"honoured": dict(f.honoured), "reported": dict(f.reported)},
            "works": len(f.works),
            "royalties_total": {c: str(t) for c, t in f.royalties.items()},
        }


def _maybe(counts: Mapping[str, int] | None) -> dict[str, int] | None:
    return None if counts is None else dict(counts)


def summary_to_json(summary: TrainingContentSummary) -> dict[str, Any]:
    """The summary as one JSON object (``summary.schema.json``)."""
    computed = computed_fields(summary)
    sections = []
    for section in SECTIONS:
        entry: dict[str, Any] = {
            "section": section.number,
            "heading": section.heading,
            "declared": {
                f.key: _declared_json(summary.declaration.get(f.key)) for f in section.fields
            },
            "computed": {c.key: c.value for c in computed.get(section.number, ())},
        }
        if section.number == "2.3":
            entry["domains"] = _domains_json(summary)
        if section.number == "3.1":
            entry["signals"] = _signals_json(summary)
        sections.append(entry)
    return {
        "type": "consentry.training-content-summary",
        "version": 1,
        "template": TEMPLATE.to_json(),
        "generated_at": format_time(summary.generated_at),
        "sme": summary.declaration.sme,
        "sections": sections,
        "unavailable": [
            {"run_id": u.run_id, "figures": list(u.figures), "why": u.why}
            for u in summary.unavailable
        ],
        "sources": list(_source_json(summary)),
    }


# -- Markdown -----------------------------------------------------------------------------


def _inline(text: str) -> str:
    """Text on one line of a list or table: no line breaks, no table pipes."""
    return " ".join(text.split()).replace("|", "\\|")


def _declared_text(value: DeclaredValue | None) -> str:
    if value is None:
        return f"*{_NOT_DECLARED}*"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, tuple):
        return "; ".join(_inline(v) for v in value) or "none"
    if isinstance(value, Mapping):
        return "; ".join(f"{_inline(k)}: {_inline(v)}" for k, v in value.items())
    return _inline(value)


def _refs(runs: Sequence[str], refs: Mapping[str, str]) -> str:
    return ", ".join(refs[r] for r in runs)


def _by_run(by_run: Sequence[tuple[str, int]], refs: Mapping[str, str]) -> str:
    return ", ".join(f"{refs[run]}: {value:,}" for run, value in by_run)


def _computed_line(c: Computed, refs: Mapping[str, str]) -> str:
    shown = _by_run(c.by_run, refs) if c.by_run else _refs(c.runs, refs)
    where = f" — {shown}" if shown else ""
    if c.unavailable:
        where += f"; not recorded by {_refs(c.unavailable, refs)} (see Appendix A)"
    return f"- **{c.label}** {_COMPUTED}: {_inline(c.text)}{where}"


def _figure_cell(figure: Figure | None, refs: Mapping[str, str]) -> str:
    if figure is None:
        return "0"
    parts = _by_run([(r, v) for r, v in figure.by_run if v], refs)
    text = f"{figure.value:,}" + (f" ({parts})" if parts else "")
    if figure.unavailable:
        text += f"; not recorded by {_refs(figure.unavailable, refs)}"
    return text


def _domain_table(summary: TrainingContentSummary, refs: Mapping[str, str]) -> list[str]:
    d = summary.domains
    lines = [
        "",
        f"**Summary of the most relevant domain names** {_COMPUTED}: the {d.rule}, "
        f"{d.wanted:,} of {'' if d.total_exact else 'at most '}{d.total:,} domain names.",
    ]
    if len(d.listed) < d.wanted:
        lines.append(
            f"The manifests name {len(d.listed):,} domain names, fewer than the rule asks of "
            "the most there can be: every one they name is listed."
        )
    if d.partial:
        lines.append(
            f"The manifests of {_refs(d.partial, refs)} name only their largest domains: the "
            "ranking is over the domains they name, and the total is the most there can be."
        )
    if not d.listed:
        lines += ["", "No admitted item was read from a URL."]
        return lines
    lines += [
        "",
        "| Rank | Domain name | Items | Bytes | Runs |",
        "| ---: | --- | ---: | ---: | --- |",
    ]
    lines += [
        f"| {n} | {_inline(s.domain)} | {s.items:,} | {s.bytes:,} | {_refs(s.runs, refs)} |"
        for n, s in enumerate(d.listed, start=1)
    ]
    return lines


def _signal_table(summary: TrainingContentSummary, refs: Mapping[str, str]) -> list[str]:
    names = list(dict.fromkeys([*summary.honoured, *summary.reported]))
    if not names:
        unknown = [u.run_id for u in summary.unavailable if "reservations" in u.why]
        said = "No item carried a reservation signal"
        if unknown:
            said += f" in the runs that record them (not recorded by {_refs(unknown, refs)})"
        return ["", f"{said}. {_COMPUTED}"]
    lines = [
        "",
        f"**Reservations of rights found, by signal** {_COMPUTED} (an item carrying two "
        "signals counts under each):",
        "",
        "| Signal | What it is | Items rejected for it (honoured) | Items carrying it, "
        "decided on consent (reported) |",
        "| --- | --- | ---: | ---: |",
    ]
    lines += [
        f"| {_inline(name)} | {signal_sentence(name)} | "
        f"{_figure_cell(summary.honoured.get(name), refs)} | "
        f"{_figure_cell(summary.reported.get(name), refs)} |"
        for name in names
    ]
    return lines


def _section_lines(summary: TrainingContentSummary, refs: Mapping[str, str]) -> Iterator[str]:
    computed = computed_fields(summary)
    for section in SECTIONS:
        yield ""
        yield f"{'#' * (section.depth + 1)} {section.title}"
        if section.fields or section.number in computed:
            yield ""
        for f in section.fields:
            value = _declared_text(summary.declaration.get(f.key))
            yield f"- **{f.label}** {_DECLARED}: {value}"
        for c in computed.get(section.number, ()):
            yield _computed_line(c, refs)
        if section.number == "2.3":
            yield from _domain_table(summary, refs)
        if section.number == "3.1":
            yield from _signal_table(summary, refs)


def _appendices(summary: TrainingContentSummary) -> Iterator[str]:
    yield ""
    yield "## Appendix A. Figures not available"
    yield ""
    if not summary.unavailable:
        yield "Every run's manifest records every figure above."
    for u in summary.unavailable:
        ref = summary.refs[u.run_id]
        yield f"- {ref} (run {u.run_id}): {', '.join(u.figures)}: {u.why}."
    yield ""
    yield "## Appendix B. Sources"
    yield ""
    yield (
        "Each run's manifest is signed by its licensee's registered key and recorded on the "
        "registry's log at the entry below, proven to be in the checkpoint named (the JSON "
        "form carries each proof; 'consentry log verify-proof' checks one with only the "
        "log's key)."
    )
    yield ""
    yield (
        "| Ref | Run | Licensee | Mode | Log entry | Recorded | Checkpoint size | "
        "Checkpoint root | Manifest SHA-256 | Items | Admitted | Rejected |"
    )
    yield "| --- | --- | --- | --- | ---: | --- | ---: | --- | --- | ---: | ---: | ---: |"
    for s in summary.sources:
        m, f = s.manifest, s.figures
        yield (
            f"| {s.ref} | {s.run_id} | {_inline(m.licensee_name)} ({m.licensee_id}) | "
            f"{s.field('mode')} | {m.log_index} | {format_time(m.recorded_at)} | "
            f"{m.checkpoint.size} | {m.checkpoint.root.hex()} | {m.digest} | "
            f"{f.items:,} | {f.admitted:,} | {f.rejected:,} |"
        )


def _manifests(n: int) -> str:
    return "1 signed training manifest" if n == 1 else f"{n:,} signed training manifests"


def summary_to_markdown(summary: TrainingContentSummary) -> str:
    """The summary as a Markdown document, headed as the template is."""
    refs = summary.refs
    model = summary.declaration.get("model")
    provider = summary.declaration.get("provider")
    lines = [
        "# Public Summary of Training Content",
        "",
        f"Model: {_inline(str(model)) if model else '*not declared*'} · "
        f"Provider: {_inline(str(provider)) if provider else '*not declared*'}",
        "",
        f"Written in the structure of the *{TEMPLATE.title}* ({TEMPLATE.publisher}, "
        f"{TEMPLATE.published}; {TEMPLATE.legal_basis}). Fields marked {_DECLARED} are the "
        f"provider's own statements; fields marked {_COMPUTED} are computed from "
        f"{_manifests(len(summary.sources))}, each verified against its "
        "licensee's registered key and found on the registry's log; each names the runs it "
        f"comes from ({', '.join(refs.values())}, listed in Appendix B). "
        f"Generated {format_time(summary.generated_at)}.",
    ]
    lines += list(_section_lines(summary, refs))
    lines += list(_appendices(summary))
    return "\n".join(lines) + "\n"
