"""The gate inside a real datatrove pipeline: reader, ``ConsentGate``, writer, run by
datatrove's own executor in worker processes."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from consentry.crypto import PublicKey, SignedEnvelope, canonical_json, verify_document
from consentry.errors import InputError
from consentry.log import leaf_hash, root_from_leaf_hashes
from consentry.store.models import EventRow
from tests.e2e.conftest import Cli
from tests.e2e.test_gate_cli import _world


def _written(folder: Path) -> list[dict[str, object]]:
    records = []
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as handle:
            records += [json.loads(line) for line in handle]
    return records


def test_a_pipeline_passes_on_only_admitted_documents_and_signs_one_manifest_for_the_job(
    cli: Cli, tmp_path: Path
) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    from consentry.pipeline.datatrove import ConsentGate

    lab, corpus = _world(cli, tmp_path, items=40)
    data = tmp_path / "data"
    data.mkdir()
    lines = corpus.read_text().splitlines()
    # Two input files, so two tasks each run a gate of their own.
    (data / "a.jsonl").write_text("\n".join(lines[:20]) + "\n")
    (data / "b.jsonl").write_text("\n".join(lines[20:]) + "\n")
    runs, admitted = tmp_path / "gate", tmp_path / "admitted"
    # What a rank that crashed before finishing leaves behind: replayed from scratch.
    (runs / "rank-00000").mkdir(parents=True)
    (runs / "rank-00000" / ".gate-state.json").write_text("{}")
    (runs / "rank-00000" / "rejected.jsonl").write_text('{"stale": true}\n' * 5)
    LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(data)),
            ConsentGate(
                licensee=lab, purpose="train-ai", output_folder=runs, home=cli.home, keys=cli.keys
            ),
            JsonlWriter(str(admitted)),
        ],
        tasks=2,
        workers=2,
        logging_dir=str(tmp_path / "logs"),
    ).run()

    passed = _written(admitted)
    # Per 5 records: the licensed GPL-3 copy and the CC0 item go on; the MPL excerpt
    # (no licence) and the unlicensed filler do not; the reader itself drops the record
    # with empty text, so each rank sees 16 documents.
    assert len(passed) == 16
    assert all(r["metadata"]["consentry"]["decision"] == "admitted" for r in passed)
    kinds = {b["kind"] for r in passed for b in r["metadata"]["consentry"]["basis"]}
    assert kinds == {"grant", "open-licence"}
    # One run for the whole job: one manifest, over both ranks' items, signed and logged.
    summary = json.loads((runs / "summary.json").read_text())
    signed = json.loads((runs / "manifest.json").read_text())
    body = signed["manifest"]
    envelope = SignedEnvelope(
        "training-manifest",
        canonical_json(body),
        signed["key_id"],
        base64.b64decode(signed["signature"]),
    )
    verify_document(envelope, PublicKey.from_hex(body["licensee_key"]))
    assert body["counts"] == {"items": 32, "admitted": 16, "rejected": 16}
    assert (
        summary["items"] == 32
        and body["run_id"] == json.loads((runs / "run.json").read_text())["run_id"]
    )
    rejected = (runs / "rejected.jsonl").read_text().splitlines()
    decisions = (runs / "admitted.jsonl").read_text().splitlines()
    assert (len(decisions), len(rejected)) == (16, 16)
    # The pipeline carries the content; the run keeps only the decisions.
    assert all("text" not in json.loads(line) for line in decisions)
    # Rank 0's decisions, then rank 1's: the order the Merkle root is taken in.
    sources = [json.loads(line)["id"] for line in decisions]
    assert len(set(sources)) == 16
    assert not list(runs.glob("rank-*")), "the parts are gone once merged"
    # The Merkle root is over every item of rank 0 (a.jsonl), then rank 1 (b.jsonl).
    texts = [
        record["text"]
        for name in ("a.jsonl", "b.jsonl")
        for record in map(json.loads, (data / name).read_text().splitlines())
        if record.get("text")
    ]
    leaves = [leaf_hash(hashlib.sha256(b"text\0" + t.encode()).digest()) for t in texts]
    assert body["items_merkle_root"] == root_from_leaf_hashes(leaves).hex()
    # The one manifest is on the registry's event log, under the job's run id.
    engine = create_engine(f"sqlite:///{cli.home / 'registry.db'}")
    with engine.connect() as connection:
        logged = list(
            connection.scalars(
                select(EventRow.subject_id).where(EventRow.kind == "manifest.recorded")
            )
        )
    engine.dispose()
    assert logged == [body["run_id"]]


def test_a_wrong_purpose_is_refused_when_the_pipeline_is_built(tmp_path: Path) -> None:
    from consentry.pipeline.datatrove import ConsentGate

    with pytest.raises(InputError, match="not a use category"):
        ConsentGate(licensee="lic_x", purpose="training", output_folder=tmp_path)


def test_a_job_stopped_before_its_merge_is_merged_by_the_command(cli: Cli, tmp_path: Path) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader

    from consentry.pipeline.datatrove import ConsentGate

    lab, corpus = _world(cli, tmp_path, items=20)
    data, runs = tmp_path / "data", tmp_path / "gate"
    data.mkdir()
    lines = corpus.read_text().splitlines()
    (data / "a.jsonl").write_text("\n".join(lines[:10]) + "\n")
    (data / "b.jsonl").write_text("\n".join(lines[10:]) + "\n")
    # As if the last rank was killed as it began merging: the claim is left behind.
    runs.mkdir()
    (runs / ".merge-claim").touch()
    LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(data)),
            ConsentGate(
                licensee=lab, purpose="train-ai", output_folder=runs, home=cli.home, keys=cli.keys
            ),
        ],
        tasks=2,
        workers=2,
        logging_dir=str(tmp_path / "logs"),
    ).run()
    assert not (runs / "manifest.json").exists()
    assert sorted(p.name for p in runs.glob("rank-*")) == ["rank-00000", "rank-00001"]

    other = cli("licensee", "create", "Other lab", "--json").records()[0]["id"]
    refused = cli("gate", "merge", str(runs), "--licensee", other, expect=2).stderr
    assert f"is licensee {lab}'s, not {other}'s" in refused
    (summary,) = cli("gate", "merge", str(runs), "--licensee", lab, "--json").records()
    assert summary["items"] == 16
    body = json.loads((runs / "manifest.json").read_text())["manifest"]
    assert body["counts"]["items"] == 16 and not list(runs.glob("rank-*"))
    again = cli("gate", "merge", str(runs), "--licensee", lab, expect=2).stderr
    assert "is merged already" in again
