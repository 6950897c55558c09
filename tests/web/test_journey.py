"""The whole journey of issue 22 through the pages, in three browsers of their own: a
creator who never opens a terminal, a lab that uses the CLI for its runs, and a visitor.
The creator signs up, makes and backs up a key, uploads a folder, sets terms, answers
a request with a counter-offer and then a grant; the lab signs up, brings its CLI key,
asks, accepts and sees the grant, and records a run from the CLI; the creator sees the
use and the earnings chart; a visitor checks a pasted excerpt and verifies a proof.
The grant the browser signed verifies in Python with the creator's key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from consentry import app
from consentry.crypto import PublicKey, SignedEnvelope
from consentry.errors import VerificationError
from consentry.registry import PartyKind, verify_grant
from consentry.store.models import GrantRow
from tests.conftest import LICENSES
from tests.service.conftest import until_published
from tests.web.conftest import Site, inspect_page
from tests.web.test_accounts import PASSWORD, sign_up
from tests.web.test_creator_pages import sign
from tests.web.test_keys import make_key
from tests.web.test_lab_pages import bring_key

GPL = (LICENSES / "GPL-3").read_text()


def _browser_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _creator_uploads_and_sets_terms(page: Page, site: Site, root: Path) -> str:
    sign_up(page, site, role="creator", name="Ada Writer", email="ada@example.org",
            password=PASSWORD)  # fmt: skip
    make_key(page, root)
    owner = re.search(r"own_[a-z2-7]{16}", page.content())
    assert owner is not None
    folder = root / "Poems"
    folder.mkdir()
    for name in ("GPL-3", "Apache-2.0", "MPL-2.0"):
        (folder / f"{name}.txt").write_text((LICENSES / name).read_text())
    page.goto(f"{site.url}/creator/upload")
    page.get_by_label("A whole folder").set_input_files(str(folder))
    page.get_by_role("button", name="Register these files").click()
    done = page.locator("#progress-summary")
    sign(page, done)
    expect(done).to_contain_text("Done: 3 works registered")

    page.goto(f"{site.url}/creator/terms")
    page.get_by_role("group", name="Training generative AI").get_by_label("Needs a licence").check()
    page.get_by_label("Amount").fill("0.40")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_role("button", name="Sign and publish these terms").click()
    sign(page, page.get_by_role("listitem").filter(has_text="Price: A licence costs 0.40 EUR"))
    return owner.group(0)


def test_a_creator_a_lab_and_a_visitor_through_the_pages(
    browser: Browser, site_on_each_backend: Site, tmp_path: Path
) -> None:
    site = site_on_each_backend
    ada, deep = _browser_page(browser), _browser_page(browser)
    owner = _creator_uploads_and_sets_terms(ada, site, tmp_path)

    # The lab made its party with the CLI, and brings that key to its browser.
    cli = site.party(tmp_path, "deep")
    licensee = cli("licensee", "create", "Deep Lab").stdout.split()[0]
    sign_up(deep, site, role="lab", name="Deep Lab", email="deep@example.org", password=PASSWORD)
    bring_key(deep, site, cli, licensee)
    deep.goto(f"{site.url}/lab/search")
    deep.get_by_label("GPL-3.txt", exact=True).check()
    deep.get_by_label("Training generative AI").check()
    deep.get_by_label("Amount").fill("0.10")
    deep.get_by_role("button", name="Ask for licences").click()
    dialog = deep.get_by_role("dialog", name="Sign with your key?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Sign").click()
    expect(deep.locator("#sending-status")).to_have_text("Sent 1 of 1 request.", timeout=30_000)
    asked = re.search(r"req_[a-z2-7]{16}", deep.locator("#sending-list").inner_text())
    assert asked is not None
    request_id = asked.group(0)

    # The creator answers with a counter-offer; the lab accepts; the creator grants.
    ada.goto(f"{site.url}/creator/requests")
    card = ada.locator(f"article[id='{request_id}']")
    expect(card).to_contain_text("Deep Lab asks for a licence")
    card.get_by_text("Make a counter-offer").click()
    card.get_by_label("Amount").fill("0.40")
    card.get_by_label("Currency").fill("EUR")
    card.get_by_label("Per").select_option("work")
    card.get_by_role("button", name="Send the counter-offer").click()
    sign(ada, ada.get_by_role("heading", name="Waiting for the lab"))

    deep.goto(f"{site.url}/lab/requests")
    offer = deep.locator("section.request").filter(has_text=request_id)
    expect(offer).to_contain_text("Ada Writer offers a licence for training generative AI")
    offer.get_by_role("button", name="Accept the counter-offer").click()
    dialog.get_by_role("button", name="Sign").click()
    expect(deep.locator("main")).to_contain_text("You accepted the counter-offer")

    ada.reload()
    card = ada.locator(f"article[id='{request_id}']")
    expect(card).to_contain_text("accepted your counter-offer")
    card.get_by_role("button", name=re.compile("Grant this licence")).click()
    sign(ada, ada.get_by_role("table", name="Requests you answered"))

    # The grant the browser signed verifies in Python with the creator's registered key.
    with app.Workspace(site.settings) as ws:
        party = ws.registry.parties.get(owner, PartyKind.OWNER)
    held = cli("license", "list", "--licensee", licensee, "--json").records()
    [grant] = [r for r in held if r["record"] == "grant" and r["request_id"] == request_id]
    assert grant["price"] == {"per": "work", "amount": "0.40", "currency": "EUR"}
    assert grant["owner_id"] == owner
    deep.goto(f"{site.url}/lab/grants")
    shown = deep.locator("section.grant").filter(has_text=str(grant["id"]))
    expect(shown).to_contain_text(f"Signature verified with Ada Writer's key {party.key_id}")
    _verify_in_python(site, str(grant["id"]), owner, PublicKey.from_hex(party.public_key))

    # The lab's run, on its own machine with the CLI, records its manifest.
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "gpl", "text": GPL}) + "\n")
    run = cli("gate", "run", str(corpus), "--licensee", licensee, "--purpose", "train-ai",
              "--out", str(tmp_path / "run"), "--workers", "1", "--json")  # fmt: skip
    run_id = str(run.records()[0]["run_id"])
    until_published(lambda: cli("status").stdout, bool)

    ada.goto(f"{site.url}/creator/uses")
    row = ada.get_by_role("row").filter(has_text=run_id)
    expect(row).to_contain_text("Deep Lab")
    with ada.expect_download() as download:
        row.get_by_role("link", name=re.compile("Download")).click()
    proof = tmp_path / "proof.json"
    download.value.save_as(proof)
    ada.goto(f"{site.url}/creator/earnings")
    chart = ada.locator("figure.chart svg[role=img]").first
    expect(chart.locator("desc")).to_contain_text("Deep Lab: 0.40 EUR")
    inspect_page(ada, "journey creator earnings")

    # A visitor, with no account: a pasted excerpt is blocked with its owner's name, and
    # the creator's proof of the use verifies against the public log.
    visitor = _browser_page(browser)
    visitor.goto(f"{site.url}/public/check")
    excerpt = GPL[9000:10500]
    visitor.get_by_label("Text or code to check").fill(f"A model wrote:\n{excerpt}\nThe end.")
    visitor.get_by_role("button", name="Check").click()
    expect(visitor.get_by_role("heading", name="Result: Blocked")).to_be_visible()
    expect(visitor.locator("ul.findings li").first).to_contain_text("Ada Writer")
    inspect_page(visitor, "journey visitor check blocked")
    visitor.goto(f"{site.url}/public/verify")
    visitor.get_by_label("Proof file").set_input_files(str(proof))
    visitor.get_by_role("button", name="Verify").click()
    expect(visitor.locator("#result")).to_contain_text(
        "Verified: the signed training manifest at log entry"
    )
    inspect_page(visitor, "journey visitor proof verified")
    for opened in (ada, deep, visitor):
        assert not opened.errors, opened.errors  # type: ignore[attr-defined]


def _verify_in_python(site: Site, grant_id: str, owner: str, owner_key: PublicKey) -> None:
    """The grant as the database holds it, verified here with the creator's registered
    key (the one the browser made): the browser signed the exact bytes kept."""
    engine = create_engine(site.settings.database_url)
    try:
        with Session(engine) as session:
            row = session.get(GrantRow, grant_id)
            assert row is not None
            envelope = SignedEnvelope.from_stored(
                kind="grant", body=row.body, key_id=row.key_id, signature_b64=row.signature
            )
    finally:
        engine.dispose()
    granted = verify_grant(envelope, owner_id=owner, owner_key=owner_key)
    assert granted.id == grant_id
    forged = SignedEnvelope(
        "grant", envelope.body.replace(b'"0.40"', b'"0.04"'), envelope.key_id, envelope.signature
    )
    with pytest.raises(VerificationError):
        verify_grant(forged, owner_id=owner, owner_key=owner_key)
