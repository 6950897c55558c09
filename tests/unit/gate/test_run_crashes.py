"""Crash gaps of a gate run (issue 20, point 6): a run killed before its first
checkpoint resumes, and one that stops between recording its manifest and writing it
out records the same signed manifest again on --resume, never a second one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from consentry.gate.run import GateRun, run_gate
from tests.unit.gate.offline_run import KEY, settings, unregistered_gate


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"id": f"d{i}", "text": f"item {i} " * 40}) + "\n" for i in range(30))
    )
    return corpus


def test_a_run_killed_before_its_first_checkpoint_resumes(tmp_path: Path) -> None:
    corpus, out = _corpus(tmp_path), tmp_path / "out"
    # Opened and then killed: nothing decided (the files closed as a killed process's are).
    opened = GateRun(
        settings(corpus, out),
        gate_for=unregistered_gate,
        key=KEY,
        index_digest="0" * 64,
        record_manifest=lambda body, signature: None,
    )
    opened.close()
    summary = run_gate(
        settings(corpus, out, resume=True),
        gate_for=unregistered_gate,
        key=KEY,
        index_digest="0" * 64,
        record_manifest=lambda body, signature: None,
    )
    assert summary["items"] == 30


def test_a_run_stopped_after_recording_its_manifest_records_the_same_one_again(
    tmp_path: Path,
) -> None:
    corpus, out = _corpus(tmp_path), tmp_path / "out"
    recorded: list[tuple[dict[str, Any], str]] = []

    def record_then_die(body: dict[str, Any], signature: str) -> None:
        recorded.append((body, signature))
        raise RuntimeError("killed after recording")

    with pytest.raises(RuntimeError):
        run_gate(
            settings(corpus, out),
            gate_for=unregistered_gate,
            key=KEY,
            index_digest="0" * 64,
            record_manifest=record_then_die,
        )
    assert not (out / "manifest.json").exists()
    run_gate(
        settings(corpus, out, resume=True),
        gate_for=unregistered_gate,
        key=KEY,
        index_digest="0" * 64,
        record_manifest=lambda body, signature: recorded.append((body, signature)),
    )
    assert len(recorded) == 2 and recorded[0] == recorded[1]
    written = json.loads((out / "manifest.json").read_text())
    assert written["signature"] == recorded[0][1]
    assert sorted(p.name for p in out.iterdir()) == [
        "admitted.jsonl",
        "manifest.json",
        "rejected.jsonl",
        "royalties.csv",
        "summary.json",
    ]
