"""The key page: a party's Ed25519 key made in the browser, registered with the party
and linked to the account by a request signed with it, backed up to a file sealed
with a passphrase the server never sees, and restored from that file in another
browser; a CLI key file imported; and link requests forged, replayed, unsigned,
signed by another account's party, or sent without the page's CSRF token, refused."""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import APIResponse, Browser, BrowserContext, Page, expect

from consentry import app
from consentry.api import ServiceOptions
from consentry.crypto import KeyPair
from consentry.crypto.httpsig import sign_request
from consentry.registry import PartyKind
from consentry.web import create_site
from tests.service.conftest import serving
from tests.web.conftest import Site, inspect_page
from tests.web.test_accounts import PASSWORD, sign_in, sign_up

PASSPHRASE = "correct horse battery staple"


def make_key(page: Page, folder: Path, *, role: str = "creator") -> Path:
    """On the key page with no key: make one, sign the registration, back it up; the
    backup file saved in ``folder``."""
    expect(page.locator("#key-status")).to_contain_text("holds no key")
    page.get_by_role("button", name="Make my key").click()
    dialog = page.get_by_role("dialog", name="Sign with your key?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Register you on this registry as the {role}")
    dialog.get_by_role("button", name="Sign").click()
    expect(page.get_by_role("heading", name="Back up your key")).to_be_visible()
    page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    page.get_by_label("The same passphrase again").fill(PASSPHRASE)
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download the backup").click()
    download = caught.value
    saved = folder / download.suggested_filename
    download.save_as(saved)
    expect(page.locator("#key-status")).to_contain_text("This browser holds your key")
    return saved


def signed_up_with_key(page: Page, site: Site, folder: Path, *, role: str = "creator") -> str:
    """A new account of ``role`` with its key made in this browser; its party id."""
    sign_up(page, site, role=role, name="Ada Writer", email=f"{role}@example.org",
            password=PASSWORD)  # fmt: skip
    make_key(page, folder, role=role)
    page.goto(f"{site.url}/account/key")
    found = re.search(r"(own|lic)_[a-z2-7]{16}", page.locator(".notice.good").first.inner_text())
    assert found is not None
    return found.group(0)


def _parties(site: Site, kind: PartyKind) -> dict[str, Any]:
    with app.Workspace(site.settings) as ws:
        return {p.id: p for p in app.list_parties(ws, kind)}


def test_a_creator_makes_a_key_backs_it_up_and_restores_it_in_another_browser(
    page: Page, site: Site, browser: Browser, tmp_path: Path
) -> None:
    sign_up(page, site, role="creator", name="Ada Writer", email="ada@example.org",
            password=PASSWORD)  # fmt: skip
    inspect_page(page, "key page without a key")
    page.get_by_role("button", name="Make my key").click()
    dialog = page.get_by_role("dialog", name="Sign with your key?")
    expect(dialog).to_contain_text("Register you on this registry as the creator “Ada Writer”")
    expect(dialog).to_contain_text("public log")
    expect(dialog.get_by_role("button", name="Sign")).to_be_focused()
    inspect_page(page, "key page asking to sign the registration")
    dialog.get_by_role("button", name="Sign").click()

    # The backup is required: two passphrases that differ, or a short one, say so.
    expect(page.get_by_role("heading", name="Back up your key")).to_be_visible()
    page.get_by_label("Passphrase", exact=True).fill("too short")
    page.get_by_role("button", name="Download the backup").click()
    expect(page.locator("#passphrase-error")).to_have_text(re.compile(r"at least 12 characters"))
    expect(page.get_by_label("Passphrase", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    page.get_by_label("The same passphrase again").fill(PASSPHRASE + "!")
    page.get_by_role("button", name="Download the backup").click()
    expect(page.locator("#passphrase-again-error")).to_contain_text("The two passphrases differ")
    inspect_page(page, "key page made, backup asked")
    page.get_by_label("The same passphrase again").fill(PASSPHRASE)
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download the backup").click()
    backup_file = tmp_path / caught.value.suggested_filename
    caught.value.save_as(backup_file)
    expect(page.locator("#key-status")).to_contain_text("This browser holds your key")
    inspect_page(page, "key page backed up")

    # The registry has the party with the public key the browser made; the account
    # holds it; the backup names it and holds no readable key.
    backup = json.loads(backup_file.read_text("utf-8"))
    owners = _parties(site, PartyKind.OWNER)
    party = owners[backup["party"]]
    assert (party.name, party.public_key, party.key_id) == (
        "Ada Writer", backup["public_key"], backup["key_id"]
    )  # fmt: skip
    assert backup["kdf"]["iterations"] >= 600_000 and backup["kdf"]["hash"] == "SHA-256"
    assert backup_file.name == f"consentry-key-{party.id}.json"
    assert "PRIVATE KEY" not in backup_file.read_text("utf-8")
    page.goto(f"{site.url}/account/key")
    expect(page.locator(".notice.good").first).to_contain_text(party.id)
    expect(page.locator("#key-status")).to_contain_text("backed up on")
    page.goto(f"{site.url}/creator")
    expect(page).to_have_url(f"{site.url}/creator")  # the account holds a party now

    # Another browser, signed in: no key until the backup is restored.
    other = browser.new_context(accept_downloads=True)
    try:
        there = other.new_page()
        sign_in(there, site, "ada@example.org", PASSWORD)
        there.goto(f"{site.url}/account/key")
        expect(there.locator("#key-status")).to_contain_text("does not hold your key")
        inspect_page(there, "key page in a browser without the key")
        there.get_by_label("Backup file", exact=True).set_input_files(str(backup_file))
        there.get_by_label("Its passphrase").fill("not the passphrase at all")
        there.get_by_role("button", name="Restore my key").click()
        expect(there.locator("#restore-passphrase-error")).to_have_text(
            "That passphrase does not open this backup; type the one you chose when you made it."
        )
        inspect_page(there, "key page restore refused")
        there.get_by_label("Its passphrase").fill(PASSPHRASE)
        there.get_by_role("button", name="Restore my key").click()
        expect(there.locator("#key-status")).to_contain_text("This browser holds your key")
        inspect_page(there, "key page restored")
        held = there.evaluate(
            "async () => { const k = await import('/static/js/keys.js');"
            " const key = await k.loadKey();"
            " return key && {keyId: key.keyId, partyId: key.partyId,"
            " extractable: key.privateKey.extractable}; }"
        )
        assert held == {"keyId": party.key_id, "partyId": party.id, "extractable": False}
    finally:
        other.close()


def test_a_backup_of_another_file_or_a_damaged_one_is_refused(
    page: Page, site: Site, tmp_path: Path
) -> None:
    signed_up_with_key(page, site, tmp_path)
    page.evaluate("() => indexedDB.deleteDatabase('consentry')")
    page.reload()
    expect(page.locator("#key-status")).to_contain_text("does not hold your key")
    backup_file = next(tmp_path.glob("consentry-key-*.json"))
    backup = json.loads(backup_file.read_text("utf-8"))
    cases = {
        "not-json.json": ("{", "is not JSON"),
        "weak.json": (
            json.dumps({**backup, "kdf": {**backup["kdf"], "iterations": 1000}}),
            "passphrase stretching",
        ),
        # The party and key id are bound into the seal: editing either breaks it.
        "renamed.json": (
            json.dumps({**backup, "party": "own_aaaaaaaaaaaaaaaa"}),
            "does not open this backup",
        ),
    }
    for name, (text, refusal) in cases.items():
        (tmp_path / name).write_text(text, "utf-8")
        page.get_by_label("Backup file", exact=True).set_input_files(str(tmp_path / name))
        page.get_by_label("Its passphrase").fill(PASSPHRASE)
        page.get_by_role("button", name="Restore my key").click()
        errors = page.locator("#backup-file-error, #restore-passphrase-error")
        expect(errors.filter(has_text=refusal)).to_be_visible()
    page.get_by_role("button", name="Restore my key").click()


def _lab_key_file(site: Site, root: Path, name: str = "lab") -> tuple[str, Path]:
    machine = site.party(root, name)
    lab_id = str(machine("licensee", "create", "Lab", "--json").records()[0]["id"])
    return lab_id, machine.keys / f"{lab_id}.key"


def test_a_lab_imports_the_key_file_its_cli_made(page: Page, site: Site, tmp_path: Path) -> None:
    lab_id, key_file = _lab_key_file(site, tmp_path)
    sign_up(page, site, role="lab", name="Lab", email="lab@example.org", password=PASSWORD)
    # A file that is no key is refused beside its field.
    junk = tmp_path / "notes.key"
    junk.write_text("not a key\n", "utf-8")
    page.get_by_label("Key file", exact=True).set_input_files(str(junk))
    page.get_by_role("button", name="Import the key file").click()
    expect(page.locator("#key-file-error")).to_contain_text("This is not a key file")
    # A key no party registered: say so.
    unregistered = tmp_path / "own_aaaaaaaaaaaaaaaa.key"
    unregistered.write_bytes(KeyPair.generate().to_pem())
    page.get_by_label("Key file", exact=True).set_input_files(str(unregistered))
    page.get_by_role("button", name="Import the key file").click()
    expect(page.locator("#key-file-error")).to_contain_text("not registered on this registry")
    inspect_page(page, "key page import refused")

    page.get_by_label("Key file", exact=True).set_input_files(str(key_file))
    page.get_by_role("button", name="Import the key file").click()
    expect(page.locator(".notice.good").first).to_contain_text(lab_id)
    expect(page.locator("#key-status")).to_contain_text("the key file you imported")
    page.goto(f"{site.url}/lab")
    expect(page).to_have_url(f"{site.url}/lab")


def _link(
    page: Page,
    site: Site,
    *,
    signer: KeyPair | None,
    csrf: bool = True,
    sent: bytes = b"{}",
    signed: bytes | None = None,
) -> APIResponse:
    """POST /account/party from this browser's cookies, signed (over ``signed``, by
    default the body ``sent``) by ``signer``, with or without the page's CSRF token."""
    url = f"{site.url}/account/party"
    headers = {"content-type": "application/json", "accept": "application/json"}
    if csrf:
        headers["x-csrf-token"] = (
            page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
        )
    if signer is not None:
        headers |= sign_request(
            method="POST",
            url=url,
            headers=headers,
            body=sent if signed is None else signed,
            signer=signer,
            created=int(time.time()),
            nonce=secrets.token_urlsafe(16),
        )
    return page.request.post(url, headers=headers, data=sent)


def _account_party(page: Page, site: Site) -> Any:
    return page.request.get(f"{site.url}/account/party").json()["party_id"]


def test_a_link_not_signed_by_the_accounts_own_key_is_refused(
    page: Page, site: Site, context: BrowserContext, tmp_path: Path
) -> None:
    # The first lab links its CLI key in its browser, and the request it sent is seen.
    lab_id, key_file = _lab_key_file(site, tmp_path)
    lab_key = KeyPair.from_pem(key_file.read_bytes(), source=str(key_file))
    sign_up(page, site, role="lab", name="Lab", email="lab@example.org", password=PASSWORD)
    seen: list[dict[str, str]] = []
    page.on("request", lambda r: seen.append(r.headers) if r.url.endswith("/account/party")
            and r.method == "POST" else None)  # fmt: skip
    page.get_by_label("Key file", exact=True).set_input_files(str(key_file))
    page.get_by_role("button", name="Import the key file").click()
    expect(page.locator(".notice.good").first).to_contain_text(lab_id)
    [linked] = seen
    assert linked["signature-input"].startswith('sig=("@method" "@target-uri" "content-digest")')

    # The same request sent again (its nonce spent) is refused.
    kept = ("content-digest", "signature", "signature-input", "x-csrf-token", "content-type")
    replayed = {k: v for k, v in linked.items() if k.lower() in kept}
    again = page.request.post(f"{site.url}/account/party", headers=replayed, data=b"{}")
    assert again.status == 401, again.text()
    assert again.json()["type"].endswith("/replayed-request"), again.text()

    # A second lab account, in another browser: the first lab's key is that account's.
    other = context.browser.new_context() if context.browser else None
    assert other is not None
    try:
        there = other.new_page()
        sign_up(there, site, role="lab", name="Other Lab", email="other@example.org",
                password=PASSWORD)  # fmt: skip
        theirs = _link(there, site, signer=lab_key)
        assert theirs.status == 409 and "already another account's" in theirs.json()["detail"]
        # A creator's key is no lab's.
        machine = site.party(tmp_path, "creator")
        owner_id = str(machine("owner", "create", "Ada", "--json").records()[0]["id"])
        owner_key = KeyPair.from_pem((machine.keys / f"{owner_id}.key").read_bytes(), source="o")
        wrong_role = _link(there, site, signer=owner_key)
        assert wrong_role.status == 403 and "this account is a lab's" in wrong_role.text()
        # Unsigned; signed over another body; a key that is no party's; no CSRF token.
        own_lab, own_file = _lab_key_file(site, tmp_path, "other")
        own_key = KeyPair.from_pem(own_file.read_bytes(), source=str(own_file))
        unsigned = _link(there, site, signer=None)
        assert unsigned.status == 401, unsigned.text()
        forged = _link(there, site, signer=own_key, sent=b'{"party": "x"}', signed=b"{}")
        assert forged.status == 400 and "Content-Digest" in forged.json()["detail"]
        stranger = _link(there, site, signer=KeyPair.generate())
        assert stranger.status == 401 and "no registered party has key" in stranger.text()
        no_token = _link(there, site, signer=own_key, csrf=False)
        assert no_token.status == 403 and "reload the page" in no_token.text()
        assert _account_party(there, site) is None
        # Its own key, signed, with the token: linked.
        assert _link(there, site, signer=own_key).status == 201
        assert _account_party(there, site) == own_lab
    finally:
        other.close()
    assert _account_party(page, site) == lab_id


def test_the_key_page_needs_an_account(site: Site) -> None:
    with httpx.Client(base_url=site.url, follow_redirects=False) as client:
        assert client.get("/account/key").status_code == 303
        answer = client.get("/account/party", headers={"accept": "application/json"})
        assert answer.status_code == 403 and "sign in first" in answer.json()["detail"]


def test_an_invite_only_registry_asks_for_the_invitation_beside_its_field(
    page: Page, site: Site, tmp_path: Path
) -> None:
    with app.Workspace(site.settings) as ws:
        invitation = app.invite(ws, "Ada's studio", valid_for=timedelta(days=1))
    options = ServiceOptions(invite_only=True, checkpoint_every=0.2)
    with serving(site.settings, options, factory=create_site) as url:
        invited = Site(url, site.settings, site.home)
        sign_up(page, invited, role="creator", name="Ada", email="ada@example.org",
                password=PASSWORD)  # fmt: skip
        page.get_by_role("button", name="Make my key").click()
        code = page.get_by_label("Invitation code")
        expect(page.locator("#invitation-error")).to_contain_text("Type the invitation code")
        expect(code).to_have_attribute("aria-invalid", "true")
        code.fill("not-the-code")
        page.get_by_role("button", name="Make my key").click()
        # Refused before anything is asked to be signed.
        expect(page.locator("#invitation-error")).to_contain_text("invited parties only")
        inspect_page(page, "key page with a wrong invitation")
        # The key made stays in this browser; the right code finishes with it.
        expect(page.get_by_role("button", name="Finish setting up my key")).to_be_visible()
        code.fill(invitation.token)
        page.get_by_role("button", name="Finish setting up my key").click()
        page.get_by_role("dialog").get_by_role("button", name="Sign").click()
        expect(page.get_by_role("heading", name="Back up your key")).to_be_visible()
        assert len(_parties(site, PartyKind.OWNER)) == 1
