"""The creator's pages in a real browser against the real server: empty states that
say what to do next, works registered from an uploaded folder, terms with their
sentences and preview, a request answered, a use with its proof, earnings with a chart
and a CSV; and every page and form closed to another account."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

from playwright.sync_api import BrowserContext, Locator, Page, expect

from consentry.app import uploaded_files
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


def bring_cli_key(page: Page, site: Site, cli: Cli, party_id: str) -> None:
    """Import the CLI party's key file on the key page, as a creator who started on the
    command line does: the page links the party to the account (a request signed with
    the key proves it) and keeps the key in this browser to sign with."""
    page.goto(f"{site.url}/account/key")
    page.get_by_label("Key file").set_input_files(str(cli.keys / f"{party_id}.key"))
    page.get_by_role("button", name="Import the key file").click()
    expect(page.locator("[data-key-status]")).to_contain_text("This browser holds your key")


def creator(page: Page, site: Site, root: Path, name: str = "Ada Writer") -> tuple[Cli, str]:
    """A creator signed up in the browser, its party made with the CLI and its key
    brought to the browser."""
    first = name.split(maxsplit=1)[0].lower()
    cli = site.party(root, first)
    owner = cli("owner", "create", name).stdout.split()[0]
    email = f"{first}@example.org"
    sign_up(page, site, role="creator", name=name, email=email, password=PASSWORD)
    bring_cli_key(page, site, cli, owner)
    return cli, owner


def sign(page: Page, until: Locator, *, within: float = 60) -> int:
    """Press Sign each time the dialog shows, in words, what the key will sign (a change
    may ask in more than one round), until ``until`` shows; how many times it asked."""
    dialog = page.get_by_role("dialog", name="Sign with your key?")
    asked = 0
    deadline = time.monotonic() + within
    while not until.first.is_visible():
        assert time.monotonic() < deadline, f"{until} did not show after {asked} signings"
        if dialog.is_visible():
            dialog.get_by_role("button", name="Sign").click()
            asked += 1
        else:
            page.wait_for_timeout(100)
    assert asked, "the change was made without asking the person to sign it"
    return asked


def _texts(folder: Path, count: int) -> list[Path]:
    """``count`` real, distinct texts: the licence texts, each file a numbered part."""
    sources = [s for s in sorted(LICENSES.glob("*")) if s.is_file() and s.stat().st_size > 4000]
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


# -- changes signed in the browser ---------------------------------------------------


def _registered(cli: Cli, owner: str) -> list[dict[str, object]]:
    return cli("work", "list", "--owner", owner, "--json").records()


def test_a_creator_uploads_a_folder_sets_terms_and_answers_a_request_in_the_browser(
    page: Page, site: Site, tmp_path: Path
) -> None:
    cli, owner = creator(page, site, tmp_path)
    lab = site.party(tmp_path, "lab")
    licensee = lab("licensee", "create", "Deep Lab").stdout.split()[0]

    # A collection, made on the works page and signed here.
    page.goto(f"{site.url}/creator/works")
    page.get_by_label("Collection name").fill("Licences")
    page.get_by_role("button", name="Make the collection").click()
    sign(page, page.locator("main li").filter(has_text="Licences: 0 works"))

    # A folder uploaded: fingerprinted on the server, registered with this key.
    folder = tmp_path / "Licences"
    folder.mkdir()
    for name in ("GPL-3", "Apache-2.0", "MPL-2.0"):
        (folder / f"{name}.txt").write_text((LICENSES / name).read_text())
    (folder / "empty.txt").write_text("")
    page.goto(f"{site.url}/creator/upload")
    page.get_by_label("A whole folder").set_input_files(str(folder))
    expect(page.locator("#upload-chosen")).to_contain_text("4 files chosen")
    page.get_by_label("Collection").select_option(label="Licences")
    page.get_by_role("button", name="Register these files").click()
    done = page.locator("#progress-summary")
    sign(page, done)
    expect(done).to_contain_text("Done: 3 works registered")
    expect(done).to_contain_text("1 files not registered")
    expect(page.locator("#progress-text")).to_have_text("4 of 4 files")
    expect(page.locator("#progress-problem-list")).to_contain_text("empty.txt is empty")
    inspect_page(page, "creator upload done")
    works = _registered(cli, owner)
    assert sorted(Path(str(w["path"])).name for w in works) == [
        "Apache-2.0.txt", "GPL-3.txt", "MPL-2.0.txt"
    ]  # fmt: skip
    collection = {w["collection_id"] for w in works}
    assert len(collection) == 1 and None not in collection
    # The same folder again: the registry answers each file as already registered.
    page.goto(f"{site.url}/creator/upload")
    page.get_by_label("A whole folder").set_input_files(str(folder))
    page.get_by_role("button", name="Register these files").click()
    # Nothing new to sign: the registry answers at once, and no question is asked.
    expect(done).to_contain_text("Done: 0 works registered, 3 were registered already")
    page.get_by_role("link", name="See your works").click()
    expect(page.locator("main")).to_contain_text("3 works registered")

    # Terms: every choice says what it means, and the preview is what is signed.
    page.goto(f"{site.url}/creator/terms")
    train = page.get_by_role("group", name="Training generative AI")
    train.get_by_label("Needs a licence").check()
    expect(page.locator("#sentence-train-ai")).to_have_text(
        "Anyone who wants to train AI that generates text, images or code on your work "
        "must ask you for a licence first."
    )
    page.get_by_role("group", name="Search indexing").get_by_label("Allow").check()
    expect(page.locator("#sentence-search")).to_contain_text("Anyone may index your work")
    page.get_by_role("group", name="Other text and data mining").get_by_label("Deny").check()
    page.get_by_label("Amount").fill("0.40")
    page.get_by_label("Currency").fill("EUR")
    expect(page.locator("#sentence-price")).to_have_text("A licence costs 0.40 EUR per work.")
    page.get_by_label("Credit line").fill("Ada Writer, Licences")
    expect(page.locator("#sentence-conditions")).to_contain_text("“Ada Writer, Licences”")
    preview = json.loads(page.locator("#preview-json").inner_text())
    assert preview == {
        "version": 1,
        "categories": {"train-ai": "license", "search": "allow", "data-mining": "deny"},
        "price": {"per": "work", "amount": "0.40", "currency": "EUR"},
        "conditions": {"attribution": "Ada Writer, Licences"},
    }
    expect(page.locator("#preview-search")).to_have_text("allow")
    inspect_page(page, "creator terms chosen")
    page.get_by_role("button", name="Sign and publish these terms").click()
    sign(page, page.get_by_role("listitem").filter(has_text="Search indexing: Anyone may"))
    published = cli("terms", "show", owner, "--json").records()[0]
    assert published["effective"]["categories"]["data-mining"] == "deny"
    assert published["effective"]["price"] == {"per": "work", "amount": "0.40", "currency": "EUR"}

    # A lab asks; the creator counters, the lab accepts, the creator grants.
    asked = lab("license", "request", "--licensee", licensee, "--owner", owner, "--purpose",
                "train-ai", "--offer", "0.10 EUR").stdout.split()[0]  # fmt: skip
    page.goto(f"{site.url}/creator/requests")
    card = page.locator(f"article[id='{asked}']")
    expect(card).to_contain_text("Deep Lab asks for a licence")
    expect(card).to_contain_text("0.10 EUR per work")
    inspect_page(page, "creator requests open")
    card.get_by_text("Make a counter-offer").click()
    card.get_by_label("Amount").fill("0.40")
    card.get_by_label("Currency").fill("EUR")
    card.get_by_label("Per").select_option("work")
    card.get_by_role("button", name="Send the counter-offer").click()
    sign(page, page.get_by_role("heading", name="Waiting for the lab"))
    expect(page.locator(f"article[id='{asked}']")).to_contain_text("0.40 EUR per work")
    lab("license", "accept", asked, "--licensee", licensee)
    page.reload()
    card = page.locator(f"article[id='{asked}']")
    expect(card).to_contain_text("accepted your counter-offer")
    card.get_by_role("button", name=re.compile("Grant this licence")).click()
    sign(page, page.get_by_role("table", name="Requests you answered"))
    expect(page.get_by_role("table", name="Requests you answered")).to_contain_text("Granted")
    inspect_page(page, "creator requests answered")
    held = lab("license", "list", "--licensee", licensee, "--json").records()
    [granted] = [r for r in held if r["record"] == "grant" and r["request_id"] == asked]
    assert granted["price"] == {"per": "work", "amount": "0.40", "currency": "EUR"}

    # The lab's run uses a work; the creator sees the use and what it earned.
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "gpl", "text": GPL}) + "\n")
    lab("gate", "run", str(corpus), "--licensee", licensee, "--purpose", "train-ai", "--out",
        str(tmp_path / "run"), "--workers", "1")  # fmt: skip
    until_published(lambda: cli("usage", "--owner", owner, "--json").records(), bool)
    page.goto(f"{site.url}/creator/uses")
    expect(page.get_by_role("row").filter(has_text="GPL-3.txt")).to_contain_text("Deep Lab")
    page.goto(f"{site.url}/creator/earnings")
    expect(page.locator("figure.chart svg desc").first).to_contain_text("Deep Lab: 0.40 EUR")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the statement (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [(r["licensee_name"], r["unit_price"], r["amount"]) for r in rows] == [
        ("Deep Lab", "0.40", "0.40")
    ]


def test_two_thousand_files_register_with_a_progress_bar_and_resume_after_a_stop(
    page: Page, site: Site, tmp_path: Path
) -> None:
    cli, owner = creator(page, site, tmp_path)
    folder = tmp_path / "Collected"
    _texts(folder, 2000)
    page.goto(f"{site.url}/creator/upload")
    page.get_by_label("A whole folder").set_input_files(str(folder))
    expect(page.locator("#upload-chosen")).to_contain_text("2,000 files chosen")
    page.get_by_role("button", name="Register these files").click()
    text = page.locator("#progress-text")
    new = re.compile(r"^[1-9][\d,]* new")
    sign(page, page.locator("#progress-counts").filter(has_text=new), within=120)
    page.get_by_role("button", name="Stop").click()
    expect(text).to_contain_text("Stopped:", timeout=60_000)
    stopped = int(re.sub(r"\D", "", text.inner_text().split(" of ")[0]))
    assert 0 < stopped < 2000
    assert len(_registered(cli, owner)) == stopped
    expect(page.locator("#progress-bar")).to_have_attribute("value", str(stopped))
    inspect_page(page, "creator upload stopped")
    page.get_by_role("button", name="Resume").click()  # no second question: agreed once
    expect(page.locator("#progress-summary")).to_contain_text(
        "Done: 2,000 works registered", timeout=300_000
    )
    expect(text).to_have_text("2,000 of 2,000 files")
    assert len(_registered(cli, owner)) == 2000
    page.goto(f"{site.url}/creator/works")
    expect(page.locator("main")).to_contain_text("2,000 works registered")
    first = page.locator("tbody tr td:first-child").all_inner_texts()
    page.get_by_role("link", name="Next 50 works").click()
    expect(page.get_by_role("table", name="Your works, continued")).to_be_visible()
    second = page.locator("tbody tr td:first-child").all_inner_texts()
    assert len(first) == len(second) == 50 and not set(first) & set(second)
    inspect_page(page, "creator works second page")


def test_another_creator_cannot_sign_the_first_ones_changes(
    page: Page, site: Site, tmp_path: Path
) -> None:
    used = Used(page, site, tmp_path)
    asked = used.lab("license", "request", "--licensee", used.licensee, "--owner", used.owner,
                     "--purpose", "search").stdout.split()[0]  # fmt: skip
    page.get_by_role("button", name="Sign out").click()
    creator(page, site, tmp_path / "other", name="Bob Painter")
    page.goto(f"{site.url}/creator/requests")
    expect(page.locator("main")).not_to_contain_text(asked)
    # The first creator's forms, sent from this account with its own key: refused.
    attempts = {
        "grant": {"params": {"request_id": asked}},
        "deny": {"params": {"request_id": asked}, "body": {"reason": "mine now"}},
        "put-terms": {
            "params": {"target_id": used.collection},
            "body": {"terms": {"version": 1, "categories": {"train-ai": "allow"}}},
        },
    }
    for operation, options in attempts.items():
        refused = page.evaluate(
            """async ([operation, options]) => {
                const { runChange } = await import("/static/js/changes.js");
                try { await runChange(operation, { ...options, confirm: false }); return null; }
                catch (error) { return { status: error.status ?? null, message: error.message }; }
            }""",
            [operation, options],
        )
        assert refused is not None and refused["status"] in (403, 404), (operation, refused)
    listed = used.lab("license", "list", "--licensee", used.licensee, "--json").records()
    assert {r["id"]: r["state"] for r in listed if r["record"] == "request"}[asked] == "pending"
    shown = used.cli("terms", "show", used.collection, "--json").records()[0]
    assert shown["effective"]["categories"]["train-ai"] == "license"
