"""Accounts on the pages: signing up and in, what a wrong password and a forged form
meet, how often one address may guess, and the pages of an account closed to others."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.web.conftest import Site, inspect_page

PASSWORD = "long enough password"


def sign_up(page: Page, site: Site, *, role: str, name: str, email: str, password: str) -> None:
    page.goto(f"{site.url}/sign-up?role={role}")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(re.compile(r"/account/key$"))


def sign_in(page: Page, site: Site, email: str, password: str) -> None:
    page.goto(f"{site.url}/sign-in")
    _fill_sign_in(page, email, password)


def _ada(page: Page, site: Site) -> None:
    sign_up(page, site, role="creator", name="Ada", email="ada@example.org", password=PASSWORD)


def test_a_creator_signs_up_signs_out_and_back_in(page: Page, site: Site) -> None:
    page.goto(site.url)
    inspect_page(page, "start page")
    page.get_by_role("link", name="Sign up as a creator").click()
    inspect_page(page, "sign up")
    sign_up(
        page, site, role="creator", name="Ada Writer", email="ada@example.org", password=PASSWORD
    )
    expect(page.get_by_role("heading", name="Your signing key")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{site.url}/")
    page.goto(f"{site.url}/sign-in")
    inspect_page(page, "sign in")
    sign_in(page, site, "ADA@example.org ", PASSWORD)  # as people type it
    expect(page).to_have_url(re.compile(r"/account/key$"))


def test_bad_sign_up_and_sign_in_say_what_to_fix_beside_the_field(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/sign-up")
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("E-mail address").fill("ada.example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    email = page.get_by_label("E-mail address")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-email-error")).to_contain_text("is not an e-mail address")
    expect(email).to_have_value("ada.example.org")  # nothing typed is lost
    inspect_page(page, "sign up with an error")
    page.get_by_label("E-mail address").fill("ada@example.org")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("#f-password-error")).to_contain_text("at least 10")

    _ada(page, site)
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{site.url}/sign-up")
    page.get_by_label("Your name").fill("Someone else")
    page.get_by_label("E-mail address").fill("ada@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("#f-email-error")).to_contain_text("already has an account")
    sign_in(page, site, "ada@example.org", "wrong password here")
    expect(page.locator("#f-password-error")).to_contain_text("do not match an account")
    sign_in(page, site, "nobody@example.org", PASSWORD)
    expect(page.locator("#f-password-error")).to_contain_text("do not match an account")


def test_a_form_without_its_csrf_token_is_refused(
    page: Page, site: Site, context: BrowserContext
) -> None:
    _ada(page, site)
    # The browser's own cookies, but a form another site could make: no token, or a wrong one.
    for fields in ({}, {"csrf": "0" * 64}):
        answer = page.request.post(f"{site.url}/sign-out", form=fields, max_redirects=0)
        assert answer.status == 403, answer.text()
        assert "reload the page" in answer.text()
    page.goto(f"{site.url}/account/key")
    expect(page.get_by_role("heading", name="Your signing key")).to_be_visible()  # still signed in


def test_cookies_are_http_only_secure_and_same_site(
    page: Page, site: Site, context: BrowserContext
) -> None:
    sign_up(page, site, role="lab", name="Lab", email="lab@example.org", password=PASSWORD)
    session = next(c for c in context.cookies() if c["name"] == "consentry_session")
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Lax"
    assert "consentry_session" not in page.evaluate("() => document.cookie")


def test_wrong_passwords_lock_the_account_even_for_the_right_one(site: Site, page: Page) -> None:
    _ada(page, site)
    page.get_by_role("button", name="Sign out").click()
    for _ in range(5):
        sign_in(page, site, "ada@example.org", "not the password")
        expect(page.locator("#f-password-error")).to_contain_text("do not match")
    sign_in(page, site, "ada@example.org", PASSWORD)
    expect(page.locator("#f-password-error")).to_contain_text("too many wrong passwords")
    expect(page).to_have_url(re.compile(r"/sign-in$"))


def test_one_address_may_guess_only_a_few_times_a_minute(site: Site, page: Page) -> None:
    page.goto(f"{site.url}/sign-in")
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    answers = [
        page.request.post(
            f"{site.url}/sign-in",
            form={"csrf": csrf, "email": f"guess{n}@example.org", "password": "guess"},
        )
        for n in range(12)
    ]
    assert [a.status for a in answers[:10]] == [400] * 10
    assert answers[-1].status == 429
    assert "too many requests from address 127.0.0.1" in answers[-1].text()


def _fill_sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_a_visitor_is_sent_to_sign_in_and_back_never_elsewhere(site: Site, page: Page) -> None:
    with httpx.Client(base_url=site.url, follow_redirects=False) as client:
        answer = client.get("/account/passkeys")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/sign-in?next=/account/passkeys"
    _ada(page, site)
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{site.url}/account/passkeys")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    _fill_sign_in(page, "ada@example.org", PASSWORD)
    expect(page).to_have_url(f"{site.url}/account/passkeys")
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{site.url}/sign-in?next=//elsewhere.example/steal")
    _fill_sign_in(page, "ada@example.org", PASSWORD)
    expect(page).to_have_url(f"{site.url}/account/key")


def test_signing_up_and_making_a_key_work_from_the_keyboard_alone(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/sign-up?role=creator")
    page.keyboard.press("Tab")  # the first stop is the skip link
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    page.get_by_label("Your name").focus()
    page.keyboard.type("Ada Keys")
    page.keyboard.press("Tab")
    expect(page.get_by_label("E-mail address")).to_be_focused()
    page.keyboard.type("keys@example.org")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/account/key$"))
    # The key is made and its registration signed with keys only: the dialog takes focus.
    make = page.get_by_role("button", name="Make my key")
    make.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Sign with your key?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Sign")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Back up your key")).to_be_visible()
    # Focus is visible wherever it lands: an outline the stylesheet draws.
    page.get_by_label("Passphrase", exact=True).focus()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
