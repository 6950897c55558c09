"""The public summary of a model's training content (AI Act art. 53(1)(d)), written
from the signed manifests of the gate runs it was trained on.

A manifest is only counted once it holds: its signature verifies against the key its
licensee registered (so no figure was edited after signing), and the registry's log
records that very manifest for its run, at an entry proven to be in a checkpoint the
log's key signed (so no figure rests on a run the public cannot see). Each run's
proof travels with the summary; anyone holding the log's key checks it offline
(``consentry log verify-proof``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from consentry.app.log import current_checkpoint, log_verifier, verify_proof
from consentry.app.public import run_certificate
from consentry.app.summary_declaration import ProviderDeclaration
from consentry.app.summary_figures import TrainingContentSummary, aggregate
from consentry.app.summary_manifest import LoggedManifest
from consentry.app.workspace import Workspace
from consentry.clock import utc_now
from consentry.crypto import PublicKey, SignedEnvelope, canonical_json, verify_document
from consentry.errors import ConfigurationError, InputError, NotFoundError, VerificationError
from consentry.log.leaf import Leaf
from consentry.registry import EventKind, PartyKind

__all__ = [
    "TrainingContentSummary",
    "logged_manifest",
    "read_signed_manifest",
    "summarise_manifests",
]


def read_signed_manifest(path: Path) -> tuple[Path, dict[str, Any], str, str]:
    """The manifest file at ``path`` (a ``manifest.json`` or the run folder holding
    it): (file, body, key id, signature). Raises ``InputError`` for a file that is not
    one a gate run writes."""
    target = path / "manifest.json" if path.is_dir() else path
    try:
        data = json.loads(target.read_text("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read manifest {target} ({exc.strerror})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{target} is not a manifest: not JSON ({exc})") from exc
    body = data.get("manifest") if isinstance(data, dict) else None
    if (
        not isinstance(body, dict)
        or body.get("type") != "consentry.training-manifest"
        or not isinstance(body.get("run_id"), str)
        or not isinstance(data.get("signature"), str)
        or not isinstance(data.get("key_id"), str)
    ):
        raise InputError(
            f"{target} is not a signed training manifest; give the manifest.json a gate "
            "run wrote (or its --out folder)"
        )
    return target, body, str(data["key_id"]), str(data["signature"])


def _licensee_key(ws: Workspace, target: Path, body: dict[str, Any]) -> tuple[PublicKey, str]:
    """The key and name the registry records for the manifest's licensee."""
    licensee_id = str(body.get("licensee", ""))
    try:
        party = ws.party(licensee_id, PartyKind.LICENSEE)
    except (NotFoundError, InputError) as exc:
        raise VerificationError(
            f"{target} names licensee {licensee_id!r}, which this registry does not know "
            f"({exc}); summarise manifests of runs recorded on this registry"
        ) from exc
    return PublicKey.from_hex(party.public_key), party.name


def _verified_signature(
    target: Path, body: dict[str, Any], key_id: str, signature: str, key: PublicKey
) -> None:
    """Raise unless the licensee's registered key signed ``body`` as it is now."""
    run_id = body["run_id"]
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(f"{target}: the signature of run {run_id} is not base64") from None
    if body.get("licensee_key") != key.hex or key_id != key.key_id:
        raise VerificationError(
            f"{target} is signed with key {key_id}, not licensee {body.get('licensee')}'s "
            f"registered key {key.key_id}; use the manifest.json its gate run wrote"
        )
    try:
        verify_document(SignedEnvelope("training-manifest", canonical_json(body), key_id, raw), key)
    except VerificationError as exc:
        raise VerificationError(
            f"{target} does not verify against licensee {body.get('licensee')}'s key: the "
            f"manifest of run {run_id} was changed after it was signed; use the "
            "manifest.json its gate run wrote"
        ) from exc


def _on_the_log(
    ws: Workspace, target: Path, body: dict[str, Any], digest: str, licensee_name: str
) -> LoggedManifest:
    """The manifest as the log records it, proven in the current checkpoint. Raises
    ``VerificationError`` when the log records no manifest, or another, for the run."""
    run_id = str(body["run_id"])
    not_on_log = (
        f"{target}: the manifest of run {run_id} is not on this registry's log; a run made "
        "offline is recorded with 'consentry manifest submit', then summarised"
    )
    try:
        certificate = run_certificate(ws, run_id)
    except NotFoundError:
        raise VerificationError(not_on_log) from None
    if certificate.recorded is None or certificate.manifest is None:
        raise VerificationError(not_on_log)
    if certificate.licensee_id != body.get("licensee"):
        raise VerificationError(
            f"{target}: run {run_id} on the log is {certificate.licensee_id}'s, not "
            f"{body.get('licensee')}'s"
        )
    if canonical_json(certificate.manifest) != canonical_json(body):
        raise VerificationError(
            f"{target} is not the manifest the log records for run {run_id} (log entry "
            f"{certificate.recorded.index}); use the manifest.json its gate run wrote"
        )
    index = certificate.recorded.index
    bundle = ws.registry.log.prove(index, current_checkpoint(ws))
    proof = bundle.to_text()
    checked_bundle, checked = verify_proof(proof, log_verifier(ws), source=f"log entry {index}")
    leaf = Leaf.parse(checked_bundle.extra or b"")
    if leaf.event != EventKind.MANIFEST_RECORDED.value:
        raise VerificationError(
            f"log entry {index} records a {leaf.event} event, not run {run_id}'s manifest"
        )
    return LoggedManifest(
        file=str(target),
        body=body,
        digest=digest,
        licensee_name=licensee_name,
        log_index=index,
        recorded_at=certificate.recorded.at,
        checkpoint=checked,
        proof=proof,
    )


def logged_manifest(ws: Workspace, path: Path) -> LoggedManifest:
    """The manifest at ``path``, verified against its licensee's registered key and
    found, unchanged, on the registry's log with a proof against the current
    checkpoint. Raises ``InputError`` for a file that is no manifest and
    ``VerificationError`` for one that was changed or is not on the log."""
    target, body, key_id, signature = read_signed_manifest(path)
    key, licensee_name = _licensee_key(ws, target, body)
    _verified_signature(target, body, key_id, signature, key)
    digest = hashlib.sha256(canonical_json(body)).hexdigest()
    return _on_the_log(ws, target, body, digest, licensee_name)


def summarise_manifests(
    ws: Workspace, paths: Sequence[Path], declaration: ProviderDeclaration
) -> TrainingContentSummary:
    """The public summary of training content over the runs whose manifests ``paths``
    name (``manifest.json`` files or run folders), with the provider's declaration.

    Reads the registry where it is (``$CONSENTRY_HOME`` or ``$CONSENTRY_DATABASE_URL``):
    a run's manifest is found on the log by its recorded events, which a served
    registry does not hand out. Raises ``ConfigurationError`` when the workspace is a
    served registry's client, ``InputError`` for no manifests, one given twice, or one
    whose figures do not add up, and ``VerificationError`` (``logged_manifest``)."""
    if ws.settings.registry_url:
        raise ConfigurationError(
            "consentry summary reads each run's manifest on the registry's own log: run it "
            "where the registry's database is (CONSENTRY_HOME or CONSENTRY_DATABASE_URL), "
            "without CONSENTRY_REGISTRY"
        )
    if not paths:
        raise InputError("give at least one manifest.json (or gate run folder) to summarise")
    manifests: list[LoggedManifest] = []
    seen: dict[str, str] = {}
    for path in paths:
        manifest = logged_manifest(ws, path)
        if manifest.run_id in seen:
            raise InputError(
                f"{manifest.file} is run {manifest.run_id}'s manifest, given already as "
                f"{seen[manifest.run_id]}; give each run once"
            )
        seen[manifest.run_id] = manifest.file
        manifests.append(manifest)
    return aggregate(manifests, declaration, generated_at=utc_now())
