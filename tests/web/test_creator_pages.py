"""The creator's pages in a real browser against the real server: empty states that
say what to do next, works registered from an uploaded folder, terms with their
sentences and preview, a request answered, a use with its proof, earnings with a chart
and a CSV; and every page and form closed to another account."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import time
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from consentry.app import uploaded_files
from consentry.crypto import FileKeyStore
from consentry.crypto.httpsig import sign_request
from consentry.fingerprint import fingerprint_bytes
from tests.conftest import LICENSES
from tests.e2e.conftest import Cli
from tests.service.conftest import until_published
from tests.web.conftest import Site, inspect_page
from tests.web.test_accounts import sign_up

PASSWORD = "long enough password"
GPL = (LICENSES / "GPL-3").read_text()


def _csrf(page: Page) -> str:
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    return token


def link_cli_key(page: Page, site: Site, cli: Cli, party_id: str) -> None:
    """Prove to the account signed in on ``page`` that it holds the CLI party's key,
    by a request signed with it (as the key page's script does with a browser key)."""
    page.goto(f"{site.url}/account/key")
    url = f"{site.url}/account/party"
    key = FileKeyStore(cli.keys).load(party_id)
    signed = sign_request(method="POST", url=url, headers={}, body=b"", signer=key,
                          created=int(time.time()), nonce=secrets.token_urlsafe(12))  # fmt: skip
    answer = page.request.post(url, headers={**signed, "x-csrf-token": _csrf(page)}, data=b"")
    assert answer.status == 201, answer.text()


def creator(page: Page, site: Site, root: Path, name: str = "Ada Writer") -> tuple[Cli, str]:
    """A creator signed up in the browser, its party made with the CLI and linked."""
    first = name.split(maxsplit=1)[0].lower()
    cli = site.party(root, first)
    owner = cli("owner", "create", name).stdout.split()[0]
    email = f"{first}@example.org"
    sign_up(page, site, role="creator", name=name, email=email, password=PASSWORD)
    link_cli_key(page, site, cli, owner)
    return cli, owner


def _texts(folder: Path, count: int) -> list[Path]:
    """``count`` real, distinct texts: licence texts and Python's own sources."""
    sources = sorted(LICENSES.glob("*")) + sorted(Path("/usr/lib/python3.11").glob("*.py"))
    sources = [s for s in sources if s.is_file() and s.stat().st_size > 2000]
    folder.mkdir(parents=True)
    made = []
    for n in range(count):
        source = sources[n % len(sources)]
        text = source.read_text("utf-8", errors="replace")
        # Each file its own: a copy of a source is told apart by a numbered first line.
        path = folder / f"{n:04d}-{source.stem}.txt"
        path.write_text(f"Chapter {n} of the collected works.\n\n{text[: 3000 + n % 500]}")
        made.append(path)
    return made


# -- empty states --------------------------------------------------------------------


def test_a_new_creator_sees_what_to_do_next_on_every_page(
    page: Page, site: Site, tmp_path: Path
) -> None:
    creator(page, site, tmp_path)
    steps = {
        "/creator": "Register your first works",
        "/creator/works": "Upload files or a folder",
        "/creator/upload": "fingerprinted in memory, and discarded",
        "/creator/terms": "Sign and publish these terms",
        "/creator/requests": "No request waits for you",
        "/creator/uses": "No run has used your works yet",
        "/creator/earnings": "Nothing earned in this period",
    }
    for path, says in steps.items():
        page.goto(f"{site.url}{path}")
        expect(page.locator("main")).to_contain_text(says)
        inspect_page(
            page, f"creator {path.removeprefix('/creator').strip('/') or 'dashboard'} empty"
        )
    page.goto(f"{site.url}/creator/upload")
    expect(page.get_by_label("A whole folder")).to_have_attribute("webkitdirectory", "")
    expect(page.get_by_label("Or some files")).to_have_attribute("multiple", "")
    expect(page.locator("main")).to_contain_text("consentry work register --export")


# -- fingerprinting an upload ------------------------------------------------------------


def test_uploaded_files_are_fingerprinted_as_the_cli_would_and_nothing_is_kept(
    page: Page, site: Site, tmp_path: Path
) -> None:
    creator(page, site, tmp_path)
    page.goto(f"{site.url}/creator/upload")
    files = [
        {"name": "novel/one.txt", "mimeType": "text/plain", "buffer": GPL.encode()},
        {"name": "novel/empty.txt", "mimeType": "text/plain", "buffer": b""},
        {"name": "novel/short.txt", "mimeType": "text/plain", "buffer": b"too short"},
    ]
    answer = page.request.post(
        f"{site.url}/creator/fingerprints",
        multipart={"files": files[0]},
        headers={"x-csrf-token": _csrf(page)},
    )
    assert answer.status == 200, answer.text()
    made = answer.json()
    assert made["problems"] == []
    [record] = made["files"]
    assert record["path"] == "novel/one.txt"
    expected = fingerprint_bytes("novel/one.txt", GPL.encode()).to_json()
    assert record["fingerprint"] == expected
    # What the page returns is what the API registers: the same checks pass.
    assert [f.path for f in uploaded_files(made["files"])] == ["novel/one.txt"]
    for refused in files[1:]:
        answer = page.request.post(
            f"{site.url}/creator/fingerprints",
            multipart={"files": refused},
            headers={"x-csrf-token": _csrf(page)},
        )
        [problem] = answer.json()["problems"]
        assert problem["refused"] and problem["path"] == refused["name"]
    # Nothing was registered by fingerprinting, and nothing of the files was stored.
    page.goto(f"{site.url}/creator/works")
    expect(page.locator("main")).to_contain_text("You have registered no works yet")
    database = Path(site.settings.database_url.removeprefix("sqlite:///"))
    if database.is_file():
        assert b"GNU GENERAL PUBLIC LICENSE" not in database.read_bytes()


def test_fingerprinting_without_the_pages_csrf_header_is_refused(
    page: Page, site: Site, tmp_path: Path
) -> None:
    creator(page, site, tmp_path)
    page.goto(f"{site.url}/creator/upload")
    upload = {"files": {"name": "a.txt", "mimeType": "text/plain", "buffer": GPL.encode()}}
    for headers in ({}, {"x-csrf-token": "0" * 64}):
        answer = page.request.post(
            f"{site.url}/creator/fingerprints", multipart=upload, headers=headers
        )
        assert answer.status == 403, answer.text()
    form = {"csrf": _csrf(page)}  # a form field is not enough: a script sends the header
    answer = page.request.post(f"{site.url}/creator/fingerprints", multipart={**upload, **form})
    assert answer.status == 403


# -- a creator whose works are used --------------------------------------------------


class Used:
    """A creator with works in a collection, terms, a lab's request granted with a
    price, and a run of the lab's that used one work (all through the CLI)."""

    def __init__(self, page: Page, site: Site, root: Path) -> None:
        self.site = site
        self.cli, self.owner = creator(page, site, root)
        self.lab = site.party(root, "lab")
        self.licensee = self.lab("licensee", "create", "Deep Lab").stdout.split()[0]
        works = root / "works"
        works.mkdir()
        (works / "GPL-3.txt").write_text(GPL)
        (works / "Apache-2.0.txt").write_text((LICENSES / "Apache-2.0").read_text())
        self.cli("work", "register", str(works), "--owner", self.owner, "--collection",
                 "Licences", "--workers", "1")  # fmt: skip
        listed = self.cli("work", "list", "--owner", self.owner, "--json").records()
        self.works = {Path(w["path"]).name: w["id"] for w in listed}
        self.collection = listed[0]["collection_id"]
        asked = self.lab("license", "request", "--licensee", self.licensee, "--owner",
                         self.owner, "--purpose", "train-ai", "--offer", "0.25 EUR",
                         "--per", "work").stdout.split()[0]  # fmt: skip
        self.cli("license", "grant", asked, "--owner", self.owner)
        corpus = root / "corpus.jsonl"
        corpus.write_text(json.dumps({"id": "gpl", "text": GPL}) + "\n")
        run = self.lab("gate", "run", str(corpus), "--licensee", self.licensee, "--purpose",
                       "train-ai", "--out", str(root / "run"), "--workers", "1",
                       "--json")  # fmt: skip
        self.run_id = str(run.records()[0]["run_id"])
        until_published(lambda: self.cli("usage", "--owner", self.owner, "--json").records(), bool)


def test_a_creator_sees_works_uses_earnings_and_downloads_proof_and_statement(
    page: Page, site: Site, tmp_path: Path
) -> None:
    used = Used(page, site, tmp_path)
    gpl = used.works["GPL-3.txt"]

    page.goto(f"{site.url}/creator")
    expect(page.locator("main")).to_contain_text("Deep Lab")
    expect(page.get_by_role("heading", name="Earned this month")).to_be_visible()
    expect(page.locator("main")).to_contain_text("0.25 EUR")
    inspect_page(page, "creator dashboard filled")

    page.goto(f"{site.url}/creator/works")
    expect(page.get_by_role("link", name="GPL-3.txt")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Licences: 2 works")
    inspect_page(page, "creator works filled")
    page.get_by_role("link", name="GPL-3.txt").click()
    expect(page).to_have_url(f"{site.url}/creator/works/{gpl}")
    expect(page.locator("main")).to_contain_text(used.run_id)
    expect(page.locator("main")).to_contain_text("must ask you for a licence first")
    inspect_page(page, "creator work")

    page.goto(f"{site.url}/creator/uses")
    row = page.get_by_role("row").filter(has_text=used.run_id)
    expect(row).to_contain_text("Deep Lab")
    expect(row).to_contain_text("grant grt_")
    inspect_page(page, "creator uses filled")
    with page.expect_download() as download:
        row.get_by_role("link", name=re.compile("Download")).click()
    proof = Path(download.value.path()).read_text()
    checked = used.cli("usage", "verify", _saved(tmp_path / "proof.json", proof))
    assert checked.code == 0

    page.goto(f"{site.url}/creator/earnings")
    chart = page.locator("figure.chart svg[role=img]").first
    expect(chart).to_be_visible()
    expect(chart.locator("title")).to_have_text("Earnings by licensee, EUR")
    expect(chart.locator("desc")).to_contain_text("Deep Lab: 0.25 EUR")
    assert chart.get_attribute("style") is None
    expect(page.get_by_role("table", name="Earnings by work, EUR")).to_contain_text("GPL-3.txt")
    inspect_page(page, "creator earnings filled")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the statement (CSV)").click()
    assert download.value.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [(r["work"], r["amount"], r["licensee_name"]) for r in rows] == [
        (gpl, "0.25", "Deep Lab")
    ]
    # A period with nothing in it, and a period that is not one.
    page.goto(f"{site.url}/creator/earnings?since=2001-01-01&until=2001-12-31")
    expect(page.locator("main")).to_contain_text("Nothing earned in this period")
    page.goto(f"{site.url}/creator/earnings?since=2001-02-31")
    expect(page.locator("#f-since-error")).to_contain_text("is not a date")
    expect(page.get_by_label("From")).to_have_attribute("aria-invalid", "true")


def _saved(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_another_creators_pages_and_downloads_are_not_found(
    page: Page, site: Site, tmp_path: Path, context: BrowserContext
) -> None:
    used = Used(page, site, tmp_path)
    gpl = used.works["GPL-3.txt"]
    page.get_by_role("button", name="Sign out").click()
    creator(page, site, tmp_path / "other", name="Bob Painter")
    for path in (
        f"/creator/works/{gpl}",
        f"/creator/terms/{gpl}",
        f"/creator/terms/{used.collection}",
        f"/creator/terms/{used.owner}",
        f"/creator/uses/{used.run_id}/{gpl}.usage.json",
    ):
        answer = page.goto(f"{site.url}{path}")
        assert answer is not None and answer.status == 404, path
        expect(page.locator("main")).to_contain_text("not yours to see")
    page.goto(f"{site.url}/creator/uses")
    expect(page.locator("main")).not_to_contain_text(used.run_id)
    page.goto(f"{site.url}/creator/earnings?since=all&until=all")
    expect(page.locator("main")).to_contain_text("Nothing earned")
    # A lab's account has no creator's pages at all.
    page.get_by_role("button", name="Sign out").click()
    sign_up(page, site, role="lab", name="Lab", email="lab@example.org", password=PASSWORD)
    answer = page.goto(f"{site.url}/creator")
    assert answer is not None and answer.status == 404
