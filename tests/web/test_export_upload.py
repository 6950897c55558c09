"""A creator who would rather not send their files: fingerprinted on their own machine
with ``consentry work register --export``, the file uploaded on the upload page and the
works registered with the key in their browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import LICENSES
from tests.e2e.conftest import Cli
from tests.web.conftest import Site, inspect_page
from tests.web.test_creator_pages import creator, sign


def test_a_creator_registers_an_exported_fingerprint_file_on_the_upload_page(
    page: Page, site: Site, tmp_path: Path
) -> None:
    cli, owner = creator(page, site, tmp_path)
    folder = tmp_path / "Licences"
    folder.mkdir()
    for name in ("GPL-3", "Apache-2.0", "MPL-2.0", "BSD"):
        shutil.copyfile(LICENSES / name, folder / name)
    (folder / "empty.txt").write_text("")
    # Made offline, on a machine that names no registry and holds no key.
    offline = Cli(tmp_path / "laptop" / "home", keys=tmp_path / "laptop" / "keys")
    exported = tmp_path / "fingerprints.jsonl"
    said = offline("work", "register", str(folder), "--export", str(exported))
    assert "empty.txt is empty" in said.stdout
    paths = [json.loads(line)["path"] for line in exported.read_text().splitlines()]
    assert sorted(paths) == [f"Licences/{n}" for n in ("Apache-2.0", "BSD", "GPL-3", "MPL-2.0")]

    page.goto(f"{site.url}/creator/upload")
    start = page.get_by_role("button", name="Register from this file")
    expect(start).to_be_disabled()
    page.get_by_label("Fingerprint file", exact=True).set_input_files(str(exported))
    expect(start).to_be_enabled()
    start.click()
    done = page.locator("#progress-summary")
    sign(page, done)
    expect(done).to_contain_text("Done: 4 works registered")
    expect(page.locator("#progress-text")).to_have_text("4 of 4 files")
    inspect_page(page, "creator upload fingerprint file done")
    works = cli("work", "list", "--owner", owner, "--json").records()
    assert sorted(str(w["path"]) for w in works) == sorted(paths)
    # The same file again: each already registered, nothing new to sign.
    page.goto(f"{site.url}/creator/upload")
    page.get_by_label("Fingerprint file", exact=True).set_input_files(str(exported))
    page.get_by_role("button", name="Register from this file").click()
    expect(done).to_contain_text("Done: 0 works registered, 4 were registered already")
    assert len(cli("work", "list", "--owner", owner, "--json").records()) == 4


def test_a_file_that_is_no_export_is_refused_before_anything_is_sent(
    page: Page, site: Site, tmp_path: Path
) -> None:
    cli, owner = creator(page, site, tmp_path)
    notes = tmp_path / "notes.jsonl"
    notes.write_text("my own notes\n")
    page.goto(f"{site.url}/creator/upload")
    page.get_by_label("Fingerprint file", exact=True).set_input_files(str(notes))
    page.get_by_role("button", name="Register from this file").click()
    expect(page.locator("#progress-error")).to_contain_text(
        "notes.jsonl: line 1 is not JSON; choose the file consentry wrote"
    )
    assert cli("work", "list", "--owner", owner, "--json").records() == []
