"""``consentry check`` and ``consentry sketch ...``: may this output be published?

Exit status: 0 publishable (nothing found, or every finding clear, to attribute or
licensed), 1 a finding blocks publication, 2 a usage or input error, never a wrong
"clear"."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from consentry.check import Checker, CheckReport, RegistryNotices, Sketch, Verdict
from consentry.check.export import export_sketch, export_update
from consentry.cli._common import key_store, load_key, out, print_json, registry_session, settings
from consentry.cli.log import LOG_KEY, log_identity
from consentry.errors import InputError
from consentry.gate.index_store import current_index
from consentry.log import NoteVerifier
from consentry.log.note import Checkpoint, signature_lines

__all__ = ["check", "sketch_app"]

sketch_app = typer.Typer(
    help="The offline sketch: check outputs with no database and no network.",
    no_args_is_help=True,
)


_SKETCH_KEY = typer.Option(
    None, "--log-key", help="Verifier key of the registry that signed the sketch."
)


def _sketch_verifier(vkey: str | None) -> NoteVerifier:
    if vkey is not None:
        return NoteVerifier.from_vkey(vkey)
    if key_store().has(LOG_KEY):
        origin, key = log_identity()
        return NoteVerifier(origin, key.public)
    raise InputError(
        "give --log-key VKEY: the verifier key of the registry that signed the sketch "
        "(it prints it with 'consentry log key')"
    )


def _read(path: str) -> tuple[str, bytes]:
    if path == "-":
        return "-", sys.stdin.buffer.read()
    try:
        return path, Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path} ({exc.strerror}); give a file to check") from exc


def _print(report: CheckReport) -> None:
    if not report.findings:
        out.print(f"{report.name}: clear (no registered work found)", markup=False)
        return
    out.print(f"{report.name}: {report.verdict.value}", markup=False)
    for finding in report.findings:
        where = ", ".join(f"characters {s}-{e}" for s, e in finding.spans) or "whole image"
        out.print(
            f"  {finding.verdict.value:<9} {finding.work_id} by {finding.owner_name} "
            f"({finding.kind.value}, {where}, {finding.length} characters): {finding.reason}",
            markup=False,
        )
    for text in report.attributions():
        out.print(f"  attribution to publish with it: {text}", markup=False)


def check(
    files: list[str] = typer.Argument(..., help="Files to check ('-' reads stdin)."),
    sketch: Path | None = typer.Option(
        None, "--sketch", help="Check offline against this sketch (no database needed)."
    ),
    vkey: str | None = _SKETCH_KEY,
    licensee: str | None = typer.Option(
        None, "--licensee", help="Count your grants (database only; uses your key)."
    ),
    min_span: int = typer.Option(
        200, "--min-span", help="Shortest reproduced run, in normalised characters, to report."
    ),
    name: str = typer.Option(
        "stdin.txt", "--name", help="File name for stdin (its extension says code)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON report per file."),
) -> None:
    """Does an output reproduce a registered work, and may it be published? Exit 0
    publishable, 1 blocked, 2 usage or input error."""
    inputs = [_read(path) for path in files]
    reports = []
    if sketch is not None:
        checker = Checker.offline(sketch, _sketch_verifier(vkey).vkey(), min_span=min_span)
        reports = [checker.check_bytes(d, name=name if p == "-" else p) for p, d in inputs]
    else:
        with registry_session() as registry:
            index = current_index(registry, settings().home / "index")
            key = load_key(licensee) if licensee is not None else None
            notices = RegistryNotices(registry, licensee_id=licensee, key=key)
            checker = Checker(index, notices, min_span=min_span)
            reports = [checker.check_bytes(d, name=name if p == "-" else p) for p, d in inputs]
    for report in reports:
        if as_json:
            print_json(report.to_json())
        else:
            _print(report)
    if any(report.verdict is Verdict.BLOCKED for report in reports):
        raise typer.Exit(1)


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def _read_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path} ({exc.strerror})") from exc


@sketch_app.command("export")
def export(
    out_file: Path = typer.Option(..., "--out", help="Where to write the sketch."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write a signed sketch of every registered work, tied to the latest checkpoint:
    fingerprints, band keys and terms, none of the works' content."""
    origin, log_key = log_identity()
    with registry_session() as registry:
        made, data = export_sketch(registry, log_key, origin)
    _write(out_file, data)
    record = {
        "sketch": str(out_file),
        "works": len(made.work_notices),
        "bytes": len(data),
        "checkpoint_size": Checkpoint.parse(signature_lines(made.checkpoint)[0]).size,
    }
    if as_json:
        print_json(record)
    else:
        out.print(
            f"sketch of {record['works']} works ({record['bytes']} bytes) at log size "
            f"{record['checkpoint_size']} in {out_file}",
            markup=False,
        )


@sketch_app.command("update")
def update(
    sketch: Path = typer.Argument(..., help="The sketch file to bring up to date."),
    from_file: Path | None = typer.Option(
        None, "--from", help="Apply this update file (from the registry) to the sketch."
    ),
    out_file: Path | None = typer.Option(
        None, "--out", help="At the registry: write the update here instead of applying it."
    ),
    vkey: str | None = _SKETCH_KEY,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Add only what changed since the sketch's checkpoint: works registered since and
    the terms that changed. At the registry it is made from the database; elsewhere
    apply the update file the registry publishes (--from)."""
    current = _read_file(sketch, "sketch")
    log = _sketch_verifier(vkey)
    if from_file is not None:
        combined = Sketch.apply(current, _read_file(from_file, "update"), log)
        _write(sketch, combined)
        loaded = Sketch.from_bytes(combined, log, source=str(sketch))
        record: dict[str, object] = {
            "sketch": str(sketch),
            "works": len(loaded.work_notices),
            "checkpoint_size": Checkpoint.parse(signature_lines(loaded.checkpoint)[0]).size,
        }
    else:
        base = Sketch.from_bytes(current, log, source=str(sketch))
        origin, log_key = log_identity()
        with registry_session() as registry:
            made = export_update(registry, base, log_key, origin)
        if out_file is not None:
            _write(out_file, made.data)
        else:
            _write(sketch, Sketch.apply(current, made.data, log))
        record = {
            "sketch": str(out_file or sketch),
            "new_works": made.new_works,
            "changed_notices": made.changed_notices,
            "checkpoint_size": made.size,
            "update_bytes": len(made.data),
        }
    if as_json:
        print_json(record)
    else:
        out.print(
            " ".join(f"{k.replace('_', ' ')}: {v};" for k, v in record.items()).rstrip(";"),
            markup=False,
        )
