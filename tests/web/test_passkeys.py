"""Passkeys: added to an account, then signing in with them; an answer that is not the
browser's own, or a replayed one, signs no one in. Chromium's virtual authenticator
stands in for a phone's or a laptop's (WebAuthn needs a host name: localhost)."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import APIResponse, BrowserContext, Page, expect

from consentry import app
from tests.web.conftest import Site, inspect_page
from tests.web.test_accounts import sign_up


def _authenticator(context: BrowserContext, page: Page) -> str:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    made = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return str(made["authenticatorId"])


def _script_post(page: Page, url: str, data: str) -> APIResponse:
    """What the page's script would send: JSON, with the page's CSRF token."""
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    headers = {
        "X-CSRF-Token": csrf,
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    return page.request.post(url, data=data, headers=headers)


def _local(site: Site) -> str:
    return site.url.replace("127.0.0.1", "localhost")


def test_a_passkey_added_to_an_account_signs_it_in(
    site: Site, context: BrowserContext, page: Page
) -> None:
    _authenticator(context, page)
    local = Site(_local(site), site.settings, site.home)
    sign_up(
        page,
        local,
        role="creator",
        name="Ada",
        email="ada@example.org",
        password="long enough password",
    )
    page.goto(f"{local.url}/account/passkeys")
    expect(page.get_by_text("You have no passkey yet")).to_be_visible()
    inspect_page(page, "passkeys, none yet")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("table", name="Your passkeys")).to_be_visible()
    inspect_page(page, "passkeys, one added")
    with app.Workspace(site.settings) as ws:
        account = ws.registry.accounts.credentials("ada@example.org")
        assert account is not None
        (passkey,) = ws.registry.accounts.passkeys_of(account.account.id)
    page.get_by_role("button", name="Sign out").click()

    page.goto(f"{local.url}/sign-in")
    page.get_by_role("button", name="Use a passkey instead").click()
    expect(page).to_have_url(re.compile(r"/account/key$"))
    with app.Workspace(site.settings) as ws:
        used = ws.registry.accounts.passkey(passkey.credential_id)
    assert used is not None and used.last_used_at is not None


def test_a_replayed_or_foreign_passkey_answer_signs_no_one_in(
    site: Site, context: BrowserContext, page: Page
) -> None:
    _authenticator(context, page)
    local = _local(site)
    sign_up(
        page,
        Site(local, site.settings, site.home),
        role="lab",
        name="Lab",
        email="lab@example.org",
        password="long enough password",
    )
    page.goto(f"{local}/account/passkeys")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("table", name="Your passkeys")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{local}/sign-in")
    # Capture the browser's signed answer as it is sent, then send it again.
    with page.expect_request(lambda r: r.url.endswith("/sign-in/passkey")) as sent:
        page.get_by_role("button", name="Use a passkey instead").click()
    expect(page).to_have_url(re.compile(r"/account/key$"))
    answer = sent.value.post_data or ""
    cookies = sent.value.all_headers()["cookie"]
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    # The very request again, cookies and all (as a proxy's log would have kept it):
    # the challenge was answered once, and is not again.
    with httpx.Client() as client:
        again = client.post(
            f"{local}/sign-in/passkey",
            content=answer,
            headers={"cookie": cookies, "x-csrf-token": csrf, "content-type": "application/json",
                     "accept": "application/json"},
        )  # fmt: skip
    assert again.status_code == 403, again.text
    assert "sent before" in again.json()["detail"]
    replayed = _script_post(page, f"{local}/sign-in/passkey", answer)
    assert replayed.status in (400, 403), replayed.text()
    assert (
        "press the passkey button again" in replayed.text()
        or "did not sign you in" in replayed.text()
    )

    # A fresh challenge for this browser, answered with the old answer: the signature
    # is over another challenge.
    _script_post(page, f"{local}/sign-in/passkey/options", "{}")
    stale = _script_post(page, f"{local}/sign-in/passkey", answer)
    assert stale.status == 403, stale.text()
    assert "did not sign you in" in stale.json()["detail"]
