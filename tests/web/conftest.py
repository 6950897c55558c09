"""The registry served with its pages on loopback, and Debian's chromium driven by
Playwright (never a downloaded browser): pages opened at a phone's width and a
laptop's, screenshotted, and checked by axe-core injected from its npm package."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from consentry import app
from consentry.api import ServiceOptions
from consentry.settings import Settings
from consentry.web import create_site
from tests.conftest import BACKENDS, _drop_schema
from tests.service.conftest import Served as Site
from tests.service.conftest import _database_url, serving

CHROMIUM = "/usr/bin/chromium"
# Without these, chromium in a container without a screen or a sandbox refuses to start
# or reaches for the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = {"laptop": 1280, "phone": 360}


@pytest.fixture(params=["sqlite"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """The pages over SQLite. They read and change the registry only through the
    application layer, whose every query the service and storage tests run on both
    databases; a browser test on each would double the suite's longest minutes for no
    query of its own (``site_on_each_backend`` runs the whole journey on both)."""
    yield from _site(request.param, tmp_path)


@pytest.fixture(params=BACKENDS)
def site_on_each_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """The pages over SQLite, and over PostgreSQL when configured."""
    yield from _site(request.param, tmp_path)


def _site(backend: str, tmp_path: Path) -> Iterator[Site]:
    home = tmp_path / "operator"
    url, schema = _database_url(backend, home)
    settings = Settings(home=home, database_url=url, keys_dir=home / "operator-keys")
    try:
        with app.Workspace(settings) as ws:
            app.init(ws)
        options = ServiceOptions(checkpoint_every=0.2)
        with serving(settings, options, factory=create_site) as served_url:
            yield Site(served_url, settings, home)
    finally:
        if schema is not None:
            _drop_schema(schema)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser profile of its own (cookies, IndexedDB), as a person's own browser."""
    made = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    assert not errors, f"scripts failed on the page: {errors}"


def screenshots_dir() -> Path:
    chosen = os.environ.get("CONSENTRY_SCREENSHOTS")
    folder = Path(chosen) if chosen else Path("build") / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated by the driver, which the page's Content-Security-Policy (no inline
        # script) does not govern; a script tag would be refused, as it should be.
        page.evaluate(AXE.read_text("utf-8"))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def inspect_page(page: Page, name: str) -> None:
    """What every page must pass: no serious or critical axe violation (checked at a
    phone's width, where the layout is tightest: the rules axe checks do not change
    with the width in this stylesheet), a screenshot at a laptop's width and a phone's
    to look at, and no horizontal scrolling at either (a table may scroll inside its
    own box)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    original = page.viewport_size or {"width": 1280, "height": 900}
    try:
        for label, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": 900})
            if label == "phone":
                violations = axe_violations(page)
                assert not violations, f"{name} at {width} px: {json.dumps(violations, indent=1)}"
            page.screenshot(path=str(screenshots_dir() / f"{slug}-{label}.png"), full_page=True)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{name} scrolls sideways by {overflow} px at {width} px wide"
    finally:
        page.set_viewport_size(original)
