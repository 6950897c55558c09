"""A plain JSON Lines corpus of several shards decided by worker processes, shard by
shard (the local engine): the same outputs, byte for byte, and the same manifest as one
process makes; killed or interrupted, it resumes with every item decided exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import zstandard

from tests.e2e.conftest import Cli, _entry_point
from tests.e2e.test_gate_cli import _check_outputs, _gate_args, _processes_running, _world

ITEMS = 400  # about 4 MB: four shards of 1 MB


def _plain(path: Path) -> bytes:
    return zstandard.ZstdDecompressor().stream_reader(path.read_bytes()).read()


def _same_run(one: Path, sharded: Path) -> None:
    assert _plain(one / "admitted.jsonl.zst") == _plain(sharded / "admitted.jsonl.zst")
    assert (one / "rejected.jsonl").read_bytes() == (sharded / "rejected.jsonl").read_bytes()
    assert (one / "royalties.csv").read_bytes() == (sharded / "royalties.csv").read_bytes()
    first = json.loads((one / "manifest.json").read_text())["manifest"]
    second = json.loads((sharded / "manifest.json").read_text())["manifest"]
    for name in ("items_merkle_root", "corpus_digest", "counts", "works", "sources"):
        assert first[name] == second[name], name
    assert sorted(p.name for p in sharded.iterdir()) == sorted(p.name for p in one.iterdir())


def test_shards_decided_by_workers_make_the_run_one_process_makes(cli: Cli, tmp_path: Path) -> None:
    lab, corpus = _world(cli, tmp_path, ITEMS)
    assert corpus.stat().st_size > 3 << 20
    one, sharded = tmp_path / "one", tmp_path / "sharded"
    cli(*_gate_args(corpus, lab, one), "--workers", "1")
    cli(*_gate_args(corpus, lab, sharded), "--workers", "2", "--shard-mb", "1")
    _check_outputs(sharded, ITEMS, corpus)
    _same_run(one, sharded)


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [_entry_point(), *args],
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _when_a_shard_is_done(process: subprocess.Popen[str], out: Path) -> None:
    deadline = time.monotonic() + 120
    while not list((out / "parts").glob("*/part.done")):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "no shard was ever decided"
        time.sleep(0.02)


def test_a_killed_sharded_run_resumes_deciding_every_item_once(cli: Cli, tmp_path: Path) -> None:
    lab, corpus = _world(cli, tmp_path, ITEMS)
    one, out = tmp_path / "one", tmp_path / "out"
    cli(*_gate_args(corpus, lab, one), "--workers", "1")
    args = [*_gate_args(corpus, lab, out), "--workers", "2", "--shard-mb", "1"]
    process = _start(args, cli.env)
    _when_a_shard_is_done(process, out)
    os.kill(process.pid, signal.SIGKILL)  # the main process only: its workers must notice
    process.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while _processes_running(out) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_running(out), "workers outlived the killed run"
    assert not (out / "manifest.json").exists()
    cli(*args, "--resume")
    _check_outputs(out, ITEMS, corpus)
    _same_run(one, out)


def test_ctrl_c_stops_a_sharded_run_with_one_line_and_it_resumes(cli: Cli, tmp_path: Path) -> None:
    lab, corpus = _world(cli, tmp_path, ITEMS)
    out = tmp_path / "out"
    args = [*_gate_args(corpus, lab, out), "--workers", "2", "--shard-mb", "1"]
    process = _start(args, cli.env)
    _when_a_shard_is_done(process, out)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "shards decided and saved in" in lines[0] and lines[0].endswith("--resume")
    finish = lines[0].split("finish it with: consentry ", 1)[1].split()
    cli(*finish)
    _check_outputs(out, ITEMS, corpus)
    refused = cli(*args, expect=2).stderr
    assert "already holds a finished run" in refused
