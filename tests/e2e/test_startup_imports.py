"""A command loads what it needs and nothing else, so that a small gate run starts
quickly (issue 24: a process's fixed cost): ``consentry gate run`` over the local
registry imports no other command's module, no HTTP client, no witness, and not
scipy's linear algebra (numba asks for it; no kernel needs it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import STDLIB
from tests.e2e.conftest import Cli

ROOT = Path(__file__).resolve().parents[2]
_IMPORTED = (
    "import json, sys\n"
    "from consentry.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(json.dumps([code, sorted(sys.modules)]))\n"
)
# Every command's module but the gate's.
_OTHER_COMMANDS = {
    f"consentry.cli.{name}"
    for name in (
        *("check", "demo", "license", "log", "manifest", "parties", "royalties"),
        *("serve", "signals", "summary", "terms", "witness", "works"),
    )
}


def _imported(cli: Cli, *args: str) -> tuple[int, set[str]]:
    """The exit status of ``consentry ARGS`` in a process of its own, and every module
    it imported."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTED, *args],
        cwd=ROOT,
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    code, modules = json.loads(done.stdout.splitlines()[-1])
    return code, set(modules)


def test_a_commands_help_loads_neither_other_commands_nor_the_database_nor_kernels(
    cli: Cli,
) -> None:
    code, modules = _imported(cli, "gate", "run", "--help")
    assert code == 0
    assert "consentry.cli.gate" in modules
    assert not modules & _OTHER_COMMANDS
    assert not {"numba", "sqlalchemy", "consentry.gate"} & modules


def test_a_local_gate_run_loads_no_http_client_witness_or_linear_algebra(
    cli: Cli, tmp_path: Path
) -> None:
    cli("init")
    owner = cli("owner", "create", "Owner", "--json").records()[0]["id"]
    lab = cli("licensee", "create", "Lab", "--json").records()[0]["id"]
    works = tmp_path / "works"
    works.mkdir()
    text = (STDLIB / "textwrap.py").read_text()
    (works / "textwrap.py").write_text(text)
    cli("work", "register", str(works), "--owner", owner)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "copy", "text": text}) + "\n")
    out = tmp_path / "out"
    args = ["gate", "run", str(corpus), "--licensee", lab, "--purpose", "train-ai"]
    code, modules = _imported(cli, *args, "--out", str(out), "--workers", "1")
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["decisions"] == {"admitted": 0, "rejected": 1}, "the copy was decided"
    assert not modules & _OTHER_COMMANDS
    assert not {"httpx", "consentry.client", "consentry.witness", "scipy.linalg"} & modules
