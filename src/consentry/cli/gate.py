"""``consentry gate run``."""

from __future__ import annotations

import os
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from consentry.cli._common import (
    cli_settings,
    err,
    out,
    parse_category,
    parse_mode,
    print_json,
    workspace,
)
from consentry.errors import InputError

if TYPE_CHECKING:
    from consentry.app import Workspace
    from consentry.gate.engines import EngineName
    from consentry.gate.run import RunStats

__all__ = ["gate_app"]


def _reason_line(reason: str) -> str:
    """How the summary names the rejected items with one reason (they overlap)."""
    return {
        "exact": "items with an exact match",
        "near": "items with a near match",
        "excerpt": "items with an excerpt match",
        "image": "items with an image match",
        "signal": "items with an opt-out signal",
        "unregistered": "unregistered items with no basis",
        "unreadable": "unreadable items",
    }.get(reason, f"items with reason {reason}")


def _parse_engine(name: str, address: str | None) -> EngineName:
    """``--engine``'s value; ``--address`` only with ray. Raises ``InputError``."""
    from consentry.gate.engines import EngineName

    try:
        engine = EngineName(name)
    except ValueError:
        choices = ", ".join(e.value for e in EngineName)
        raise InputError(f"--engine {name!r} is not one of {choices}", field="engine") from None
    if address is not None and engine is not EngineName.RAY:
        raise InputError("--address names a Ray cluster: use it with --engine ray")
    return engine


gate_app = typer.Typer(help="Run the ingestion gate over a corpus.", no_args_is_help=True)


@gate_app.command("run")
def run(
    corpus: Path = typer.Argument(..., help="Folder, JSON Lines (.gz/.zst), Parquet or WARC."),
    licensee: str = typer.Option(
        ..., "--licensee", help="Licensee id; its key signs the manifest."
    ),
    purpose: str = typer.Option(..., "--purpose", help="Use category, e.g. train-ai."),
    out_dir: Path = typer.Option(..., "--out", help="Empty folder for the outputs."),
    mode: str = typer.Option("consent-only", "--mode", help="consent-only or opt-out."),
    resume: bool = typer.Option(False, "--resume", help="Finish an interrupted run in --out."),
    compress: bool = typer.Option(False, "--zstd", help="Write admitted.jsonl.zst."),
    open_licence: list[str] = typer.Option(
        [],
        "--open-licence",
        help="SPDX id accepted as a basis (repeatable; replaces the default list).",
    ),
    own_source: list[str] = typer.Option(
        [],
        "--own-source",
        help="metadata.source value or URL prefix of your own data (repeatable).",
    ),
    workers: int = typer.Option(
        os.cpu_count() or 1,
        "--workers",
        min=1,
        help="Processes (default: one per core). A plain .jsonl of several shards is "
        "decided shard by shard, one per worker at a time.",
    ),
    shard_mb: int = typer.Option(
        64,
        "--shard-mb",
        min=1,
        help="Size of the shards of a plain .jsonl, a Parquet or a WARC file, in MB (with "
        "--workers or --engine ray).",
    ),
    engine: str = typer.Option(
        "local",
        "--engine",
        help="Where shards are decided: local (processes here) or ray (a Ray cluster, "
        "--workers actors; needs pip install 'consentry[ray]').",
    ),
    address: str | None = typer.Option(
        None,
        "--address",
        help="With --engine ray: a running cluster's address (default: start one here).",
    ),
    index_shards: int = typer.Option(
        0,
        "--index-shards",
        min=0,
        help="With --engine ray: hold the match index on this many Ray actors, a shard "
        "each, and route lookups to them (default 0: every node holds it whole).",
    ),
    checkpoint_every: int = typer.Option(
        1000, "--checkpoint-every", min=1, help="Items between checkpoints."
    ),
    min_span: int = typer.Option(
        200,
        "--min-span",
        min=1,
        help="Shortest copied run, in normalised characters, that is evidence (as check).",
    ),
    snapshot: Path | None = typer.Option(
        None,
        "--snapshot",
        help="Decide offline from this snapshot (consentry gate snapshot); send the "
        "manifest later with 'consentry manifest submit'.",
    ),
    signals: Path | None = typer.Option(
        None,
        "--signals",
        help="Folder mirroring the corpus's sites' robots.txt, .well-known/tdmrep.json and "
        "ai.txt, one folder per host; never fetched (a WARC's own are read too).",
    ),
    agent: str | None = typer.Option(
        None,
        "--agent",
        help="Your crawler's user-agent token: only its robots.txt rules bind you "
        "(default: every AI crawler's, the strictest).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Admit only what owners agreed to; write admitted/rejected items, a signed
    manifest, royalties and a summary. Interrupted? Run again with --resume.

    Against a served registry (CONSENTRY_REGISTRY), consent comes from a snapshot
    signed by the registry and kept up to date on this machine; the run's start and
    manifest are recorded there."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from consentry import app

    category = parse_category(purpose)
    engine_name = _parse_engine(engine, address)
    policy = app.gate_policy(
        parse_mode(mode), open_licences=open_licence, own_sources=own_source, agent=agent
    )
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = progress.add_task("gate: starting")
    started = time.monotonic()
    first_bytes: list[int] = []

    def show(stats: RunStats) -> None:
        # A resumed run starts with bytes already counted; the rate is this run's.
        if not first_bytes:
            first_bytes.append(stats.bytes)
        rate = (stats.bytes - first_bytes[0]) / 1e6 / max(time.monotonic() - started, 1e-9)
        progress.update(
            task,
            description=(
                f"gate: {stats.items:,} items, {stats.rejected:,} rejected, "
                f"{stats.bytes / 1e6:,.1f} MB at {rate:,.1f} MB/s"
            ),
        )

    with _gate_workspace(licensee, snapshot=snapshot, out=out_dir) as ws, progress:
        summary = app.run_gate(
            ws,
            corpus,
            out_dir,
            licensee_id=licensee,
            purpose=category,
            policy=policy,
            on_progress=show,
            compress=compress,
            resume=resume,
            checkpoint_every=checkpoint_every,
            workers=workers,
            shard_bytes=shard_mb << 20,
            engine=engine_name,
            address=address,
            index_shards=index_shards,
            min_span=min_span,
            signals=signals,
        )
    if as_json:
        print_json(summary)
        return
    _print_summary(summary, out_dir)


def _gate_workspace(
    licensee: str, *, snapshot: Path | None, out: Path
) -> AbstractContextManager[Workspace]:
    """Where the run reads consent (``consentry.client.gating.gate_workspace``)."""
    settings = cli_settings()
    if snapshot is None and not settings.registry_url:
        # The local registry, as gate_workspace opens it, without importing the HTTP
        # client and the snapshot code beside it (40 ms of every run's start).
        return workspace()
    from consentry.client.gating import gate_workspace

    return gate_workspace(settings, licensee, snapshot=snapshot, out=out)


@gate_app.command("merge")
def merge(
    folder: Path = typer.Argument(..., help="The pipeline step's output_folder."),
    licensee: str = typer.Option(..., "--licensee", help="Licensee id; its key signs."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Finish a run decided in parts that its last part did not merge.

    A datatrove job's last rank merges its ranks' parts into one signed manifest; if it
    stopped before doing so, this merges them, once every part has finished."""
    from consentry import app

    with workspace() as ws:
        summary = app.merge_gate_parts(ws, folder, licensee_id=licensee)
    if as_json:
        print_json(summary)
        return
    _print_summary(summary, folder)


def _print_summary(summary: dict[str, Any], out_dir: Path) -> None:
    decisions = summary["decisions"]
    admitted, rejected = decisions["admitted"], decisions["rejected"]
    out.print(f"{summary['items']:,} items: {admitted:,} admitted, {rejected:,} rejected")
    # An item can have several reasons, so these counts overlap: each says how many
    # rejected items have one, not a split of them.
    if summary["rejected_by_reason"]:
        out.print("rejected, by reason (an item can have several):")
    for reason, count in summary["rejected_by_reason"].items():
        out.print(f"  {_reason_line(reason)}: {count:,}")
    reservations = summary["reservations"]
    if reservations["honoured"]:
        out.print("reservations honoured (items rejected), by signal:")
    for signal, count in reservations["honoured"].items():
        out.print(f"  {signal}: {count:,}")
    if reservations["reported"]:
        out.print("reservation signals carried (reported beside each decision), by signal:")
    for signal, count in reservations["reported"].items():
        out.print(f"  {signal}: {count:,}")
    # As the run wrote it: a resumed run keeps the compression it began with.
    compressed = (out_dir / "admitted.jsonl.zst").exists()
    admitted_file = "admitted.jsonl.zst" if compressed else "admitted.jsonl"
    out.print(
        f"outputs in {out_dir}: {admitted_file}, rejected.jsonl, manifest.json, royalties.csv, "
        "summary.json"
    )
    if reused := summary["reused_ids"]["items"]:
        first = summary["reused_ids"]["first"][0]
        err.print(
            f"warning: {reused:,} item(s) reuse an earlier item's id (first: {first['id']!r} "
            f"at {first['source']}); each was decided on its content, but the outputs name "
            "items by id: give every item its own id before selecting by id",
            markup=False,
            soft_wrap=True,
        )


@gate_app.command("snapshot")
def snapshot(
    file: Path = typer.Argument(..., help="Snapshot file to fetch, or to bring up to date."),
    licensee: str = typer.Option(..., "--licensee", help="Licensee id; its key signs."),
) -> None:
    """Fetch the registry's signed snapshot for gating offline (gate run --snapshot);
    run again to fetch only what changed since. Needs CONSENTRY_REGISTRY."""
    from consentry.cli._common import remote_workspace
    from consentry.client.gating import fetch_snapshot
    from consentry.registry import PartyKind

    with remote_workspace() as ws:
        signer = ws.signer(licensee, PartyKind.LICENSEE)
        note = fetch_snapshot(ws.client, signer, file, licensee_id=licensee)
    what = "snapshot" if note.since == 0 else f"update from log entry {note.since:,}"
    out.print(f"{file}: {what} up to log entry {note.through:,}, signed by the registry's log")
