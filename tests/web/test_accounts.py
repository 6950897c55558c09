"""Accounts on the pages: signing up and in, what a wrong password and a forged form
meet, and the pages of one account closed to another."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.web.conftest import Site, inspect_page


def sign_up(page: Page, site: Site, *, role: str, name: str, email: str, password: str) -> None:
    page.goto(f"{site.url}/sign-up?role={role}")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(re.compile(r"/account/key$"))


def test_a_creator_signs_up_signs_out_and_back_in(page: Page, site: Site) -> None:
    page.goto(site.url)
    inspect_page(page, "start page")
    page.get_by_role("link", name="Sign up as a creator").click()
    inspect_page(page, "sign up")
    sign_up(
        page,
        site,
        role="creator",
        name="Ada Writer",
        email="ada@example.org",
        password="correct horse battery",
    )
    expect(page.get_by_role("heading", name="Your signing key")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{site.url}/")
    page.goto(f"{site.url}/sign-in")
    inspect_page(page, "sign in")
    page.get_by_label("E-mail address").fill("ADA@example.org ")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account/key$"))


def test_bad_sign_up_and_sign_in_say_what_to_fix_beside_the_field(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/sign-up")
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("E-mail address").fill("ada.example.org")
    page.get_by_label("Password").fill("long enough password")
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

    sign_up(
        page,
        page_site := site,
        role="creator",
        name="Ada",
        email="ada@example.org",
        password="long enough password",
    )
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{page_site.url}/sign-in")
    page.get_by_label("E-mail address").fill("ada@example.org")
    page.get_by_label("Password").fill("wrong password here")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#f-password-error")).to_contain_text("do not match an account")


def test_a_form_without_its_csrf_token_is_refused(
    page: Page, site: Site, context: BrowserContext
) -> None:
    sign_up(
        page,
        site,
        role="creator",
        name="Ada",
        email="ada@example.org",
        password="long enough password",
    )
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    # The browser's own cookies, but a form another site could make: no token, or a wrong one.
    for fields in ({}, {"csrf": "0" * 64}):
        answer = page.request.post(f"{site.url}/sign-out", form=fields, max_redirects=0)
        assert answer.status == 403, answer.text()
        assert "reload the page" in answer.text()
    page.goto(f"{site.url}/account/key")
    expect(page.get_by_role("heading", name="Your signing key")).to_be_visible()  # still signed in
    assert "consentry_session" in cookies


def test_cookies_are_http_only_secure_and_same_site(
    page: Page, site: Site, context: BrowserContext
) -> None:
    sign_up(
        page, site, role="lab", name="Lab", email="lab@example.org", password="long enough password"
    )
    session = next(c for c in context.cookies() if c["name"] == "consentry_session")
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Lax"
    assert page.evaluate("() => document.cookie").find("consentry_session") == -1


def test_sign_in_is_rate_limited_and_locks_after_wrong_passwords(site: Site, page: Page) -> None:
    sign_up(
        page,
        site,
        role="creator",
        name="Ada",
        email="ada@example.org",
        password="long enough password",
    )
    page.get_by_role("button", name="Sign out").click()
    statuses = []
    for _ in range(6):
        page.goto(f"{site.url}/sign-in")
        page.get_by_label("E-mail address").fill("ada@example.org")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        statuses.append(page.locator("#f-password-error").inner_text())
    assert "too many wrong passwords" in statuses[-1]
    page.goto(f"{site.url}/sign-in")
    page.get_by_label("E-mail address").fill("ada@example.org")
    page.get_by_label("Password").fill("long enough password")  # right, but locked
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#f-password-error")).to_contain_text("try again in")


def test_pages_of_a_role_are_404_to_another_and_sign_in_to_a_visitor(site: Site) -> None:
    with httpx.Client(base_url=site.url, follow_redirects=False) as client:
        answer = client.get("/account/key")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/sign-in")
