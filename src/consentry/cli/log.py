"""``consentry log ...`` and ``consentry usage ...``: the transparency log from the
command line: its key, checkpoints, offline verification, proofs, tiles, and where an
owner's works were used."""

from __future__ import annotations

from pathlib import Path

import typer

from consentry.cli._common import err, key_store, out, print_json, registry_session
from consentry.crypto import KeyPair
from consentry.errors import InputError, VerificationError
from consentry.log import NoteVerifier, WitnessKey, WitnessPolicy
from consentry.log.bundle import ProofBundle, UsageProof
from consentry.log.note import Checkpoint
from consentry.log.proofs import MerkleTree
from consentry.log.tiles import fsck, write_tiles
from consentry.log.tree import leaf_hash
from consentry.registry.transparency import SignedCheckpoint
from consentry.witness import WitnessEndpoint

__all__ = ["LOG_KEY", "log_app", "usage_app"]

LOG_KEY = "log"

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


def _policy(witness_keys: list[str] | None, quorum: int | None) -> WitnessPolicy | None:
    if not witness_keys:
        if quorum is not None:
            raise InputError("--quorum needs the witnesses' keys: give --witness VKEY for each")
        return None
    keys = tuple(WitnessKey.from_vkey(v) for v in witness_keys)
    return WitnessPolicy(keys, len(keys) if quorum is None else quorum)


def log_identity() -> tuple[str, KeyPair]:
    """The log's origin and signing key: the origin names the key, so two registries'
    logs never share one."""
    key = key_store().load(LOG_KEY)
    return f"consentry.log/{key.public.key_id}", key


def _verifier(vkey: str | None) -> NoteVerifier:
    if vkey is not None:
        return NoteVerifier.from_vkey(vkey)
    origin, key = log_identity()
    return NoteVerifier(origin, key.public)


def _fail(message: str) -> None:
    err.print(f"not verified: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(1)


def _checkpoint_record(signed: SignedCheckpoint) -> dict[str, object]:
    return {
        "origin": signed.checkpoint.origin,
        "size": signed.checkpoint.size,
        "root": signed.checkpoint.root.hex(),
        "note": signed.note,
    }


@log_app.command("key")
def key() -> None:
    """Print the log's verifier key, for witnesses and anyone checking its proofs."""
    out.print(_verifier(None).vkey(), markup=False)


@log_app.command("checkpoint")
def checkpoint(as_json: bool = _JSON) -> None:
    """Put every new event on the log and print the latest signed checkpoint."""
    origin, log_key = log_identity()
    with registry_session() as registry:
        signed = registry.log.checkpoint(log_key, origin)
    if as_json:
        print_json(_checkpoint_record(signed))
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
    endpoints = [WitnessEndpoint.parse(text) for text in witnesses]
    needed = len(endpoints) if quorum is None else quorum
    if not 1 <= needed <= len(endpoints):
        raise InputError(f"--quorum {needed} needs between 1 and {len(endpoints)} witnesses")
    origin, log_key = log_identity()
    with registry_session() as registry:
        signed = registry.log.checkpoint(log_key, origin)
        signed, refused = registry.log.witness(signed, endpoints)
    for name, reason in refused.items():
        err.print(f"witness {name} did not cosign: {reason}", markup=False, soft_wrap=True)
    cosigned = len(endpoints) - len(refused)
    if as_json:
        print_json({**_checkpoint_record(signed), "cosigned": cosigned, "refused": refused})
    else:
        out.print(signed.note, end="", markup=False)
    if cosigned < needed:
        err.print(f"{cosigned} of the {needed} witnesses needed cosigned", markup=False)
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
    log = _verifier(vkey)
    try:
        if from_tiles is not None:
            checked = fsck(from_tiles, log)
            result: dict[str, object] = {"entries": checked.size, "root": checked.root.hex()}
        else:
            with registry_session() as registry:
                result = dict(registry.log.audit(log))
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
    if (event is None) == (index is None):
        raise InputError("give exactly one of --event SEQ or --index N")
    origin, log_key = log_identity()
    with registry_session() as registry:
        signed = registry.log.checkpoint(log_key, origin)
        where = registry.log.index_of_event(event) if event is not None else int(index or 0)
        bundle = registry.log.prove(where, signed)
    text = bundle.to_text()
    if out_file is None:
        out.print(text, end="", markup=False)
    else:
        out_file.write_text(text, "utf-8")
        out.print(f"proof of entry {where} in {out_file}", markup=False)


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
    bundle = ProofBundle.parse(_read(proof_file))
    if bundle.extra is None:
        raise InputError(f"{proof_file} carries no entry (extra line); prove it with consentry")
    policy = _policy(witness_keys, quorum)
    try:
        checked = bundle.verify(_verifier(vkey), bundle.extra, witnesses=policy)
    except VerificationError as exc:
        _fail(str(exc))
        return
    _print_verified(checked, bundle.index, as_json)


@log_app.command("publish")
def publish(folder: Path) -> None:
    """Write the log as C2SP tlog-tiles into FOLDER (servable by any static web
    server), checkpoint last; tiles already full are not rewritten."""
    origin, log_key = log_identity()
    since = 0
    if (folder / "checkpoint").is_file():
        since = Checkpoint.parse(_read(folder / "checkpoint").split("\n\n")[0] + "\n").size
    with registry_session() as registry:
        signed = registry.log.checkpoint(log_key, origin)
        entries = [data for _, data in registry.log.entries(0, signed.checkpoint.size)]
    tree = MerkleTree([leaf_hash(e) for e in entries])
    written = write_tiles(folder, tree, entries, signed.note, since=min(since, tree.size))
    out.print(f"published {tree.size} entries ({written} files) to {folder}", markup=False)


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
    if ctx.invoked_subcommand is not None:
        return
    if owner is None:
        raise InputError("give --owner ID (or 'consentry usage verify FILE')")
    origin, log_key = log_identity()
    with registry_session() as registry:
        signed = registry.log.checkpoint(log_key, origin)
        found = registry.log.usage(owner, signed)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    for usage_found in found:
        path = None
        if out_dir is not None:
            path = out_dir / f"{usage_found.work_id}.{usage_found.run_id}.usage.json"
            path.write_text(usage_found.proof.to_json(), "utf-8")
        record = {
            "work_id": usage_found.work_id,
            "run_id": usage_found.run_id,
            "licensee_id": usage_found.licensee_id,
            "log_index": usage_found.log_index,
            "checkpoint_size": signed.checkpoint.size,
            "proof_file": str(path) if path else None,
        }
        if as_json:
            print_json(record)
        else:
            out.print(
                f"{usage_found.work_id}  used in run {usage_found.run_id} by "
                f"{usage_found.licensee_id} (log entry {usage_found.log_index})",
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
    proof = UsageProof.parse(_read(proof_file))
    policy = _policy(witness_keys, quorum)
    try:
        _, checked = proof.verify(_verifier(vkey), witnesses=policy)
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


def _print_verified(checked: Checkpoint, index: int, as_json: bool) -> None:
    if as_json:
        print_json({"verified": True, "index": index, "size": checked.size})
    else:
        out.print(f"verified: entry {index} is in {checked.origin} at size {checked.size}")


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} ({exc}); give a proof file consentry wrote") from exc
