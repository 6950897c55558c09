"""``consentry gate run`` as a licensee runs it: outputs reconcile, the manifest is
signed and logged, royalties add up, and a run killed with SIGKILL resumes exactly."""

from __future__ import annotations

import base64
import csv
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import zstandard

from consentry.crypto import KeyPair, PublicKey, SignedEnvelope, canonical_json, verify_document
from consentry.log import NoteVerifier, leaf_hash, root_from_leaf_hashes
from tests.conftest import LICENSES, STDLIB
from tests.e2e.conftest import Cli

FILLER = (STDLIB / "textwrap.py").read_text()


def _licence(name: str) -> str:
    path = LICENSES / name
    return path.read_text() if path.is_file() else (STDLIB / "json" / "decoder.py").read_text()


def _world(cli: Cli, tmp_path: Path, items: int) -> tuple[str, Path]:
    cli("init")
    owner = cli("owner", "create", "Owner", "--json").records()[0]["id"]
    lab = cli("licensee", "create", "Lab", "--json").records()[0]["id"]
    works = tmp_path / "works"
    works.mkdir()
    for name in ("GPL-3", "MPL-2.0"):
        (works / name).write_text(_licence(name))
    registered = {
        r["path"]: r["id"]
        for r in cli("work", "register", str(works), "--owner", owner, "--json").records()
    }
    request = cli(
        "license",
        "request",
        "--licensee",
        lab,
        "--work",
        registered["works/GPL-3"],
        "--purpose",
        "train-ai",
        "--offer",
        "0.125 EUR",
        "--per",
        "1k-tokens",
        "--json",
    ).records()[0]
    cli("license", "grant", request["id"], "--owner", owner)
    corpus = tmp_path / "corpus.jsonl"
    mpl = " ".join(_licence("MPL-2.0").split())
    with corpus.open("w") as handle:
        for i in range(items):
            kind = i % 5
            record: dict[str, object] = {"id": f"d{i}"}
            if kind == 0:
                record["text"] = _licence("GPL-3")
            elif kind == 1:
                record["text"] = FILLER[:3000] + " " + mpl[4000:4400]
            elif kind == 2:
                record.update(
                    text=FILLER[i % 5000 : i % 5000 + 3000], metadata={"license": "CC0-1.0"}
                )
            elif kind == 3:
                record["text"] = FILLER[i % 5000 : i % 5000 + 3000]
            else:
                record["text"] = ""
            handle.write(json.dumps(record) + "\n")
    return lab, corpus


def _gate_args(corpus: Path, lab: str, out: Path) -> list[str]:
    return [
        "gate",
        "run",
        str(corpus),
        "--licensee",
        lab,
        "--purpose",
        "train-ai",
        "--out",
        str(out),
        "--zstd",
    ]


def _processes_running(out: Path) -> bool:
    """Whether any process still has ``out`` on its command line."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = next(
                line
                for line in (proc / "status").read_text().splitlines()
                if line.startswith("State:")
            )
        except (OSError, StopIteration):
            continue
        if str(out).encode() in cmdline and "Z" not in state.split()[1]:
            return True
    return False


def _lines(path: Path) -> list[dict[str, object]]:
    data = path.read_bytes()
    if path.suffix == ".zst":
        data = zstandard.ZstdDecompressor().stream_reader(data).read()
    return [json.loads(line) for line in data.decode().splitlines()]


def _check_outputs(out: Path, items: int, corpus: Path) -> dict[str, object]:
    admitted = _lines(out / "admitted.jsonl.zst")
    rejected = _lines(out / "rejected.jsonl")
    ids = [r["id"] for r in admitted] + [r["id"] for r in rejected]
    assert sorted(ids) == sorted(f"d{i}" for i in range(items)), "every item exactly once"
    assert {r["id"] for r in admitted} == {f"d{i}" for i in range(items) if i % 5 in (0, 2)}
    reasons = {r["id"]: r["reasons"][0]["match"] for r in rejected}
    assert all(
        reasons[f"d{i}"] == {1: "excerpt", 3: "unregistered", 4: "unreadable"}[i % 5]
        for i in range(items)
        if i % 5 in (1, 3, 4)
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["decisions"] == {"admitted": len(admitted), "rejected": len(rejected)}
    signed = json.loads((out / "manifest.json").read_text())
    manifest = signed["manifest"]
    assert manifest["counts"] == {
        "items": items,
        "admitted": len(admitted),
        "rejected": len(rejected),
    }
    key = PublicKey.from_hex(manifest["licensee_key"])
    envelope = SignedEnvelope(
        "training-manifest",
        canonical_json(manifest),
        signed["key_id"],
        base64.b64decode(signed["signature"]),
    )
    assert verify_document(envelope, key) == manifest
    # The Merkle root covers every item's digest, in corpus order.
    import hashlib

    texts = [json.loads(line).get("text", "") for line in corpus.read_text().splitlines()]
    digests = [
        hashlib.sha256(b"text\0" + t.encode()).digest()
        if t.strip()
        else hashlib.sha256(b"unreadable\0" + f"corpus.jsonl:{n}".encode()).digest()
        for n, t in enumerate(texts, start=1)
    ]
    assert (
        manifest["items_merkle_root"]
        == root_from_leaf_hashes([leaf_hash(d) for d in digests]).hex()
    )
    # Royalties reconcile with the manifest, to the cent and beyond.
    rows = list(csv.DictReader((out / "royalties.csv").read_text().splitlines()))
    (work,) = manifest["works"]
    assert (
        len(rows) == 1
        and rows[0]["work"] == work["work_id"]
        and Decimal(rows[0]["units"]) == Decimal(work["units"])
    )
    # Every row bills its units at its price, exactly, in the unit it names
    # (royalties_bill_what_was_used_in_the_unit_they_name).
    assert rows[0]["unit"] == "1k-tokens"
    assert Decimal(rows[0]["units"]) == Decimal(work["tokens"]) / 1000
    assert Decimal(rows[0]["amount"]) == Decimal(rows[0]["units"]) * Decimal(rows[0]["unit_price"])
    assert rows[0]["amount"] == work["amount"]
    assert rows[0]["title"] == work["title"] != "" and rows[0]["owner_name"] == work["owner_name"]
    assert manifest["royalties_total"] == {"EUR": rows[0]["amount"]}
    assert not (out / ".gate-state.json").exists()
    return manifest


def test_a_gate_run_reconciles(cli: Cli, tmp_path: Path) -> None:
    lab, corpus = _world(cli, tmp_path, 100)
    out = tmp_path / "out"
    started = time.monotonic()
    result = cli(*_gate_args(corpus, lab, out), "--checkpoint-every", "10", "--json")
    wall = time.monotonic() - started
    summary = result.records()[0]
    assert summary["items"] == 100
    # Regression: each checkpoint added the whole elapsed time again.
    assert 0 < summary["seconds"] <= wall
    _check_outputs(out, 100, corpus)
    again = cli(*_gate_args(corpus, lab, out), expect=2)
    assert "already holds a finished run" in again.stderr


def test_a_killed_run_resumes_with_every_item_decided_exactly_once(
    cli: Cli, tmp_path: Path
) -> None:
    items = 2500
    lab, corpus = _world(cli, tmp_path, items)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "consentry",
        *_gate_args(corpus, lab, out),
        "--checkpoint-every",
        "40",
    ]
    process = subprocess.Popen(
        command, env=cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    state = out / ".gate-state.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if state.exists() and json.loads(state.read_text())["items"] >= 400:
            break
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    if process.stderr is not None:
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    # No worker of the killed run may outlive it.
    deadline = time.monotonic() + 10
    while _processes_running(out) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_running(out), "orphaned worker processes"
    decided = json.loads(state.read_text())["items"]
    assert 400 <= decided < items, "killed mid-run"
    refused = cli(*command[3:], expect=2)
    assert "pass --resume" in refused.stderr
    # The run's moment is the registry's: a state moved back in time is refused.
    saved = state.read_text()
    edited = json.loads(saved)
    edited["started_at"] = "2020-01-01T00:00:00Z"
    state.write_text(json.dumps(edited))
    refused = cli(*command[3:], "--resume", expect=2)
    assert "but the registry recorded its start at" in refused.stderr
    state.write_text(saved)
    cli(*command[3:], "--resume")
    manifest = _check_outputs(out, items, corpus)
    assert manifest["counts"]["items"] == items


def test_gate_options(cli: Cli, tmp_path: Path) -> None:
    lab, corpus = _world(cli, tmp_path, 10)
    bad = cli(*_gate_args(corpus, lab, tmp_path / "o"), "--mode", "sometimes", expect=2)
    assert bad.stderr.strip() == "error: --mode 'sometimes' is not consent-only or opt-out"
    # --open-licence replaces the default list: CC0 items no longer have a basis.
    cli(*_gate_args(corpus, lab, tmp_path / "mit"), "--open-licence", "MIT")
    rejected = {
        r["id"]: r["reasons"][0]["match"] for r in _lines(tmp_path / "mit" / "rejected.jsonl")
    }
    assert rejected["d2"] == rejected["d7"] == "unregistered"


def test_workers_give_exactly_the_outputs_of_one_process(cli: Cli, tmp_path: Path) -> None:
    lab, corpus = _world(cli, tmp_path, 300)
    runs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}"
        cli(*_gate_args(corpus, lab, out), "--workers", workers)
        manifest = _check_outputs(out, 300, corpus)
        runs[workers] = (
            {k: manifest[k] for k in ("counts", "works", "items_merkle_root", "royalties_total")},
            _lines(out / "admitted.jsonl.zst"),
            _lines(out / "rejected.jsonl"),
            (out / "royalties.csv").read_text(),
        )
    assert runs["1"] == runs["2"]


def test_an_owner_finds_and_proves_offline_where_a_work_was_used(cli: Cli, tmp_path: Path) -> None:
    lab, corpus = _world(cli, tmp_path, 20)
    cli(*_gate_args(corpus, lab, tmp_path / "out"))
    (owner,) = [r["id"] for r in cli("owner", "list", "--json").records()]
    vkey = cli("log", "key").stdout.strip()
    name, key_id, _ = vkey.split("+", 2)
    assert name.startswith("consentry.log/") and len(key_id) == 8
    proofs = tmp_path / "proofs"
    (found,) = cli("usage", "--owner", owner, "--out", str(proofs), "--json").records()
    assert found["licensee_id"] == lab
    # Named as the owner knows them: the work's title, the licensee's name.
    assert (found["title"], found["licensee_name"]) == ("GPL-3", "Lab")
    (line,) = cli("usage", "--owner", owner).stdout.splitlines()
    assert f"{found['work_id']} (GPL-3) used in run {found['run_id']} by Lab ({lab})" in line
    # The owner's statement from the registry alone is the one the run folder gives.
    from_log = cli("royalties", "statement", "--owner", owner, "--json").records()[0]
    from_run = cli(
        "royalties", "statement", "--owner", owner, str(tmp_path / "out"), "--json"
    ).records()[0]
    assert from_log == from_run
    assert from_log["totals"] == {"EUR": found["billed"]["amount"]} != {}
    proof = Path(str(found["proof_file"]))
    checked = cli("usage", "verify", str(proof), "--log-key", vkey, "--json").records()[0]
    assert checked["verified"] is True
    # Another work's id in the same proof, or another log's key: not verified.
    forged = json.loads(proof.read_text())
    forged["work_id"] = "wrk_" + "a" * 16
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    refused = cli("usage", "verify", str(tmp_path / "forged.json"), "--log-key", vkey, expect=1)
    assert "not in this manifest" in refused.stderr
    mangled = vkey.replace(f"+{key_id}+", "+00000000+")
    refused = cli("usage", "verify", str(proof), "--log-key", mangled, expect=2)
    assert "key id does not match" in refused.stderr
    other = NoteVerifier(name, KeyPair.generate().public).vkey()
    cli("usage", "verify", str(proof), "--log-key", other, expect=1)

    # The whole log, from the database and from published tiles, with the key alone.
    size = cli("log", "checkpoint", "--json").records()[0]["size"]
    assert cli("log", "verify", "--json").records()[0]["entries"] == size
    tiles = tmp_path / "tiles"
    cli("log", "publish", str(tiles))
    offline = cli("log", "verify", "--from-tiles", str(tiles), "--log-key", vkey, "--json")
    assert offline.records()[0]["entries"] == size
    bundle = tmp_path / "entry.tlog-proof"
    cli("log", "prove", "--index", "0", "--out", str(bundle))
    assert bundle.read_text().startswith("c2sp.org/tlog-proof@v1\nextra ")
    cli("log", "verify-proof", str(bundle), "--log-key", vkey)
    lines = bundle.read_text().split("\n")
    lines[3] = "A" * 43 + "="  # one hash of the audit path replaced
    bundle.write_text("\n".join(lines))
    cli("log", "verify-proof", str(bundle), "--log-key", vkey, expect=1)


def test_a_run_with_reused_ids_says_so(cli: Cli, tmp_path: Path) -> None:
    lab, corpus = _world(cli, tmp_path, 10)
    lines = corpus.read_text().splitlines()
    corpus.write_text("\n".join([*lines, lines[3], lines[2]]) + "\n")
    result = cli(*_gate_args(corpus, lab, tmp_path / "out"))
    assert result.stderr.strip() == (
        "warning: 2 item(s) reuse an earlier item's id (first: 'd3' at corpus.jsonl:11); "
        "each was decided on its content, but the outputs name items by id: give every "
        "item its own id before selecting by id"
    )
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["reused_ids"]["items"] == 2


def test_a_failed_run_does_not_block_its_own_retry(cli: Cli, tmp_path: Path) -> None:
    lab, corpus = _world(cli, tmp_path, 10)
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\x7fELF\x00\x00" * 100)
    made, given = tmp_path / "made", tmp_path / "given"
    given.mkdir()
    for out in (made, given):
        failed = cli(*_gate_args(binary, lab, out), expect=2)
        assert "is binary, not JSON Lines" in failed.stderr
        binary.write_bytes(corpus.read_bytes())  # the user mends the file
        cli(*_gate_args(binary, lab, out))
        assert json.loads((out / "summary.json").read_text())["items"] == 10
        binary.write_bytes(b"\x7fELF\x00\x00" * 100)
    # The folder a failed run was given stays, emptied; the one it made is gone.
    cli(*_gate_args(binary, lab, given / "again"), expect=2)
    assert not (given / "again").exists()
