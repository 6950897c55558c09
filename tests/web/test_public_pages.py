"""The public pages in a real browser against the real server, for a visitor with no
account: the log with its checkpoint and entries in words, an entry's proof that the
CLI verifies, a proof verified by upload and a tampered one refused with a sentence,
the publication check (an excerpt blocked with its owner's name, unrelated text
allowed, an image), a run's certificate with its figures and proofs, and forms posted
without their CSRF token refused."""

from __future__ import annotations

import io
import json
import random
import re
from pathlib import Path

import httpx
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.conftest import LICENSES
from tests.e2e.conftest import Cli
from tests.service.conftest import until_published
from tests.web.conftest import Site, inspect_page

GPL = (LICENSES / "GPL-3").read_text()
UNRELATED = "A short note on growing tomatoes in a cold spring, and when to water them. " * 6


def _picture(seed: int) -> Image.Image:
    """A picture of its own: coloured shapes on a gradient, from ``seed``."""
    rng = random.Random(seed)
    picture = Image.new("RGB", (480, 360))
    draw = ImageDraw.Draw(picture)
    for y in range(360):
        draw.line([(0, y), (480, y)], fill=(y % 256, 90, 255 - y % 256))
    for _ in range(40):
        x, y = rng.randrange(480), rng.randrange(360)
        w, h = rng.randrange(20, 120), rng.randrange(20, 120)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x, y, x + w, y + h], fill=colour, outline=(0, 0, 0), width=3)
    return picture


def _png(picture: Image.Image, kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    picture.save(out, kind)
    return out.getvalue()


class Registry:
    """A creator's works (a licence text and a picture), a lab granted a licence, and a
    run of the lab's that used the text, all through the CLI on their own machines."""

    def __init__(self, site: Site, root: Path) -> None:
        self.creator = site.party(root, "creator")
        self.owner = self.creator("owner", "create", "Ada Writer").stdout.split()[0]
        works = root / "works"
        works.mkdir()
        (works / "GPL-3.txt").write_text(GPL)
        (works / "harbour.png").write_bytes(_png(_picture(7)))
        self.creator("work", "register", str(works), "--owner", self.owner, "--workers", "1")
        listed = self.creator("work", "list", "--owner", self.owner, "--json").records()
        self.works = {Path(w["path"]).name: w["id"] for w in listed}
        self.lab = site.party(root, "lab")
        self.licensee = self.lab("licensee", "create", "Deep Lab").stdout.split()[0]
        asked = self.lab("license", "request", "--licensee", self.licensee, "--owner",
                         self.owner, "--purpose", "train-ai", "--offer", "0.25 EUR",
                         "--per", "work").stdout.split()[0]  # fmt: skip
        self.creator("license", "grant", asked, "--owner", self.owner)
        corpus = root / "corpus.jsonl"
        corpus.write_text(json.dumps({"id": "gpl", "text": GPL}) + "\n")
        run = self.lab("gate", "run", str(corpus), "--licensee", self.licensee, "--purpose",
                       "train-ai", "--out", str(root / "run"), "--workers", "1",
                       "--json")  # fmt: skip
        self.run_id = str(run.records()[0]["run_id"])
        until_published(
            lambda: self.creator("usage", "--owner", self.owner, "--json").records(), bool
        )


def _saved(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _verify_upload(page: Page, site: Site, path: Path) -> None:
    page.goto(f"{site.url}/public/verify")
    page.get_by_label("Proof file").set_input_files(str(path))
    page.get_by_role("button", name="Verify").click()


# -- empty states ----------------------------------------------------------------------


def test_a_visitor_sees_what_each_public_page_is_for_before_anything_happens(
    page: Page, site: Site
) -> None:
    steps = {
        "/public/log": "The log is empty",
        "/public/verify": "consentry log verify-proof FILE --log-key",
        "/public/check": "checked in memory and dropped with the answer: it is not kept",
    }
    for path, says in steps.items():
        page.goto(f"{site.url}{path}")
        expect(page.locator("main")).to_contain_text(says)
        inspect_page(page, f"public {path.rsplit('/', 1)[1]} empty")
    page.goto(f"{site.url}/public/log")
    expect(page.locator("main")).to_contain_text("The log has no signed checkpoint yet")
    page.goto(f"{site.url}/public/check")
    expect(page.locator("main")).to_contain_text("Nothing checked yet")
    # A run nobody started, and an entry past the log, are pages that do not exist.
    page.goto(f"{site.url}/public/certificates/run_aaaaaaaaaaaaaaaa")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    answer = page.request.get(f"{site.url}/public/log/entries/5", headers={"accept": "text/html"})
    assert answer.status == 404


# -- the log, its entries and their proofs ------------------------------------------------


def test_the_log_shows_its_checkpoint_and_entries_and_an_entry_s_proof_verifies_anywhere(
    page: Page, site: Site, tmp_path: Path
) -> None:
    made = Registry(site, tmp_path)
    page.goto(f"{site.url}/public/log")
    main = page.locator("main")
    vkey = made.creator("log", "key").stdout.strip()
    expect(page.locator("#log-key")).to_have_text(vkey)
    expect(main).to_contain_text("Root hash")
    expect(main).to_contain_text("No witness cosigns this log's checkpoints")
    expect(main).to_contain_text("Ada Writer joined the registry as a creator")
    expect(main).to_contain_text("Deep Lab joined the registry as a lab")
    expect(main).to_contain_text("Ada Writer registered 2 works")
    expect(main).to_contain_text("A creator granted a licence")
    expect(main).to_contain_text("A lab recorded the signed manifest of a training run, listing 1")
    # What the log does not name, it does not name: no party of a grant or a run.
    granted = page.locator("ol.entries li").filter(has_text="A creator granted a licence")
    expect(granted).not_to_contain_text("Ada Writer")
    expect(granted).to_contain_text("Who did this is not shown")
    # Newest first: the manifest comes before the creator joined.
    said = page.locator("ol.entries li p.said").all_inner_texts()
    assert said.index(next(s for s in said if "manifest" in s)) < said.index(
        next(s for s in said if "joined the registry as a creator" in s)
    )
    inspect_page(page, "public log filled")

    page.locator("ol.entries li").filter(has_text="registered 2 works").get_by_role(
        "link"
    ).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Log entry \d+"))
    expect(main).to_contain_text("Ada Writer registered the work")
    expect(main).to_contain_text("whose registered key signed this entry")
    expect(page.get_by_role("list", name=re.compile("audit path"))).to_be_visible()
    inspect_page(page, "public log entry")
    index = int(page.url.rsplit("/", 1)[1])
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download the proof")).click()
    assert download.value.suggested_filename == f"entry-{index}.tlog-proof"
    proof = _saved(
        tmp_path / download.value.suggested_filename, Path(download.value.path()).read_text()
    )
    # The CLI verifies it with only the log's key, on a machine that is not the registry.
    stranger = Cli(tmp_path / "stranger" / "home", keys=tmp_path / "stranger" / "keys")
    checked = stranger("log", "verify-proof", str(proof), "--log-key", vkey)
    assert checked.code == 0 and f"entry {index} is in" in checked.stdout
    # And the page verifies it, saying what it proves.
    _verify_upload(page, site, proof)
    result = page.locator("#result")
    expect(result).to_contain_text(f"Verified: log entry {index}")
    expect(result).to_contain_text("Ada Writer registered the work")
    inspect_page(page, "public verify verified")

    # One changed character in the entry it carries: the page says why it fails.
    lines = proof.read_text().split("\n")
    extra = lines[1]
    assert extra.startswith("extra ")
    flipped = extra[:-3] + ("A" if extra[-3] != "A" else "B") + extra[-2:]
    tampered = _saved(tmp_path / "tampered.tlog-proof", "\n".join([lines[0], flipped, *lines[2:]]))
    _verify_upload(page, site, tampered)
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Not verified:")
    expect(refusal).not_to_contain_text("Verified: log entry")
    inspect_page(page, "public verify refused")
    assert stranger("log", "verify-proof", str(tampered), "--log-key", vkey, expect=1).code == 1
    # A proof of another log (signed by another key) is refused too, as is a non-proof.
    for text, says in [
        (proof.read_text().replace("— consentry.log/", "— consentry.log/x"), "Not verified:"),
        ("hello", "Not verified: not a c2sp.org/tlog-proof@v1 proof"),
    ]:
        _verify_upload(page, site, _saved(tmp_path / "other.tlog-proof", text))
        expect(page.get_by_role("alert")).to_contain_text(says)


def test_a_usage_proof_from_the_creator_verifies_on_the_page(
    page: Page, site: Site, tmp_path: Path
) -> None:
    made = Registry(site, tmp_path)
    proofs = tmp_path / "proofs"
    made.creator("usage", "--owner", made.owner, "--out", str(proofs))
    (usage,) = proofs.glob("*.usage.json")
    _verify_upload(page, site, usage)
    result = page.locator("#result")
    expect(result).to_contain_text("Verified: the signed training manifest at log entry")
    expect(result).to_contain_text(f"lists the work “GPL-3.txt” ({made.works['GPL-3.txt']})")
    # Naming another work than the one the manifest lists breaks the proof.
    document = json.loads(usage.read_text())
    document["work_id"] = made.works["harbour.png"]
    forged = _saved(tmp_path / "forged.usage.json", json.dumps(document))
    _verify_upload(page, site, forged)
    expect(page.get_by_role("alert")).to_contain_text(
        f"Not verified: work {made.works['harbour.png']} is not in this manifest"
    )


# -- the publication check ---------------------------------------------------------------


def test_a_pasted_excerpt_is_blocked_with_its_owner_and_unrelated_text_passes(
    page: Page, site: Site, tmp_path: Path
) -> None:
    made = Registry(site, tmp_path)
    page.goto(f"{site.url}/public/check")
    excerpt = GPL[9000:10500]
    page.get_by_label("Text or code to check").fill(f"As a model once wrote:\n{excerpt}\nThe end.")
    page.get_by_role("button", name="Check").click()
    main = page.locator("main")
    expect(page.get_by_role("heading", name="Result: Blocked")).to_be_visible()
    expect(main).to_contain_text("Do not publish this")
    finding = page.locator("ul.findings li")
    expect(finding).to_contain_text("Ada Writer")
    expect(finding).to_contain_text("GPL-3.txt")
    expect(finding).to_contain_text(made.works["GPL-3.txt"])
    expect(finding.locator("mark").first).to_contain_text(excerpt[100:150])
    # What was typed is kept in the form, to change and check again.
    expect(page.get_by_label("Text or code to check")).to_have_value(
        re.compile(re.escape(excerpt[:80]))
    )
    inspect_page(page, "public check blocked")

    page.get_by_label("Text or code to check").fill(UNRELATED)
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("heading", name="Result: Allowed")).to_be_visible()
    expect(main).to_contain_text("It copies no registered work")
    inspect_page(page, "public check allowed")

    # A text file chosen instead of pasting.
    page.get_by_label("Text or code to check").fill("")
    copy = _saved(tmp_path / "chapter.txt", GPL[20000:22000])
    page.get_by_label("Or a file or an image").set_input_files(str(copy))
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("heading", name="Result: Blocked")).to_be_visible()

    # Nothing sent: the sentence is beside the field.
    page.goto(f"{site.url}/public/check")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#f-text-error")).to_contain_text("paste the text to check")
    expect(page.get_by_label("Text or code to check")).to_have_attribute("aria-invalid", "true")


def test_a_copy_of_a_registered_image_is_found(page: Page, site: Site, tmp_path: Path) -> None:
    made = Registry(site, tmp_path)
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(_png(_picture(7).resize((400, 300)), "JPEG"))
    page.goto(f"{site.url}/public/check")
    page.get_by_label("Or a file or an image").set_input_files(str(copy))
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("heading", name="Result: Blocked")).to_be_visible()
    finding = page.locator("ul.findings li")
    expect(finding).to_contain_text("a copy of the image")
    expect(finding).to_contain_text("harbour.png")
    expect(finding).to_contain_text("Ada Writer")
    assert made.works["harbour.png"] in finding.inner_text()
    inspect_page(page, "public check image")
    # Another picture is not that one.
    other = tmp_path / "other.png"
    other.write_bytes(_png(_picture(99)))
    page.get_by_label("Or a file or an image").set_input_files(str(other))
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("heading", name="Result: Allowed")).to_be_visible()


# -- a run's certificate -------------------------------------------------------------------


def test_a_run_s_certificate_shows_its_figures_and_links_to_its_proofs(
    page: Page, site: Site, tmp_path: Path
) -> None:
    made = Registry(site, tmp_path)
    page.goto(f"{site.url}/public/certificates/{made.run_id}")
    main = page.locator("main")
    expect(main).to_contain_text("This run used only works with a recorded basis")
    expect(main).to_contain_text("Deep Lab signed this run's manifest")
    figures = {
        h: page.locator(".card").filter(has=page.get_by_role("heading", name=h)).locator(".figure")
        for h in ("Items seen", "Registered works used", "Under a licence")
    }
    expect(figures["Items seen"]).to_have_text("1")
    expect(figures["Registered works used"]).to_have_text("1")
    expect(figures["Under a licence"]).to_have_text("1")
    expect(main).to_contain_text("of 1 owner")
    expect(main).to_contain_text("1 work is billed under its licence")
    # The owners' works and names, and what the lab pays, are not published.
    expect(main).not_to_contain_text("Ada Writer")
    expect(main).not_to_contain_text("GPL-3.txt")
    expect(main).not_to_contain_text("0.25")
    inspect_page(page, "public certificate")
    page.get_by_role("link", name=re.compile("log entry")).last.click()
    expect(main).to_contain_text("A lab recorded the signed manifest of a training run")
    expect(main).to_contain_text("Its proof")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download the proof")).click()
    proof = _saved(tmp_path / "manifest.tlog-proof", Path(download.value.path()).read_text())
    vkey = made.creator("log", "key").stdout.strip()
    assert made.lab("log", "verify-proof", str(proof), "--log-key", vkey).code == 0
    page.go_back()
    page.get_by_role("link", name=re.compile("log entry")).first.click()
    expect(main).to_contain_text("A lab started a training run")


# -- forms without their token -------------------------------------------------------------


def test_public_forms_posted_without_their_csrf_token_are_refused(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/public/check")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    for path, fields in [
        ("/public/check", {"text": GPL[:2000]}),
        ("/public/verify", {"text": "c2sp.org/tlog-proof@v1\nindex 0\n\n"}),
    ]:
        for sent in ({}, {"csrf": "0" * len(token)}):
            answer = page.request.post(f"{site.url}{path}", multipart={**fields, **sent})
            assert answer.status == 403, (path, sent, answer.status)
            assert "did not come from this site" in answer.text()
        # With the page's token, the same form is answered.
        answer = page.request.post(f"{site.url}{path}", multipart={**fields, "csrf": token})
        assert answer.status in (200, 422), (path, answer.status)


def test_the_licence_server_answers_a_browser_in_json_not_a_page(site: Site) -> None:
    # RSL's endpoints are for crawlers and the owner's site; a browser that follows a
    # licence link gets the same answer they do.
    answer = httpx.get(
        f"{site.url}/rsl/own_unknown0000000/license.xml", headers={"Accept": "text/html"}
    )
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
