"""The command line as a user meets it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from consentry.store import open_engine
from tests.conftest import LICENSES, POSTGRES_URL, STDLIB
from tests.e2e.conftest import Cli

COMMANDS = {
    (): [
        "init",
        "owner",
        "licensee",
        "work",
        "terms",
        "license",
        "gate",
        "log",
        "usage",
        "witness",
        "check",
        "sketch",
        "demo",
    ],
    ("log",): ["key", "checkpoint", "witness", "verify", "prove", "verify-proof", "publish"],
    ("witness",): ["key", "serve"],
    ("sketch",): ["export", "update"],
    ("gate",): ["run"],
    ("owner",): ["create", "list"],
    ("licensee",): ["create", "list"],
    ("work",): ["register", "list"],
    ("terms",): ["set", "show", "schema"],
    ("license",): ["request", "grant", "deny", "counter", "accept", "revoke", "list", "check"],
}


@pytest.mark.parametrize(("group", "names"), COMMANDS.items())
def test_help_lists_every_command(cli: Cli, group: tuple[str, ...], names: list[str]) -> None:
    shown = cli(*group, "--help").stdout
    for name in names:
        assert name in shown


def _catalogue(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in ("GPL-3", "Apache-2.0", "MPL-2.0"):
        source = LICENSES / name
        if source.is_file():
            shutil.copyfile(source, folder / name)
    shutil.copyfile(STDLIB / "json" / "decoder.py", folder / "decoder.py")
    shutil.copyfile(STDLIB / "textwrap.py", folder / "textwrap.py")
    return folder


def _owner(cli: Cli, name: str = "Ada") -> str:
    return cli("owner", "create", name, "--json").records()[0]["id"]


def test_the_whole_loop_with_json_output(cli: Cli, tmp_path: Path) -> None:
    assert "registry created" in cli("init").stdout
    owner = _owner(cli)
    key_file = cli.keys / f"{owner}.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    lab = cli("licensee", "create", "Lab", "--json").records()[0]["id"]
    folder = _catalogue(tmp_path / "works")
    records = cli("work", "register", str(folder), "--owner", owner, "--json").records()
    assert {r["status"] for r in records} == {"registered"}
    assert {r["path"] for r in records} == {f"works/{p.name}" for p in folder.iterdir()}
    assert all(r["id"].startswith("wrk_") for r in records)
    again = cli("work", "register", str(folder), "--owner", owner, "--json").records()
    assert {r["status"] for r in again} == {"existing"}
    assert {r["id"] for r in again} == {r["id"] for r in records}
    listed = cli("work", "list", "--owner", owner, "--json").records()
    assert len(listed) == len(records)
    work = records[0]["id"]

    terms = tmp_path / "terms.json"
    terms.write_text(json.dumps({"version": 1, "categories": {"search": "allow"}}))
    cli("terms", "set", owner, "--owner", owner, "--file", str(terms))
    shown = cli("terms", "show", work, "--json").records()[0]
    assert shown["effective"]["categories"]["search"] == "allow"
    assert shown["effective"]["categories"]["train-ai"] == "license"

    assert cli("license", "check", work, "--licensee", lab, "--purpose", "train-ai", expect=1)
    request = cli(
        "license",
        "request",
        "--licensee",
        lab,
        "--work",
        work,
        "--purpose",
        "train-ai",
        "--offer",
        "1.25 EUR",
        "--until",
        "2031-01-01",
        "--json",
    ).records()[0]
    assert request["offer"] == {"per": "work", "amount": "1.25", "currency": "EUR"}
    grant = cli("license", "grant", request["id"], "--owner", owner, "--json").records()[0]
    assert grant["price"]["amount"] == "1.25"
    checked = cli("license", "check", work, "--licensee", lab, "--purpose", "train-ai", "--json")
    assert checked.records()[0] == {
        "work_id": work,
        "allowed": True,
        "reason": f"grant {grant['id']} covers train-ai",
        "basis": "grant",
        "grant_id": grant["id"],
    }
    listed_grants = [
        r
        for r in cli("license", "list", "--licensee", lab, "--json").records()
        if r["record"] == "grant"
    ]
    assert [g["id"] for g in listed_grants] == [grant["id"]]
    cli("license", "revoke", grant["id"], "--owner", owner)
    assert cli("license", "check", work, "--licensee", lab, "--purpose", "train-ai", expect=1)


def test_bad_files_are_reported_one_line_each_and_the_rest_register(
    cli: Cli, tmp_path: Path
) -> None:
    cli("init")
    owner = _owner(cli)
    folder = _catalogue(tmp_path / "mixed")
    (folder / "archive.gz").write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)))
    (folder / "latin.txt").write_bytes("déjà vu".encode("latin-1"))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "huge.txt").write_text("word " * 50_000)
    result = cli(
        "work", "register", str(folder), "--owner", owner, "--max-bytes", "100000", expect=1
    )
    skipped = [line for line in result.stdout.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 5
    for name, phrase in [
        ("archive.gz", "is binary and not an image"),
        ("latin.txt", "is not UTF-8 text"),
        ("broken.png", "is not a readable image"),
        ("empty.txt", "is empty"),
        ("huge.txt", "over the 100,000-byte limit"),
    ]:
        assert any(name in line and phrase in line for line in skipped), name
    good = len(list(folder.iterdir())) - 5
    assert f"{good} registered" in result.stdout
    assert "Traceback" not in result.stderr


def test_inside_a_git_repository_only_tracked_files_register(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    owner = _owner(cli)
    repo = _catalogue(tmp_path / "repo")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    subprocess.run(
        ["git", "-C", str(repo), "add", "decoder.py", "textwrap.py"], check=True, env=env
    )
    (repo / "secret.txt").write_text("an untracked draft that must not be registered " * 10)
    records = cli("work", "register", str(repo), "--owner", owner, "--json").records()
    assert sorted(r["path"] for r in records) == ["repo/decoder.py", "repo/textwrap.py"]


def test_a_folder_the_enclosing_repository_ignores_is_walked(cli: Cli, tmp_path: Path) -> None:
    # Regression: an installed toolchain inside a git checkout (ignored there) registered
    # nothing, because "tracked files only" found no tracked files.
    cli("init")
    owner = _owner(cli)
    repo = tmp_path / "checkout"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("versions/\n")
    installed = _catalogue(repo / "versions" / "lib")
    records = cli("work", "register", str(installed), "--owner", owner, "--json").records()
    assert len(records) == len(list(installed.iterdir()))


def test_errors_are_one_sentence_without_a_traceback(cli: Cli, tmp_path: Path) -> None:
    missing = cli("work", "list", expect=2)
    assert "run 'consentry init' first" in missing.stderr
    assert "Traceback" not in missing.stderr
    cli("init")
    unknown = cli("work", "register", str(tmp_path), "--owner", "own_nobody", expect=2)
    assert unknown.stderr.startswith("error: no such owner 'own_nobody' in this registry")
    owner = _owner(cli)
    bad = tmp_path / "terms.json"
    bad.write_text(json.dumps({"version": 1, "categories": {"train-ai": "sometimes"}}))
    refused = cli("terms", "set", owner, "--owner", owner, "--file", str(bad), expect=2)
    assert f"{bad}: categories.train-ai: 'sometimes' is not one of" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    nowhere = cli("work", "register", str(tmp_path / "nope"), "--owner", owner, expect=2)
    assert "does not exist; check the path" in nowhere.stderr
    wrong_purpose = cli(
        "license",
        "request",
        "--licensee",
        owner,
        "--owner",
        owner,
        "--purpose",
        "training",
        expect=2,
    )
    assert "--purpose 'training' is not a use category" in wrong_purpose.stderr
    debug = cli("--debug", "work", "register", str(tmp_path / "nope"), "--owner", owner, expect=1)
    assert "Traceback" in debug.stderr


def test_someone_elses_key_cannot_act_for_an_owner(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    owner, other = _owner(cli, "Owner"), _owner(cli, "Other")
    # Swap the key files: the CLI loads "owner"'s key but it is really "other"'s.
    keys = cli.keys
    os.replace(keys / f"{other}.key", keys / f"{owner}.key")
    folder = _catalogue(tmp_path / "works")
    refused = cli("work", "register", str(folder), "--owner", owner, expect=2)
    assert f"does not belong to owner {owner}" in refused.stderr


def test_the_demo_runs_the_whole_loop(cli: Cli, tmp_path: Path) -> None:
    shown = cli("demo", "--home", str(tmp_path / "demo")).stdout
    for phrase in (
        "registered",
        "signed grant",
        "allowed: grant",
        "4 items: 3 admitted, 1 rejected",
        "Total: 0.10 EUR",
        "used in run run_",
        "essay.txt: blocked",
        "disputed",
        "revoked",
        "not allowed",
    ):
        assert phrase in shown


@pytest.mark.skipif(POSTGRES_URL is None, reason="needs CONSENTRY_TEST_DATABASE_URL (CI sets it)")
def test_the_cli_on_postgresql(tmp_path: Path) -> None:
    assert POSTGRES_URL is not None
    name = f"consentry_e2e_{uuid.uuid4().hex[:10]}"
    admin = open_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        cli = Cli(tmp_path / "home", keys=tmp_path / "keys", env={"CONSENTRY_DATABASE_URL": url})
        assert url in cli("init").stdout
        owner = _owner(cli)
        records = cli(
            "work", "register", str(_catalogue(tmp_path / "w")), "--owner", owner, "--json"
        )
        assert len(records.records()) >= 2
        assert not (tmp_path / "home" / "registry.db").exists()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_register_with_terms_sets_them_on_the_collection(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    owner = _owner(cli)
    terms = tmp_path / "terms.json"
    terms.write_text(json.dumps({"version": 1, "categories": {"ai-input": "deny"}}))
    folder = _catalogue(tmp_path / "essays")
    records = cli(
        "work",
        "register",
        str(folder),
        "--owner",
        owner,
        "--collection",
        "essays",
        "--terms",
        str(terms),
        "--json",
    ).records()
    shown = cli("terms", "show", records[0]["id"], "--json").records()[0]
    assert shown["effective"]["categories"]["ai-input"] == "deny"
    assert [layer["kind"] for layer in shown["layers"]] == ["collection"]
    # The collection can be named by its name as well as its id.
    terms.write_text(json.dumps({"version": 1, "categories": {"ai-input": "allow"}}))
    assert (
        "terms v2 set on collection"
        in cli("terms", "set", "essays", "--owner", owner, "--file", str(terms)).stdout
    )


def test_nothing_is_a_copy_of_nothing_empty_blank_and_comment_only_files_are_refused(
    cli: Cli, tmp_path: Path
) -> None:
    cli("init")
    owner = _owner(cli)
    folder = _catalogue(tmp_path / "with-empties")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_text(" \n\t\n")
    (folder / "header.py").write_text("# Copyright 2026 the authors\n# SPDX: MIT\n" * 20)
    (folder / "short.txt").write_text("Too short to ever be shown copied.\n")
    # Refused by rule, not failed: the command exits 0 and says why for each.
    result = cli("work", "register", str(folder), "--owner", owner)
    skipped = [line for line in result.stdout.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 4
    for name in ("empty.txt", "blank.txt", "header.py", "short.txt"):
        assert any(name in line and "nothing to register" in line for line in skipped), name
    assert "4 with too little content, 0 failed" in result.stdout


def test_a_party_with_no_licences_gets_a_sentence_not_two_empty_tables(cli: Cli) -> None:
    cli("init")
    owner = _owner(cli)
    shown = cli("license", "list", "--owner", owner).stdout
    assert shown.strip() == f"no licence requests or grants for {owner} yet"
    assert cli("license", "list", "--owner", owner, "--json").stdout == ""
