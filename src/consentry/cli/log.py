"""``consentry log ...`` and ``consentry usage ...``: the transparency log from the
command line: its key, checkpoints, offline verification, proofs, tiles, and where an
owner's works were used."""

from __future__ import annotations

from pathlib import Path

import typer

from consentry.cli._common import err, out, print_json, workspace
from consentry.errors import InputError, VerificationError

__all__ = ["log_app", "usage_app"]

log_app = typer.Typer(
    help="The transparency log: key, checkpoints, proofs, tiles, offline checks.",
    no_args_is_help=True,
)
usage_app = typer.Typer(
    help="Where an owner's works were used, with proofs checkable offline.",
    no_args_is_help=True,
    invoke_without_command=True,
)

_JSON = typer.Option(False, "--json", help="Print JSON records, one per line.")
_VKEY = typer.Option(
    None,
    "--log-key",
    help="The log's verifier key (name+keyid+key, from 'consentry log key'); "
    "default: this registry's own log key.",
)
_WITNESS_KEYS = typer.Option(
    None,
    "--witness",
    help="A witness's verifier key (from 'consentry witness key'); repeat for each "
    "witness of the quorum.",
)
_QUORUM = typer.Option(
    None, "--quorum", help="How many of the --witness keys must have cosigned (default: all)."
)


def _fail(message: str) -> None:
    err.print(f"not verified: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(1)


@log_app.command("key")
def key() -> None:
    """Print the log's verifier key, for witnesses and anyone checking its proofs."""
    from consentry import app

    with workspace() as ws:
        out.print(app.log_verifier(ws).vkey(), markup=False)


@log_app.command("checkpoint")
def checkpoint(as_json: bool = _JSON) -> None:
    """Sign a checkpoint over every event on the log (each is a leaf when it happens)
    and print it."""
    from consentry import app

    with workspace() as ws:
        signed = app.checkpoint(ws)
    if as_json:
        print_json(signed.to_json())
    else:
        out.print(signed.note, end="", markup=False)


@log_app.command("witness")
def witness(
    witnesses: list[str] = typer.Option(
        ...,
        "--witness",
        help="'URL VKEY': a witness's submission URL and verifier key (repeat for each).",
    ),
    quorum: int | None = _QUORUM,
    as_json: bool = _JSON,
) -> None:
    """Sign the latest checkpoint and ask each witness to cosign it; print it with the
    cosignatures. Exit 1 when fewer than the quorum cosigned."""
    from consentry import app

    with workspace() as ws:
        done = app.witness(ws, witnesses, quorum)
    for name, reason in done.refused.items():
        err.print(f"witness {name} did not cosign: {reason}", markup=False, soft_wrap=True)
    if as_json:
        print_json({**done.signed.to_json(), "cosigned": done.cosigned, "refused": done.refused})
    else:
        out.print(done.signed.note, end="", markup=False)
    if not done.quorum_met:
        err.print(f"{done.cosigned} of the {done.needed} witnesses needed cosigned", markup=False)
        raise typer.Exit(1)


@log_app.command("verify")
def verify(
    from_tiles: Path | None = typer.Option(
        None, "--from-tiles", help="Check a published tile folder instead of the database."
    ),
    vkey: str | None = _VKEY,
    as_json: bool = _JSON,
) -> None:
    """Check the whole log offline: every entry, every leaf's signature (database) or
    every tile (published folder), and every checkpoint against the tree."""
    from consentry import app

    try:
        with workspace() as ws:
            result = app.audit(ws, from_tiles=from_tiles, vkey=vkey)
    except VerificationError as exc:
        _fail(str(exc))
        return
    if as_json:
        print_json({"verified": True, **result})
    else:
        out.print(f"log verified: {result['entries']} entries", markup=False)


@log_app.command("prove")
def prove(
    event: int | None = typer.Option(None, "--event", help="The event's sequence number."),
    index: int | None = typer.Option(None, "--index", help="The entry's index in the log."),
    out_file: Path | None = typer.Option(
        None, "--out", help="Write the .tlog-proof file here (default: print it)."
    ),
) -> None:
    """Write a c2sp.org/tlog-proof@v1 for one entry against the latest checkpoint;
    'consentry log verify-proof' checks it with only the log's key."""
    from consentry import app

    with workspace() as ws:
        bundle = app.prove(ws, event=event, index=index)
    text = bundle.to_text()
    if out_file is None:
        out.print(text, end="", markup=False)
    else:
        out_file.write_text(text, "utf-8")
        of = f" (event {event})" if event is not None else ""
        out.print(f"proof of log entry {bundle.index}{of} in {out_file}", markup=False)


@log_app.command("verify-proof")
def verify_proof(
    proof_file: Path,
    vkey: str | None = _VKEY,
    witness_keys: list[str] | None = _WITNESS_KEYS,
    quorum: int | None = _QUORUM,
    as_json: bool = _JSON,
) -> None:
    """Check a .tlog-proof offline: the log signed the checkpoint, the witness quorum
    cosigned it (with --witness), and the entry (its extra data) is in its tree. Exit 0
    verified, 1 not."""
    from consentry import app

    text = _read(proof_file)
    policy = app.witness_policy(witness_keys, quorum)
    try:
        with workspace() as ws:
            bundle, checked = app.verify_proof(
                text, app.log_verifier(ws, vkey), witnesses=policy, source=str(proof_file)
            )
    except VerificationError as exc:
        _fail(str(exc))
        return
    if as_json:
        print_json({"verified": True, "index": bundle.index, "size": checked.size})
    else:
        out.print(f"verified: entry {bundle.index} is in {checked.origin} at size {checked.size}")


@log_app.command("publish")
def publish(folder: Path) -> None:
    """Write the log as C2SP tlog-tiles into FOLDER (servable by any static web
    server), checkpoint last; tiles already full are not rewritten."""
    from consentry import app

    with workspace() as ws:
        done = app.publish(ws, folder)
    out.print(f"published {done.entries} entries ({done.files} files) to {folder}", markup=False)


@usage_app.callback()
def usage(
    ctx: typer.Context,
    owner: str | None = typer.Option(None, "--owner", help="The owner whose works to look up."),
    out_dir: Path | None = typer.Option(
        None, "--out", help="Write one usage proof per finding into this folder."
    ),
    as_json: bool = _JSON,
) -> None:
    """List every training manifest on the log that lists one of the owner's works,
    with proofs ('consentry usage verify FILE' checks one offline)."""
    from consentry import app

    if ctx.invoked_subcommand is not None:
        return
    if owner is None:
        raise InputError("give --owner ID (or 'consentry usage verify FILE')")
    with workspace() as ws:
        signed, found = app.usage(ws, owner)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    for used in found:
        path = None
        if out_dir is not None:
            path = out_dir / f"{used.work_id}.{used.run_id}.usage.json"
            path.write_text(used.proof.to_json(), "utf-8")
        if as_json:
            record = used.to_json()
            del record["proof"]
            print_json(
                {
                    **record,
                    "checkpoint_size": signed.checkpoint.size,
                    "proof_file": str(path) if path else None,
                }
            )
        else:
            title = f" ({used.title})" if used.title else ""
            by = (
                f"{used.licensee_name} ({used.licensee_id})"
                if used.licensee_name
                else used.licensee_id
            )
            out.print(
                f"{used.work_id}{title} used in run {used.run_id} by {by} "
                f"(log entry {used.log_index})",
                markup=False,
            )
    if not found and not as_json:
        out.print(f"no manifest on the log lists a work of {owner}", markup=False)


@usage_app.command("verify")
def usage_verify(
    proof_file: Path,
    vkey: str | None = _VKEY,
    witness_keys: list[str] | None = _WITNESS_KEYS,
    quorum: int | None = _QUORUM,
    as_json: bool = _JSON,
) -> None:
    """Check a usage proof offline: the work's commitment is in the manifest's tree,
    the manifest is on the log, the log signed the checkpoint and (with --witness) the
    quorum cosigned it. Exit 0 verified, 1 not."""
    from consentry import app

    text = _read(proof_file)
    policy = app.witness_policy(witness_keys, quorum)
    try:
        with workspace() as ws:
            proof, checked = app.verify_usage_proof(
                text, app.log_verifier(ws, vkey), witnesses=policy
            )
    except VerificationError as exc:
        _fail(str(exc))
        return
    if as_json:
        print_json({"verified": True, "work_id": proof.work_id, "size": checked.size})
    else:
        out.print(
            f"verified: work {proof.work_id} is listed by the manifest at log entry "
            f"{proof.log_proof.index} (checkpoint of {checked.size})",
            markup=False,
        )


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} ({exc}); give a proof file consentry wrote") from exc
