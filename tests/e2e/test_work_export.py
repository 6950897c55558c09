"""``consentry work register --export FILE``: a creator fingerprints their files on their
own machine, with no registry and no key, and writes the records the upload page
registers; nothing is registered and none of the content is written."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from consentry.app import uploaded_files
from consentry.app.works import fingerprint_upload
from consentry.registry.catalogue import FileProblem
from tests.conftest import LICENSES, STDLIB
from tests.e2e.conftest import Cli, _entry_point


def _licences(folder: Path) -> Path:
    """The machine's licence texts, real and of every length (each once: the links
    that name one by another name left out)."""
    folder.mkdir()
    for source in sorted(LICENSES.iterdir()):
        if source.is_file() and not source.is_symlink():
            shutil.copyfile(source, folder / source.name)
    return folder


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _offline(tmp_path: Path) -> Cli:
    """A creator's machine: no registry named, none initialised, no key made."""
    cli = Cli(tmp_path / "creator" / "home", keys=tmp_path / "creator" / "keys")
    assert "CONSENTRY_REGISTRY" not in cli.env
    return cli


def test_an_export_holds_what_the_upload_page_and_registering_make(tmp_path: Path) -> None:
    cli = _offline(tmp_path)
    folder = _licences(tmp_path / "licences")
    exported = tmp_path / "fingerprints.jsonl"
    said = cli("work", "register", str(folder), "--export", str(exported), "--workers", "2")
    assert "exported" in said.stdout and "upload it" in said.stdout
    records = _lines(exported)
    names = sorted(p.name for p in folder.iterdir())
    assert sorted(r["path"] for r in records) == [f"licences/{n}" for n in names]
    # Nothing was registered and nothing made: no registry, no key.
    assert not cli.home.exists() and not cli.keys.exists()
    # Each record is what the upload page answers for the same file, and the
    # registry's API takes them as they are.
    for record in records:
        made = fingerprint_upload(record["path"], (tmp_path / record["path"]).read_bytes())
        assert not isinstance(made, FileProblem), made
        assert made.to_json() == record
    assert [f.path for f in uploaded_files(records)] == [r["path"] for r in records]
    # Standard output: the same records, the report on stderr.
    piped = cli("work", "register", str(folder), "--export", "-", "--workers", "1")
    assert piped.records() == records
    assert "exported" in piped.stderr
    # And what registering stores for the files is what the records say.
    cli("init")
    owner = cli("owner", "create", "Ada", "--json").records()[0]["id"]
    cli("work", "register", str(folder), "--owner", owner, "--json")
    stored = {w["path"]: w for w in cli("work", "list", "--owner", owner, "--json").records()}
    assert set(stored) == {r["path"] for r in records}
    for record in records:
        fp, work = record["fingerprint"], stored[record["path"]]
        fields = ("digest", "kind", "media_type", "title", "size", "spdx")
        assert {k: work[k] for k in fields} == {k: fp[k] for k in fields}


def test_no_content_is_written_only_fingerprints(tmp_path: Path) -> None:
    cli = _offline(tmp_path)
    folder = _licences(tmp_path / "licences")
    exported = tmp_path / "fingerprints.jsonl"
    cli("work", "register", str(folder), "--export", str(exported))
    written = exported.read_text("utf-8")
    for record in _lines(exported):
        # A file's title (its first heading) is published on registering, deliberately;
        # nothing else of the text is.
        title = record["fingerprint"]["title"]
        for raw in (tmp_path / record["path"]).read_text("utf-8", "replace").splitlines():
            line = raw.strip()
            if len(line) < 30 or line in title:
                continue
            assert line not in written and json.dumps(line)[1:-1] not in written, line


def test_refused_files_are_reported_each_in_a_sentence(tmp_path: Path) -> None:
    cli = _offline(tmp_path)
    folder = tmp_path / "novel"
    folder.mkdir()
    (folder / "chapter.txt").write_text((LICENSES / "GPL-3").read_text())
    (folder / "empty.txt").write_text("")
    (folder / "short.txt").write_text("too short")
    exported = tmp_path / "fingerprints.jsonl"
    said = cli("work", "register", str(folder), "--export", str(exported), "--json")
    by_path = {r["path"]: r for r in said.records()}
    assert by_path["novel/chapter.txt"]["status"] == "exported"
    assert by_path["novel/empty.txt"] == {
        "status": "skipped",
        "path": "novel/empty.txt",
        "error": "novel/empty.txt is empty; nothing to register",
    }
    assert by_path["novel/short.txt"]["error"].startswith("novel/short.txt has 9 characters")
    assert [r["path"] for r in _lines(exported)] == ["novel/chapter.txt"]
    # A file that cannot be used is a failure, as registering counts it: exit status 1.
    (folder / "image.bin").write_bytes(bytes(range(256)) * 64)
    failed = cli("work", "register", str(folder), "--export", "-", expect=1)
    assert "novel/image.bin" in failed.stderr
    assert "skipped" in failed.stderr and "1 failed" in failed.stderr
    assert [r["path"] for r in failed.records()] == ["novel/chapter.txt"]


def test_an_existing_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    cli = _offline(tmp_path)
    folder = tmp_path / "novel"
    folder.mkdir()
    (folder / "chapter.txt").write_text((LICENSES / "GPL-3").read_text())
    exported = tmp_path / "fingerprints.jsonl"
    exported.write_text("my own notes\n")
    refused = cli("work", "register", str(folder), "--export", str(exported), expect=2)
    assert refused.stderr.strip() == (
        f"error: --export {exported} exists; pass --force to replace it, or name another file"
    )
    assert exported.read_text() == "my own notes\n"
    cli("work", "register", str(folder), "--export", str(exported), "--force")
    assert [r["path"] for r in _lines(exported)] == ["novel/chapter.txt"]


def test_options_that_register_are_refused_with_export(tmp_path: Path) -> None:
    cli = _offline(tmp_path)
    folder = tmp_path / "novel"
    folder.mkdir()
    (folder / "chapter.txt").write_text((LICENSES / "GPL-3").read_text())
    out = str(tmp_path / "f.jsonl")
    for extra in (["--owner", "own_x"], ["--collection", "Novels"]):
        said = cli("work", "register", str(folder), "--export", out, *extra, expect=2)
        assert said.stderr.startswith(f"error: {extra[0]} is for registering; --export only")
    said = cli("work", "register", str(folder), expect=2)
    assert "--owner: name the owner whose key signs" in said.stderr
    assert "--export FILE" in said.stderr
    assert not Path(out).exists()


def test_an_interrupted_export_is_finished_by_the_same_command(tmp_path: Path) -> None:
    cli = _offline(tmp_path)
    folder = _licences(tmp_path / "licences")
    whole = tmp_path / "whole.jsonl"
    cli("work", "register", str(folder), "--export", str(whole))
    # An interrupted run left some records, the last cut short by the interruption.
    exported = tmp_path / "fingerprints.jsonl"
    partial = tmp_path / "fingerprints.jsonl.partial"
    text = whole.read_text("utf-8")
    lines = text.splitlines(keepends=True)
    partial.write_text("".join(lines[:3]) + lines[3][:100], "utf-8")
    said = cli("work", "register", str(folder), "--export", str(exported), "--json")
    assert [r["path"] for r in said.records()] == [json.loads(x)["path"] for x in lines[3:]]
    assert exported.read_text("utf-8") == text and not partial.exists()
    # The .partial of other files is not taken for this export's.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "GPL-3").write_text((LICENSES / "GPL-3").read_text())
    partial.write_text("".join(lines[:3]), "utf-8")
    mixed = cli("work", "register", str(tmp_path / "other"), "--export", str(exported),
                "--force", expect=0)  # fmt: skip
    assert "by the interrupted run" not in mixed.stdout
    partial.write_text("".join(lines[:3]), "utf-8")
    exported.unlink()
    refused = cli("work", "register", str(tmp_path / "other"), "--export", str(exported), expect=2)
    assert "which is not among the files named" in refused.stderr
    assert partial.read_text("utf-8") == "".join(lines[:3])


def test_ctrl_c_stops_an_export_and_the_same_command_finishes_it(tmp_path: Path) -> None:
    cli = _offline(tmp_path)
    texts = [p.read_text("utf-8") for p in sorted(STDLIB.glob("*.py"))]
    folder = tmp_path / "documents"
    folder.mkdir()
    count = 1500
    for i in range(count):
        (folder / f"document-{i:04d}.txt").write_text(f"Document {i}.\n" + texts[i % len(texts)])
    exported = tmp_path / "fingerprints.jsonl"
    partial = tmp_path / "fingerprints.jsonl.partial"
    args = ["work", "register", str(folder), "--export", str(exported), "--workers", "2"]
    process = subprocess.Popen(
        [_entry_point(), *args],
        env={**cli.env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not partial.exists() or partial.read_bytes().count(b"\n") < 200:
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the export never got under way"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    [line] = stderr.strip().splitlines()
    assert line.startswith("interrupted: ") and "run the same command again" in line, line
    assert not exported.exists(), "an unfinished export looks finished"
    kept = partial.read_text("utf-8").count("\n")
    assert 200 <= kept < count, "interrupted mid-export"
    said = cli(*args)
    assert f"({kept} by the interrupted run)" in said.stdout
    # Nothing lost, nothing twice: the file is what one uninterrupted export writes.
    whole = cli("work", "register", str(folder), "--export", "-", "--workers", "2")
    assert exported.read_text("utf-8") == whole.stdout
