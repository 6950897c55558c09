"""A witness run as its own process, a log asking it to cosign, and a proof that then
verifies only under a quorum that includes it: the commands a log operator and a
witness operator type."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli


@pytest.fixture
def witness_home(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "witness-home", keys=tmp_path / "witness-keys")


@pytest.fixture
def served(cli: Cli, witness_home: Cli, tmp_path: Path) -> Iterator[tuple[str, str]]:
    cli("init")
    command = [sys.executable, "-m", "consentry", "witness", "serve", "--port", "0"]
    command += ["--log", cli("log", "key").stdout.strip(), "--state", str(tmp_path / "w.db")]
    with (
        (tmp_path / "witness.log").open("w") as log,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True, env=witness_home.env
        ) as process,
    ):
        assert process.stdout is not None
        line = process.stdout.readline()
        assert " listening on http://127.0.0.1:" in line, (tmp_path / "witness.log").read_text()
        try:
            yield (
                line.split(" listening on ")[1].strip(),
                witness_home("witness", "key").stdout.strip(),
            )
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_a_checkpoint_cosigned_by_a_running_witness_satisfies_its_quorum(
    cli: Cli, served: tuple[str, str], tmp_path: Path
) -> None:
    url, witness_vkey = served
    cli("owner", "create", "Ada")
    first = cli("log", "witness", "--witness", f"{url} {witness_vkey}", "--json").records()[0]
    assert first["cosigned"] == 1 and first["refused"] == {}
    witness_name = witness_vkey.split("+")[0]
    assert f"\u2014 {witness_name} " in first["note"]
    cli("licensee", "create", "Lab")
    # A larger checkpoint: the witness must see a consistency proof from what it cosigned.
    second = cli("log", "witness", "--witness", f"{url} {witness_vkey}", "--json").records()[0]
    assert second["size"] > first["size"] and f"\u2014 {witness_name} " in second["note"]

    proof = tmp_path / "entry.tlog-proof"
    cli("log", "prove", "--index", "0", "--out", str(proof))
    cli("log", "verify-proof", str(proof), "--witness", witness_vkey)
    stranger = cli("witness", "key", "--name", "someone.else/w").stdout.strip()
    refused = cli(
        "log",
        "verify-proof",
        str(proof),
        "--witness",
        witness_vkey,
        "--witness",
        stranger,
        expect=1,
    )
    assert "1 of the 2 witness cosignatures" in refused.stderr
    cli(
        "log",
        "verify-proof",
        str(proof),
        "--witness",
        witness_vkey,
        "--witness",
        stranger,
        "--quorum",
        "1",
    )

    down = cli("log", "witness", "--witness", f"http://127.0.0.1:9 {witness_vkey}", expect=1)
    assert "cannot reach witness" in down.stderr and "0 of the 1 witnesses" in down.stderr
    bad = cli("log", "witness", "--witness", witness_vkey, expect=2)
    assert "is not 'URL VKEY'" in bad.stderr
