"""Ctrl-C as a terminal sends it: SIGINT to the whole process group, workers included.

Long work stops with one line (what was saved, and how to finish), no traceback from
the command or its workers, exit status 130; finishing it then loses nothing and
decides nothing twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import STDLIB
from tests.e2e.conftest import Cli, _entry_point
from tests.e2e.test_gate_cli import _check_outputs, _gate_args, _processes_running, _world


def _interrupt(
    command: list[str], env: dict[str, str], ready: Callable[[], bool]
) -> tuple[int, str]:
    """Start ``command`` in a session of its own, wait for ``ready()``, send SIGINT to
    its process group; its exit status and standard error."""
    process = subprocess.Popen(
        command,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not ready():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the command never got under way"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def test_ctrl_c_stops_a_gate_run_with_one_line_and_it_resumes(cli: Cli, tmp_path: Path) -> None:
    items = 3000
    lab, corpus = _world(cli, tmp_path, items)
    out = tmp_path / "out"
    args = [*_gate_args(corpus, lab, out), "--workers", "2", "--checkpoint-every", "40"]
    state = out / ".gate-state.json"

    def under_way() -> bool:
        return state.exists() and json.loads(state.read_text())["items"] >= 300

    code, stderr = _interrupt([_entry_point(), *args], cli.env, under_way)
    assert code == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    decided = json.loads(state.read_text())["items"]
    assert 300 <= decided < items, "interrupted mid-run"
    assert lines[0].startswith(f"interrupted: {decided:,} items decided and saved in {out}")
    assert lines[0].endswith("--resume"), lines[0]
    deadline = time.monotonic() + 10
    while _processes_running(out) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_running(out), "workers outlived the interrupted run"
    # The line's own command finishes the run.
    finish = lines[0].split("finish it with: consentry ", 1)[1].split()
    assert finish == [*args, "--resume"]
    cli(*finish)
    assert _check_outputs(out, items, corpus)["counts"]["items"] == items


def _documents(folder: Path, count: int) -> Path:
    """``count`` distinct files of real text: the standard library's modules in turn,
    each under a first line of its own. The whole standard library, site-packages
    included, is tens of thousands of files on some machines; this is a known number,
    enough that a registration is still under way when 600 of them are reported."""
    texts = [path.read_text("utf-8") for path in sorted(STDLIB.glob("*.py"))]
    folder.mkdir()
    for i in range(count):
        (folder / f"document-{i:04d}.txt").write_text(f"Document {i}.\n" + texts[i % len(texts)])
    return folder


def test_ctrl_c_stops_a_registration_and_a_rerun_registers_the_rest(
    cli: Cli, tmp_path: Path
) -> None:
    cli("init")
    owner = cli("owner", "create", "Ada", "--json").records()[0]["id"]
    folder = _documents(tmp_path / "documents", 2500)
    listing = tmp_path / "registered.jsonl"
    args = ["work", "register", str(folder), "--owner", owner, "--workers", "2", "--json"]
    with listing.open("w") as handle:
        process_env = {**cli.env, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [_entry_point(), *args],
            env=process_env,
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while listing.read_text().count("\n") < 600:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("interrupted: ") and "run the same command again" in lines[0]
    saved = {r["id"] for r in map(json.loads, listing.read_text().splitlines()) if "id" in r}
    listed = {w["id"] for w in cli("work", "list", "--owner", owner, "--json").records()}
    assert saved <= listed, "a file reported registered was not saved"
    rerun = cli(*args, expect=None).records()
    assert {r["id"] for r in rerun if r["status"] == "existing"} >= saved
    assert len({w["id"] for w in cli("work", "list", "--owner", owner, "--json").records()}) == len(
        {r["id"] for r in rerun if "id" in r}
    )


def test_a_killed_register_leaves_no_worker_behind(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    owner = cli("owner", "create", "Owner", "--json").records()[0]["id"]
    folder = tmp_path / "many"
    folder.mkdir()
    for n, source in enumerate(sorted(STDLIB.glob("*.py"))[:400]):
        (folder / f"{n:03}.py").write_bytes(source.read_bytes())
    command = [_entry_point(), "work", "register", str(folder), "--owner", owner, "--workers", "2"]
    process = subprocess.Popen(
        command, env=cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not _processes_running(folder):
        assert process.poll() is None and time.monotonic() < deadline, "never under way"
        time.sleep(0.05)
    # Under way: its workers are fingerprinting. Killed, they must not outlive it.
    while len(_pids_naming(folder)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while _pids_naming(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _pids_naming(folder) == [], "worker processes outlived the killed register"


def _pids_naming(folder: Path) -> list[int]:
    """Live processes whose command line names ``folder``, or whose parent does."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        state = next(line for line in status.splitlines() if line.startswith("State:"))
        if "Z" not in state.split()[1] and str(folder).encode() in cmdline:
            pids.append(int(proc.name))
    return pids
