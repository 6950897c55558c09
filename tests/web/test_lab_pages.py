"""The lab's pages in a real browser against the real server: empty states that say
what to do next, works found with their owners' terms in words, licences asked for
many works of two owners at once, a counter-offer accepted, grants shown valid only
when their owners' signatures verify, runs and what they owe; and every page of a
lab's closed to another account."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from consentry.crypto import FileKeyStore
from consentry.crypto.httpsig import sign_request
from consentry.store.models import EventRow, GrantRow
from tests.conftest import LICENSES
from tests.e2e.conftest import Cli
from tests.web.conftest import Site, inspect_page
from tests.web.test_accounts import sign_up

PASSWORD = "long enough password"


def _csrf(page: Page) -> str:
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    return token


def link_key(page: Page, site: Site, cli: Cli, party_id: str) -> None:
    """Prove to the account signed in on ``page`` that it holds the CLI party's key,
    by a request signed with it (as the key page's script does with a browser key)."""
    page.goto(f"{site.url}/account/key")
    url = f"{site.url}/account/party"
    key = FileKeyStore(cli.keys).load(party_id)
    signed = sign_request(method="POST", url=url, headers={}, body=b"", signer=key,
                          created=int(time.time()), nonce=secrets.token_urlsafe(12))  # fmt: skip
    answer = page.request.post(url, headers={**signed, "x-csrf-token": _csrf(page)}, data=b"")
    assert answer.status == 201, answer.text()


def lab(page: Page, site: Site, root: Path, name: str = "Deep Lab") -> tuple[Cli, str]:
    """A lab signed up in the browser, its party made with the CLI and linked."""
    slug = name.split(maxsplit=1)[0].lower()
    cli = site.party(root, slug)
    licensee = cli("licensee", "create", name).stdout.split()[0]
    sign_up(page, site, role="lab", name=name, email=f"{slug}@example.org", password=PASSWORD)
    link_key(page, site, cli, licensee)
    return cli, licensee


def test_a_new_lab_sees_what_to_do_next_on_every_page(
    page: Page, site: Site, tmp_path: Path
) -> None:
    lab(page, site, tmp_path)
    steps = {
        "/lab": "Start by finding works to license",
        "/lab/search": "No work is registered yet",
        "/lab/requests": "You have asked for no licence yet",
        "/lab/grants": "You hold no grant yet",
        "/lab/runs": "consentry gate run",
        "/lab/statements": "Nothing owed in this period",
    }
    for path, says in steps.items():
        page.goto(f"{site.url}{path}")
        expect(page.locator("main")).to_contain_text(says)
        inspect_page(page, f"lab {path.removeprefix('/lab').strip('/') or 'dashboard'} empty")


# -- a lab that finds, asks, accepts, holds and uses -------------------------------------

TERMS = {
    "version": 1,
    "categories": {"train-ai": "license", "search": "allow", "publish-output": "deny"},
    "price": {"per": "work", "amount": "0.25", "currency": "EUR"},
    "conditions": {"attribution": "Ada Writer, Collected Licences"},
}


def bring_key(page: Page, site: Site, cli: Cli, party_id: str) -> None:
    """Import the CLI party's key file on the key page: the page links the party to
    the account and keeps the key in this browser to sign with."""
    page.goto(f"{site.url}/account/key")
    page.get_by_label("Key file").set_input_files(str(cli.keys / f"{party_id}.key"))
    page.get_by_role("button", name="Import the key file").click()
    expect(page.locator("[data-key-status]")).to_contain_text("This browser holds your key")


def sign(page: Page, *, times: int = 1) -> None:
    """Press Sign in the dialog that shows, in words, what the key will sign."""
    dialog = page.get_by_role("dialog", name="Sign with your key?")
    for _ in range(times):
        expect(dialog).to_be_visible(timeout=30_000)
        dialog.get_by_role("button", name="Sign").click()


class Owners:
    """Two creators on their own machines, with works and terms set by the CLI."""

    def __init__(self, site: Site, root: Path) -> None:
        self.ada = site.party(root, "ada")
        self.ada_id = self.ada("owner", "create", "Ada Writer").stdout.split()[0]
        self.bob = site.party(root, "bob")
        self.bob_id = self.bob("owner", "create", "Bob Painter").stdout.split()[0]
        works = root / "ada-works"
        works.mkdir()
        for name in ("GPL-3", "Apache-2.0"):
            (works / f"{name}.txt").write_text((LICENSES / name).read_text())
        self.ada("work", "register", str(works), "--owner", self.ada_id, "--workers", "1")
        terms = root / "terms.json"
        terms.write_text(json.dumps(TERMS))
        self.ada("terms", "set", self.ada_id, "--owner", self.ada_id, "--file", str(terms))
        theirs = root / "bob-works"
        theirs.mkdir()
        (theirs / "MPL-2.0.txt").write_text((LICENSES / "MPL-2.0").read_text())
        self.bob("work", "register", str(theirs), "--owner", self.bob_id, "--workers", "1")
        listed = [
            *self.ada("work", "list", "--owner", self.ada_id, "--json").records(),
            *self.bob("work", "list", "--owner", self.bob_id, "--json").records(),
        ]
        self.works = {Path(w["path"]).stem: str(w["id"]) for w in listed}
        parties = self.ada("owner", "list", "--json").records()
        self.key_ids = {str(p["id"]): str(p["key_id"]) for p in parties}


def _request_of(page: Page, owner: str) -> str:
    sent = page.locator("#sending-list li").filter(has_text=f"Sent to {owner}")
    found = re.search(r"request (req_[a-z2-7]+)", sent.inner_text())
    assert found, sent.inner_text()
    return found.group(1)


def _tamper(site: Site, grant_id: str, *, event: bool) -> None:
    """Change a grant behind the service's back: the signed record of its issue (the
    event the registry reads it from), or only the grants table's copy of it."""
    engine = create_engine(site.settings.database_url)
    try:
        if event:
            # What only the database's owner can do: lift the events' append-only rule.
            with engine.begin() as connection:
                if engine.dialect.name == "sqlite":
                    connection.execute(text("DROP TRIGGER IF EXISTS events_no_update"))
                else:
                    connection.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
        with Session(engine) as session, session.begin():
            if event:
                row = session.scalars(
                    select(EventRow).where(
                        EventRow.kind == "grant.issued", EventRow.subject_id == grant_id
                    )
                ).one()
                body = json.loads(row.body)
                body["payload"]["grant"]["purposes"] = sorted(
                    {*body["payload"]["grant"]["purposes"], "publish-output"}
                )
                row.body = json.dumps(body)
            else:
                grant = session.get(GrantRow, grant_id)
                assert grant is not None
                body = json.loads(grant.body)
                body["price"] = {"per": "work", "amount": "0.01", "currency": "EUR"}
                grant.body = json.dumps(body)
    finally:
        engine.dispose()


def test_a_lab_finds_asks_two_owners_accepts_a_counter_offer_and_sees_its_grants_and_runs(
    page: Page, site: Site, tmp_path: Path
) -> None:
    owners = Owners(site, tmp_path)
    cli = site.party(tmp_path, "deep")
    licensee = cli("licensee", "create", "Deep Lab").stdout.split()[0]
    sign_up(page, site, role="lab", name="Deep Lab", email="deep@example.org", password=PASSWORD)
    bring_key(page, site, cli, licensee)

    # Search: every work with its owner and its terms in words; by title, owner, kind.
    page.goto(f"{site.url}/lab/search")
    works = page.get_by_role("list", name="Works found").locator("li.work")
    expect(works).to_have_count(3)
    gpl = works.filter(has_text="GPL-3.txt")
    expect(gpl).to_contain_text("by Ada Writer")
    expect(gpl).to_contain_text("Allowed without asking: search indexing.")
    expect(gpl).to_contain_text("Needs a licence from its owner: training generative AI")
    expect(gpl).to_contain_text("Refused unless its owner signs a licence: publishing AI output")
    expect(gpl).to_contain_text("A licence costs 0.25 EUR per work.")
    expect(gpl).to_contain_text("Credit it as: “Ada Writer, Collected Licences”.")
    expect(works.filter(has_text="MPL-2.0.txt")).to_contain_text("No price is published")
    inspect_page(page, "lab search filled")
    page.get_by_label("Title or owner's name").fill("bob")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("link", name="Bob Painter's works")).to_be_visible()
    expect(works).to_have_count(1)
    page.get_by_role("link", name="Bob Painter's works").click()
    expect(page.locator("main")).to_contain_text("Showing only the works of Bob Painter")
    expect(works).to_have_count(1)
    page.goto(f"{site.url}/lab/search?q=gpl")
    expect(works).to_have_count(1)
    page.goto(f"{site.url}/lab/search?kind=image")
    expect(page.locator("main")).to_contain_text("No work matches of that kind")
    inspect_page(page, "lab search nothing found")
    page.goto(f"{site.url}/lab/search?kind=video")
    expect(page.locator("#f-kind-error")).to_contain_text("is not a kind of work")
    page.goto(f"{site.url}/lab/search")
    first = works.first.get_by_role("checkbox").get_attribute("value")
    page.goto(f"{site.url}/lab/search?after={first}")
    expect(works).to_have_count(2)
    expect(page.get_by_role("link", name="First page")).to_be_visible()

    # Three works of two owners, asked for at once: one request per owner.
    page.goto(f"{site.url}/lab/search")
    page.get_by_role("button", name="Ask for licences").click()
    expect(page.locator("#works-error")).to_have_text("Select at least one work to ask for.")
    for name in ("GPL-3.txt", "Apache-2.0.txt", "MPL-2.0.txt"):
        page.get_by_label(name, exact=True).check()
    expect(page.locator("#selected")).to_contain_text(
        "3 works selected, of 2 owners: 2 requests will be sent, one per owner."
    )
    page.get_by_role("button", name="Ask for licences").click()
    expect(page.locator("#purposes-error")).to_contain_text("Choose at least one use")
    page.get_by_label("Training generative AI").check()
    page.get_by_label("Amount").fill("0.10")
    page.get_by_role("button", name="Ask for licences").click()
    sign(page, times=2)
    expect(page.locator("#sending-status")).to_have_text("Sent 2 of 2 requests.", timeout=30_000)
    expect(page.locator("#sending-progress")).to_have_attribute("value", "2")
    asked_ada, asked_bob = _request_of(page, "Ada Writer"), _request_of(page, "Bob Painter")
    expect(page.locator("#sending-list")).to_contain_text(f"request {asked_ada} for 2 works")
    inspect_page(page, "lab search requests sent")
    mine = {r["id"]: r for r in cli("license", "list", "--licensee", licensee, "--json").records()}
    assert sorted(mine[asked_ada]["scope"]["ids"]) == sorted(
        [owners.works["GPL-3"], owners.works["Apache-2.0"]]
    )
    assert mine[asked_bob]["scope"]["ids"] == [owners.works["MPL-2.0"]]
    assert mine[asked_ada]["offer"] == {"per": "work", "amount": "0.10", "currency": "EUR"}

    page.goto(f"{site.url}/lab/requests")
    expect(page.locator("main")).to_contain_text("Waiting for the owner to answer")
    inspect_page(page, "lab requests pending")

    # Ada counters on the command line; the lab reads it in words and accepts.
    owners.ada("license", "counter", asked_ada, "--owner", owners.ada_id, "--price", "0.20 EUR")
    owners.bob("license", "grant", asked_bob, "--owner", owners.bob_id)
    page.goto(f"{site.url}/lab")
    expect(page.locator("main")).to_contain_text("1 counter-offer waits for you to accept")
    inspect_page(page, "lab dashboard counter-offer")
    page.goto(f"{site.url}/lab/requests")
    offer = page.locator("section.request").filter(has_text=asked_ada)
    expect(offer).to_contain_text(
        "Ada Writer offers a licence for training generative AI, for 0.20 EUR per work."
    )
    inspect_page(page, "lab requests counter-offer")
    offer.get_by_role("button", name="Accept the counter-offer").click()
    sign(page)
    expect(page).to_have_url(f"{site.url}/lab/requests/{asked_ada}", timeout=30_000)
    expect(page.locator("main")).to_contain_text("You accepted the counter-offer")
    inspect_page(page, "lab request accepted")

    # Ada grants on the command line: both grants verify on the page, with whose key.
    granted = owners.ada("license", "grant", asked_ada, "--owner", owners.ada_id, "--json")
    ada_grant = str(granted.records()[0]["id"])
    page.goto(f"{site.url}/lab/grants")
    card = page.locator("section.grant").filter(has_text=ada_grant)
    expect(card).to_contain_text(
        f"Signature verified with Ada Writer's key {owners.key_ids[owners.ada_id]}."
    )
    expect(card).to_contain_text("0.20 EUR per work")
    expect(card).to_contain_text("In force")
    bob_card = page.locator("section.grant").filter(has_text="Bob Painter")
    expect(bob_card).to_contain_text(
        f"Signature verified with Bob Painter's key {owners.key_ids[owners.bob_id]}."
    )
    bob_grant = str(bob_card.locator(".state .mono").inner_text())
    inspect_page(page, "lab grants filled")
    page.goto(f"{site.url}/lab/requests/{asked_ada}")
    expect(page.locator("main")).to_contain_text("Signature verified with Ada Writer's key")
    page.goto(f"{site.url}/lab/grants/{ada_grant}")
    expect(page.locator("main")).to_contain_text("training generative AI")
    inspect_page(page, "lab grant")

    # A run on the lab's own machine, under the grants; its manifest is on the page.
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "gpl", "text": (LICENSES / "GPL-3").read_text()}) + "\n")
    run = cli("gate", "run", str(corpus), "--licensee", licensee, "--purpose", "train-ai",
              "--out", str(tmp_path / "run"), "--workers", "1", "--json")  # fmt: skip
    run_id = str(run.records()[0]["run_id"])
    page.goto(f"{site.url}/lab/runs")
    row = page.get_by_role("row").filter(has_text=run_id)
    expect(row).to_contain_text("Recorded")
    expect(row).to_contain_text("0.20 EUR")
    expect(row.get_by_role("link", name=re.compile("Certificate"))).to_have_attribute(
        "href", f"/public/certificates/{run_id}"
    )
    inspect_page(page, "lab runs filled")
    page.goto(f"{site.url}/lab")
    expect(page.get_by_role("heading", name="Owed this month")).to_be_visible()
    expect(page.locator("main")).to_contain_text("0.20 EUR")
    inspect_page(page, "lab dashboard filled")

    page.goto(f"{site.url}/lab/statements")
    by_owner = page.get_by_role("table", name=re.compile("Owed by owner"))
    expect(by_owner).to_contain_text("Ada Writer")
    expect(by_owner).to_contain_text("0.20 EUR")
    by_work = page.get_by_role("table", name=re.compile("Owed by work"))
    expect(by_work).to_contain_text("GPL-3.txt")
    inspect_page(page, "lab statements filled")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the statement (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [(r["owner_name"], r["work"], r["grant"], r["amount"]) for r in rows] == [
        ("Ada Writer", owners.works["GPL-3"], ada_grant, "0.20")
    ]
    page.goto(f"{site.url}/lab/statements?since=2001-01-01&until=2001-12-31")
    expect(page.locator("main")).to_contain_text("Nothing owed in this period")
    page.goto(f"{site.url}/lab/statements?since=2001-02-31")
    expect(page.locator("#f-since-error")).to_contain_text("is not a date")
    expect(page.get_by_label("From")).to_have_attribute("aria-invalid", "true")

    # Behind the service's back: the grants table's copy changes nothing shown (the
    # signed record is what counts); the signed record altered is NOT valid, with why.
    _tamper(site, ada_grant, event=False)
    _tamper(site, bob_grant, event=True)
    page.goto(f"{site.url}/lab/grants")
    expect(card).to_contain_text("Signature verified with Ada Writer's key")
    expect(card).to_contain_text("0.20 EUR per work")
    expect(card).not_to_contain_text("0.01 EUR")
    bob_card = page.locator("section.grant").filter(has_text=bob_grant)
    expect(bob_card).to_contain_text("NOT valid: this grant does not verify")
    expect(bob_card).to_contain_text(f"Grant {bob_grant} is refused: event")
    expect(bob_card).not_to_contain_text("Signature verified")
    inspect_page(page, "lab grants one not valid")
    page.goto(f"{site.url}/lab")
    expect(page.locator("main")).to_contain_text("1 grant did not verify")
    page.goto(f"{site.url}/lab/grants/{bob_grant}")
    expect(page.locator("main")).to_contain_text("NOT valid")


def test_another_labs_requests_grants_and_answers_are_not_found(
    page: Page, site: Site, tmp_path: Path, browser: Browser
) -> None:
    owners = Owners(site, tmp_path)
    first, first_id = lab(page, site, tmp_path)

    def ask(work: str) -> str:
        made = first("license", "request", "--licensee", first_id, "--work", owners.works[work],
                     "--purpose", "train-ai")  # fmt: skip
        return made.stdout.split()[0]

    asked, countered = ask("GPL-3"), ask("Apache-2.0")
    granted = owners.ada("license", "grant", asked, "--owner", owners.ada_id, "--json")
    grant_id = str(granted.records()[0]["id"])
    owners.ada("license", "counter", countered, "--owner", owners.ada_id, "--price", "1 EUR")
    for path in (f"/lab/requests/{asked}", f"/lab/grants/{grant_id}"):
        answer = page.goto(f"{site.url}{path}")
        assert answer is not None and answer.status == 200, path

    other_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        other = other_context.new_page()
        machine = site.party(tmp_path, "other")
        other_id = machine("licensee", "create", "Other Lab").stdout.split()[0]
        sign_up(other, site, role="lab", name="Other Lab", email="other@example.org",
                password=PASSWORD)  # fmt: skip
        bring_key(other, site, machine, other_id)
        for path in (
            f"/lab/requests/{asked}",
            f"/lab/requests/{countered}",
            f"/lab/grants/{grant_id}",
            "/lab/grants/grt_aaaaaaaaaaaaaaaa",
        ):
            answer = other.goto(f"{site.url}{path}")
            assert answer is not None and answer.status == 404, path
            expect(other.locator("main")).to_contain_text("not yours to see")
        inspect_page(other, "lab page not yours")
        for path in ("/lab", "/lab/requests", "/lab/grants"):
            other.goto(f"{site.url}{path}")
            expect(other.locator("main")).not_to_contain_text(asked)
            expect(other.locator("main")).not_to_contain_text(grant_id)
        # Its key signs nothing for the first lab's counter-offer: the registry refuses
        # before any message is offered to sign.
        other.goto(f"{site.url}/lab/requests")
        refused = other.evaluate(
            """async (id) => {
                const { runChange } = await import("/static/js/changes.js");
                try { await runChange("accept", { params: { request_id: id } }); }
                catch (error) { return error.message; }
                return "accepted";
            }""",
            countered,
        )
        assert f"no licence request {countered!r}" in refused
        listed = first("license", "list", "--licensee", first_id, "--json").records()
        assert {r["id"]: r.get("state") for r in listed}[countered] == "countered"
    finally:
        other_context.close()

    # A creator's account has no lab pages at all.
    page.get_by_role("button", name="Sign out").click()
    sign_up(page, site, role="creator", name="Cy", email="cy@example.org", password=PASSWORD)
    for path in ("/lab", f"/lab/requests/{asked}", "/lab/statements.csv"):
        answer = page.goto(f"{site.url}{path}")
        assert answer is not None and answer.status == 404, path
