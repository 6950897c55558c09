"""``consentry summary`` as a provider runs it on the manifests of real gate runs: its
figures reconcile with the manifests (items, admitted content by basis, crawled
domains, reservations honoured), its Markdown follows the template's headings in
order, its JSON matches the schema shipped in the package, every run's proof verifies
with only the log's key, and a manifest edited after signing, or not on the log, or
written before manifests recorded their sources, is refused or said to lack them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from consentry.app.summary_template import SECTIONS
from consentry.crypto import FileKeyStore, canonical_json, sign_document
from tests.conftest import LICENSES, STDLIB
from tests.e2e.conftest import Cli

WORDS = (STDLIB / "textwrap.py").read_text().split() + (STDLIB / "string.py").read_text().split()


def _licence(name: str) -> str:
    """A licence's text from this machine; else a standard-library module, a different
    one for each licence, so that the two registered works never share a text."""
    path = LICENSES / name
    fallback = {"GPL-3": "decoder.py", "MPL-2.0": "encoder.py"}[name]
    return path.read_text() if path.is_file() else (STDLIB / "json" / fallback).read_text()


def _text(n: int, length: int = 60) -> str:
    """Prose no registered work holds, different for every ``n``."""
    start = (n * 53) % (len(WORDS) - length)
    return f"item {n}: " + " ".join(WORDS[start : start + length])


@dataclass
class World:
    cli: Cli
    lab: str
    runs: list[Path]
    tmp: Path


def _corpus_opt_out(path: Path) -> None:
    """Items admitted on every basis, from several sites, and items whose reservation
    signals an opt-out run honours."""
    records: list[dict[str, Any]] = [
        {
            "id": "granted",
            "text": _licence("GPL-3"),
            "metadata": {"url": "https://books.example/gpl"},
        },
        {
            "id": "termed",
            "text": _licence("MPL-2.0"),
            "metadata": {"url": "https://books.example/mpl"},
        },
        {"id": "own", "text": _text(1), "metadata": {"source": "ours"}},
    ]
    for n in range(4):
        records.append(
            {
                "id": f"open{n}",
                "text": _text(10 + n),
                "metadata": {"license": "CC0-1.0", "url": f"https://open.example/{n}"},
            }
        )
    for n in range(8):
        site = ("news.example", "www.blog.example", "forum.example", "wiki.example")[n % 4]
        records.append(
            {
                "id": f"crawl{n}",
                "text": _text(20 + n, 40 + 10 * n),
                "metadata": {"url": f"https://{site}/{n}"},
            }
        )
    for n in range(3):
        records.append(
            {
                "id": f"noai{n}",
                "text": _text(40 + n),
                "metadata": {
                    "url": f"https://blocked.example/{n}",
                    "http_headers": {"X-Robots-Tag": "noai"},
                },
            }
        )
    records.append(
        {
            "id": "tdm",
            "text": _text(50),
            "metadata": {
                "url": "https://reserved.example/t",
                "http_headers": {"tdm-reservation": "1"},
            },
        }
    )
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _corpus_consent_only(path: Path) -> None:
    records: list[dict[str, Any]] = [
        {
            "id": f"open{n}",
            "text": _text(60 + n),
            "metadata": {"license": "CC0-1.0", "url": f"https://news.example/c{n}"},
        }
        for n in range(3)
    ]
    records += [
        {
            "id": f"plain{n}",
            "text": _text(70 + n),
            "metadata": {
                "url": f"https://blocked.example/c{n}",
                "http_headers": {"X-Robots-Tag": "noai"},
            },
        }
        for n in range(2)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """A registry, a lab holding a grant for one work and the terms of another, and
    two gate runs: one in opt-out mode, one in consent-only mode."""
    tmp = tmp_path_factory.mktemp("summary")
    cli = Cli(tmp / "home", keys=tmp / "keys")
    cli("init")
    owner = cli("owner", "create", "Owner", "--json").records()[0]["id"]
    lab = cli("licensee", "create", "Lab", "--json").records()[0]["id"]
    (tmp / "works").mkdir()
    (tmp / "works" / "GPL-3").write_text(_licence("GPL-3"))
    (tmp / "open").mkdir()
    (tmp / "open" / "MPL-2.0").write_text(_licence("MPL-2.0"))
    terms = tmp / "terms.json"
    terms.write_text(json.dumps({"version": 1, "categories": {"train-ai": "allow"}}))
    gpl = cli("work", "register", str(tmp / "works"), "--owner", owner, "--json").records()[0]
    cli("work", "register", str(tmp / "open"), "--owner", owner, "--terms", str(terms))
    request = cli(
        "license", "request", "--licensee", lab, "--work", gpl["id"], "--purpose", "train-ai",
        "--offer", "0.5 EUR", "--per", "1k-tokens", "--json",
    ).records()[0]  # fmt: skip
    cli("license", "grant", request["id"], "--owner", owner)
    runs = []
    for mode, make in (("opt-out", _corpus_opt_out), ("consent-only", _corpus_consent_only)):
        corpus = tmp / f"{mode}.jsonl"
        make(corpus)
        out = tmp / f"run-{mode}"
        cli(
            "gate", "run", str(corpus), "--licensee", lab, "--purpose", "train-ai",
            "--out", str(out), "--mode", mode, "--own-source", "ours", "--workers", "1",
        )  # fmt: skip
        runs.append(out)
    return World(cli, lab, runs, tmp)


def _manifest(run: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((run / "manifest.json").read_text())["manifest"]
    return body


def _section(summary: dict[str, Any], number: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in summary["sections"] if s["section"] == number)
    return found


def _schema() -> dict[str, Any]:
    text = resources.files("consentry.app").joinpath("summary.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_the_summary_of_two_runs_reconciles_with_their_manifests(world: World) -> None:
    made = world.cli("summary", *map(str, world.runs), "--model", "m-1", "--json").records()[0]
    Draft202012Validator(_schema()).validate(made)
    manifests = [_manifest(r) for r in world.runs]
    run_ids = [m["run_id"] for m in manifests]
    assert [s["run_id"] for s in made["sources"]] == run_ids
    assert made["unavailable"] == []

    general = _section(made, "1.3")["computed"]
    for key, count in (
        ("items", "items"),
        ("admitted_items", "admitted"),
        ("rejected_items", "rejected"),
    ):
        assert general[key]["value"] == sum(m["counts"][count] for m in manifests)
        assert general[key]["by_run"] == {m["run_id"]: m["counts"][count] for m in manifests}
    assert general["admitted_bytes"]["value"] == sum(
        sum(m["sources"]["admitted_bytes_by_basis"].values()) for m in manifests
    )

    def basis(kind: str, what: str = "admitted_by_basis") -> int:
        return sum(m["sources"][what].get(kind, 0) for m in manifests)

    assert basis("grant") >= 1 and basis("terms") >= 1 and basis("own-data") == 1
    assert basis("open-licence") == 7 and basis("opt-out") == 8
    licensed = _section(made, "2.2.1")["computed"]
    assert licensed["grant_items"]["value"] == basis("grant")
    assert licensed["terms_items"]["value"] == basis("terms")
    assert licensed["grant_bytes"]["value"] == basis("grant", "admitted_bytes_by_basis")
    assert licensed["licensing_agreements"] is True
    assert licensed["registered_works"]["value"] == len(
        {w["work_id"] for m in manifests for w in m["works"]}
    )
    assert licensed["royalties"] == manifests[0]["royalties_total"]
    assert _section(made, "2.1")["computed"]["open_licence_items"]["value"] == basis("open-licence")
    assert _section(made, "2.6")["computed"]["own_data_items"]["value"] == basis("own-data")
    crawled = _section(made, "2.3")
    assert crawled["computed"]["no_reservation_items"]["value"] == basis("opt-out")

    # The domain names: every manifest lists all of its domains here, so the ranking is
    # exact, and the list is the top tenth (rounded up) of their union, by bytes.
    sizes: Counter[str] = Counter()
    for m in manifests:
        assert len(m["sources"]["domains"]["top"]) == m["sources"]["domains"]["count"]
        for line in m["sources"]["domains"]["top"]:
            sizes[line["domain"]] += line["bytes"]
    domains = crawled["domains"]
    assert domains["total_exact"] and domains["ranking_exact"] and domains["total"] == len(sizes)
    assert "www.blog.example" not in sizes and "blog.example" in sizes
    ranked = sorted(sizes.items(), key=lambda p: (-p[1], p[0]))[: math.ceil(len(sizes) / 10)]
    assert [(d["domain"], d["bytes"]) for d in domains["listed"]] == ranked
    assert crawled["computed"]["url_items"]["value"] == sum(
        m["sources"]["domains"]["items"] for m in manifests
    )

    signals = {s["signal"]: s for s in _section(made, "3.1")["signals"]}
    for kind in ("honoured", "reported"):
        wanted = Counter[str]()
        for m in manifests:
            wanted.update(m["reservations"][kind])
        assert {n: s[kind]["value"] for n, s in signals.items() if s[kind]} == {
            n: v for n, v in wanted.items() if n in signals
        }
    assert signals["x-robots-tag"]["honoured"]["by_run"][run_ids[0]] == 3
    assert signals["tdmrep-header"]["honoured"]["value"] == 1
    assert signals["x-robots-tag"]["reported"]["by_run"][run_ids[1]] == 2
    assert all(s["description"].endswith(".") for s in signals.values())

    # Every source names its log entry and checkpoint, and its manifest's digest.
    for source, m in zip(made["sources"], manifests, strict=True):
        assert source["counts"] == m["counts"]
        assert source["manifest_sha256"] == hashlib.sha256(canonical_json(m)).hexdigest()
        assert source["log"]["index"] < source["log"]["checkpoint"]["size"]


def test_the_markdown_follows_the_template_and_each_proof_verifies(world: World) -> None:
    about = world.tmp / "about.json"
    about.write_text(
        json.dumps(
            {
                "provider": "Example Labs, ai@example.org",
                "modalities": ["text"],
                "training_data_size": {"text": "Less than 1 billion tokens"},
                "crawlers_used": False,
                "tdm_measures": "Every corpus passes the consentry gate in opt-out mode.",
            }
        )
    )
    out = world.tmp / "summary.md"
    proofs = world.tmp / "proofs"
    done = world.cli(
        "summary", *map(str, world.runs), "--about", str(about), "--model", "m-1",
        "--out", str(out), "--proofs", str(proofs),
    )  # fmt: skip
    assert f"summary of 2 runs written to {out}" in done.stdout
    text = out.read_text()
    headings = [
        line.lstrip("#").strip() for line in text.splitlines() if re.match(r"#{2,4} \d", line)
    ]
    assert headings == [s.title for s in SECTIONS]
    assert (
        "- **Provider name and contact details** *(declared by the provider)*: Example Labs" in text
    )
    crawlers = "Were crawlers used by the provider or on its behalf?"
    assert f"- **{crawlers}** *(declared by the provider)*: No" in text
    assert "- **Model dependencies** *(declared by the provider)*: *not declared*" in text
    computed = r"\*\(computed from the manifests\)\*"
    assert re.search(
        rf"\*\*Items admitted for training\*\* {computed}: .* — S1: \d+, S2: \d+", text
    )
    assert (
        "Template for the Public Summary of Training Content for general-purpose AI models" in text
    )
    for run in world.runs:
        run_id = _manifest(run)["run_id"]
        assert f"| {run_id} |" in text
        checked = world.cli("log", "verify-proof", str(proofs / f"{run_id}.tlog-proof"))
        assert "verified" in checked.stdout


def test_an_sme_lists_the_top_twentieth_of_its_domains(world: World) -> None:
    made = world.cli("summary", str(world.runs[0]), "--sme", "--json").records()[0]
    domains = _section(made, "2.3")["domains"]
    assert made["sme"] is True and "SME" in domains["rule"]
    assert domains["wanted"] == min(math.ceil(domains["total"] * 5 / 100), 1000)


def _one_line_error(cli: Cli, *args: str) -> str:
    refused = cli(*args, expect=2)
    assert refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    return lines[0]


def test_a_manifest_edited_after_signing_is_refused(world: World) -> None:
    signed = json.loads((world.runs[0] / "manifest.json").read_text())
    signed["manifest"]["counts"]["admitted"] += 1
    signed["manifest"]["counts"]["rejected"] -= 1
    tampered = world.tmp / "tampered.json"
    tampered.write_text(json.dumps(signed))
    said = _one_line_error(world.cli, "summary", str(world.runs[1]), str(tampered))
    assert said.startswith(f"error: {tampered} does not verify against licensee {world.lab}'s key")
    assert "was changed after it was signed" in said


def test_a_manifest_not_on_the_log_is_refused(world: World) -> None:
    # Signed by the lab's own key, so only the log can tell: no such run was recorded.
    body = _manifest(world.runs[0]) | {"run_id": "run_aaaaaaaaaaaaaaaa"}
    key = FileKeyStore(world.cli.keys).load(world.lab)
    envelope = sign_document("training-manifest", body, key)
    unlogged = world.tmp / "unlogged.json"
    unlogged.write_text(
        json.dumps(
            {
                "manifest": json.loads(canonical_json(body)),
                "key_id": envelope.key_id,
                "signature": base64.b64encode(envelope.signature).decode(),
            }
        )
    )
    said = _one_line_error(world.cli, "summary", str(unlogged))
    assert "the manifest of run run_aaaaaaaaaaaaaaaa is not on this registry's log" in said


def test_a_run_given_twice_and_a_misspelt_declaration_are_refused(world: World) -> None:
    said = _one_line_error(
        world.cli, "summary", str(world.runs[0]), str(world.runs[0] / "manifest.json")
    )
    assert "given already" in said
    about = world.tmp / "typo.json"
    about.write_text(json.dumps({"provder": "Example Labs"}))
    said = _one_line_error(world.cli, "summary", str(world.runs[0]), "--about", str(about))
    assert "'provder' was unexpected" in said


def test_an_older_manifest_is_read_with_what_it_records(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest from before manifests recorded sources and reservations: its counts
    are added, and the figures it lacks are named as unavailable for it, not zero."""
    from consentry.app import Workspace, record_manifest, start_run
    from consentry.clock import format_time
    from consentry.ids import IdKind, new_id
    from consentry.terms import Category

    monkeypatch.setenv("CONSENTRY_HOME", str(world.cli.home))
    monkeypatch.setenv("CONSENTRY_KEYS", str(world.cli.keys))
    monkeypatch.delenv("CONSENTRY_DATABASE_URL", raising=False)
    run_id = new_id(IdKind.RUN)
    old = {
        k: v for k, v in _manifest(world.runs[1]).items() if k not in ("sources", "reservations")
    }
    with Workspace.from_env() as ws:
        started = start_run(ws, licensee_id=world.lab, run_id=run_id, purpose=Category.TRAIN_AI)
        old |= {"run_id": run_id, "started_at": format_time(started)}
        key = ws.signer(world.lab)
        envelope = sign_document("training-manifest", old, key)
        record_manifest(ws, licensee_id=world.lab, manifest=old, signature=envelope.signature_b64)
    older = world.tmp / "older.json"
    older.write_text(
        json.dumps(
            {
                "manifest": json.loads(canonical_json(old)),
                "key_id": envelope.key_id,
                "signature": envelope.signature_b64,
            }
        )
    )
    made = world.cli("summary", str(world.runs[0]), str(older), "--json").records()[0]
    Draft202012Validator(_schema()).validate(made)
    assert [u["run_id"] for u in made["unavailable"]] == [run_id]
    general = _section(made, "1.3")["computed"]
    assert (
        general["items"]["value"]
        == _manifest(world.runs[0])["counts"]["items"] + old["counts"]["items"]
    )
    assert general["admitted_bytes"]["unavailable_for"] == [run_id]
    assert _section(made, "2.1")["computed"]["open_licence_items"]["unavailable_for"] == [run_id]
    text = world.cli("summary", str(world.runs[0]), str(older)).stdout
    assert "not recorded by S2 (see Appendix A)" in text
    assert f"- S2 (run {run_id}): admitted items and bytes by basis" in text
