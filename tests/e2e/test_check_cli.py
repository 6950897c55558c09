"""``consentry check`` and ``consentry sketch export`` as a user runs them, and the
pre-commit hook as pre-commit would run it on staged files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.conftest import LICENSES
from tests.e2e.conftest import Cli

ROOT = Path(__file__).parents[2]


def _registry(cli: Cli, tmp_path: Path) -> str:
    cli("init")
    owner = cli("owner", "create", "Ada", "--json").records()[0]["id"]
    works = tmp_path / "works"
    works.mkdir()
    for name in ["GPL-3", "MPL-2.0"]:
        (works / name).write_text((LICENSES / name).read_text())
    cli("work", "register", str(works), "--owner", owner)
    return cli("log", "key").stdout.strip()


def test_check_exit_codes_json_and_the_offline_sketch(cli: Cli, tmp_path: Path) -> None:
    vkey = _registry(cli, tmp_path)
    copied = tmp_path / "essay.txt"
    essay = "An essay on gardens, seeds and weather. " * 8
    copied.write_text(essay + (LICENSES / "MPL-2.0").read_text()[6000:6500] + essay)
    clean = tmp_path / "clean.txt"
    clean.write_text((LICENSES / "BSD").read_text())

    blocked = cli("check", str(copied), str(clean), expect=1)
    assert "essay.txt: blocked" in blocked.stdout and "clean.txt: clear" in blocked.stdout
    cli("check", str(clean))
    (report,) = cli("check", str(copied), "--json", expect=1).records()
    (finding,) = report["findings"]
    start, end = finding["spans"][0]["start"], finding["spans"][0]["end"]
    assert len(essay) <= start < end <= len(essay) + 500

    sketch = tmp_path / "registry.sketch"
    exported = cli("sketch", "export", "--out", str(sketch), "--json").records()[0]
    assert exported["works"] == 2 and sketch.stat().st_size == exported["bytes"]
    offline = [str(copied), "--sketch", str(sketch), "--log-key", vkey, "--json"]
    (again,) = cli("check", *offline, expect=1).records()
    assert again["findings"][0]["spans"] == finding["spans"]

    tampered = tmp_path / "tampered.sketch"
    tampered.write_bytes(sketch.read_bytes()[:-1] + b"\x00")
    refused = cli("check", str(copied), "--sketch", str(tampered), "--log-key", vkey, expect=2)
    assert "changed or truncated" in refused.stderr
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)))
    assert "binary" in cli("check", str(binary), expect=2).stderr
    assert "cannot read" in cli("check", str(tmp_path / "missing.txt"), expect=2).stderr


def test_the_pre_commit_hook_refuses_staged_copies(cli: Cli, tmp_path: Path) -> None:
    vkey = _registry(cli, tmp_path)
    sketch = tmp_path / "registry.sketch"
    cli("sketch", "export", "--out", str(sketch))
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "consentry-check" and hook["entry"] == "consentry check"
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "notes.md").write_text("Our own notes about the project.\n" * 20)
    (repo / "LICENSE.txt").write_text((LICENSES / "GPL-3").read_text()[:3000])
    subprocess.run([*git, "add", "."], check=True)
    staged = subprocess.run(
        [*git, "diff", "--cached", "--name-only"], capture_output=True, text=True, check=True
    ).stdout.split()
    # As pre-commit runs it: the installed entry point in a process of its own, the
    # configured args, then the staged files, relative to the repository.
    args = [*hook["entry"].split()[1:], "--sketch", str(sketch), "--log-key", vkey, *staged]
    run = cli.in_a_process()(*args, cwd=repo, expect=1)
    assert "LICENSE.txt: blocked" in run.stdout and "notes.md: clear" in run.stdout


def test_a_sketch_is_brought_up_to_date_with_only_what_changed(cli: Cli, tmp_path: Path) -> None:
    vkey = _registry(cli, tmp_path)
    sketch = tmp_path / "registry.sketch"
    cli("sketch", "export", "--out", str(sketch))
    owner = cli("owner", "list", "--json").records()[0]["id"]
    late = tmp_path / "late"
    late.mkdir()
    (late / "Apache-2.0").write_text((LICENSES / "Apache-2.0").read_text())
    cli("work", "register", str(late), "--owner", owner)
    copied = tmp_path / "copy.txt"
    copied.write_text("Preface. " * 30 + (LICENSES / "Apache-2.0").read_text()[3000:3600])
    users = tmp_path / "users.sketch"
    users.write_bytes(sketch.read_bytes())
    offline = ["--sketch", str(users), "--log-key", vkey]
    cli("check", str(copied), *offline)  # the old sketch does not know the new work

    update = tmp_path / "registry.update"
    made = cli("sketch", "update", str(sketch), "--out", str(update), "--json").records()[0]
    assert made["new_works"] == 1 and made["update_bytes"] < sketch.stat().st_size
    applied = cli("sketch", "update", str(users), "--from", str(update), "--log-key", vkey)
    assert "works: 3" in applied.stdout
    cli("check", str(copied), *offline, expect=1)
    again = cli("sketch", "update", str(users), "--from", str(update), "--log-key", vkey, expect=2)
    assert "does not follow this sketch" in again.stderr


def test_check_reads_stdin_and_its_name_says_code(cli: Cli, tmp_path: Path) -> None:
    _registry(cli, tmp_path)
    copied = (LICENSES / "GPL-3").read_text()[20000:21000]
    run = cli("check", "-", "--name", "answer.md", "--json", input="Reply:\n" + copied, expect=1)
    assert '"name": "answer.md"' in run.stdout and '"verdict": "blocked"' in run.stdout


def test_a_sketch_older_than_its_registry_answers_with_a_warning(cli: Cli, tmp_path: Path) -> None:
    vkey = _registry(cli, tmp_path)
    sketch = tmp_path / "registry.sketch"
    cli("sketch", "export", "--out", str(sketch))
    clean = tmp_path / "clean.txt"
    clean.write_text((LICENSES / "BSD").read_text())
    offline = [str(clean), "--sketch", str(sketch), "--log-key", vkey]
    assert cli("check", *offline).stderr == ""
    more = tmp_path / "more"
    more.mkdir()
    (more / "Apache-2.0").write_text((LICENSES / "Apache-2.0").read_text())
    owner = cli("owner", "list", "--json").records()[0]["id"]
    cli("work", "register", str(more), "--owner", owner)
    cli("log", "checkpoint")
    stale = cli("check", *offline).stderr
    assert stale.startswith(f"warning: {sketch} was made at log size ")
    assert f"'consentry sketch update {sketch}'" in stale
    # Where no registry is, the sketch is all there is: no warning, and nothing made.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    away = Cli(elsewhere / "home", keys=elsewhere / "keys")
    assert away("check", *offline).stderr == ""
    assert not (elsewhere / "home").exists()
