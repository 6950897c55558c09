"""``register_site``: a static site's pages registered as the text a crawl of them reads,
its images as images, everything else skipped with why, and the signals on each work
(its own and its site's files) recorded with it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from consentry import app
from consentry.app.site_works import RegisteredSite, SiteRegistration
from consentry.errors import InputError
from consentry.fingerprint import fingerprint_text
from consentry.gate.readers import html_text_and_meta
from consentry.registry import PartyKind
from consentry.registry.catalogue import FileProblem
from consentry.settings import Settings
from consentry.signals import Signal
from consentry.terms import Category, Permission
from tests.conftest import STDLIB

WORDS = (STDLIB / "textwrap.py").read_text().split()


def _prose(start: int, count: int = 150) -> str:
    return " ".join(WORDS[start : start + count]).replace("<", " ").replace("&", " ")


def _page(title: str | None, text: str, head: str = "") -> str:
    titled = "" if title is None else f"<title>{title}</title>"
    return (
        f"<!doctype html><html><head>{titled}{head}<style>p {{ color: red }}</style></head>"
        f"<body><nav>Home</nav><p>{text}</p><script>var hidden = 1;</script></body></html>"
    )


def _png() -> bytes:
    noise = np.random.default_rng(7).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).resize((320, 320)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    (root / "essays").mkdir(parents=True)
    (root / "img").mkdir()
    (root / "css").mkdir()
    (root / ".well-known").mkdir()
    (root / ".git").mkdir()
    (root / "essays" / "one.html").write_text(
        _page("  Essay\n one ", _prose(0), '<meta name="robots" content="noai">')
    )
    (root / "essays" / "untitled.html").write_text(_page(None, _prose(200)))
    (root / "index.htm").write_text(_page("Home", _prose(400)))
    (root / "robots.txt").write_text("User-agent: *\nContent-Usage: train-ai=n\nAllow: /\n")
    (root / ".well-known" / "tdmrep.json").write_text(
        '[{"location": "/essays/*", "tdm-reservation": 1}]'
    )
    (root / "ai.txt").write_text("User-Agent: *\nAllow: /\n")
    (root / "_headers").write_text("/img/*\n  X-Robots-Tag: noimageai\n")
    (root / "license.xml").write_text(
        '<rsl xmlns="https://rslstandard.org/rsl"><content url="/"/></rsl>'
    )
    (root / "sitemap.xml").write_text("<urlset></urlset>")
    (root / "css" / "site.css").write_text("p { color: red }")
    (root / "app.js").write_text("console.log(1)")
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "img" / "photo.png").write_bytes(_png())
    return root


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[tuple[app.Workspace, str]]:
    home = tmp_path / "home"
    settings = Settings(
        home=home, database_url=f"sqlite:///{home / 'registry.db'}", keys_dir=tmp_path / "keys"
    )
    with app.Workspace(settings) as ws:
        app.init(ws)
        owner = app.create_party(ws, PartyKind.OWNER, "Ada").party.id
        yield ws, owner


def _register(
    ws: app.Workspace, site: Path, owner: str, **options: object
) -> tuple[RegisteredSite, dict[str, SiteRegistration | FileProblem]]:
    results: list[SiteRegistration | FileProblem] = []
    done = app.register_site(ws, site, owner_id=owner, on_file=results.append, **options)  # type: ignore[arg-type]
    by_path = {(r.path if isinstance(r, FileProblem) else r.registration.path): r for r in results}
    return done, by_path


def test_pages_are_registered_as_the_text_a_crawl_of_them_reads(
    workspace: tuple[app.Workspace, str], site: Path
) -> None:
    ws, owner = workspace
    done, found = _register(ws, site, owner)

    page = found["/essays/one.html"]
    assert isinstance(page, SiteRegistration)
    work = page.registration.work
    text, _ = html_text_and_meta((site / "essays" / "one.html").read_text())
    assert "hidden" not in text and "color" not in text
    assert work.digest == fingerprint_text("one.html", text).digest
    assert (work.kind, work.path, work.title) == ("text", "/essays/one.html", "Essay one")
    untitled = found["/essays/untitled.html"]
    assert isinstance(untitled, SiteRegistration)
    assert untitled.registration.work.title == "/essays/untitled.html"
    image = found["/img/photo.png"]
    assert isinstance(image, SiteRegistration) and image.registration.work.kind == "image"
    assert (done.tally["registered"], done.files) == (4, 12)
    assert done.failed == []


def test_signal_files_and_assets_are_skipped_each_with_why(
    workspace: tuple[app.Workspace, str], site: Path
) -> None:
    ws, owner = workspace
    _, found = _register(ws, site, owner)
    skipped = {p: r.message for p, r in found.items() if isinstance(r, FileProblem)}
    for signal_file in ("/robots.txt", "/ai.txt", "/_headers", "/.well-known/tdmrep.json"):
        assert "signal files" in skipped[signal_file]
    assert "RSL licence document" in skipped["/license.xml"]
    assert "a stylesheet" in skipped["/css/site.css"] and "a script" in skipped["/app.js"]
    assert "not a page or an image" in skipped["/sitemap.xml"]
    assert "/.git/HEAD" not in found
    assert all(isinstance(found[p], FileProblem) and found[p].refused for p in skipped)  # type: ignore[union-attr]


def test_each_work_carries_its_own_and_its_sites_signals(
    workspace: tuple[app.Workspace, str], site: Path
) -> None:
    ws, owner = workspace
    _, found = _register(ws, site, owner, base_url="https://example.org/")
    one, home, image = (found[p] for p in ("/essays/one.html", "/index.htm", "/img/photo.png"))
    assert isinstance(one, SiteRegistration) and isinstance(home, SiteRegistration)
    assert isinstance(image, SiteRegistration)

    said = one.reservation
    assert said.deciding(Category.TRAIN_OTHER).source.signal is Signal.ROBOTS_META  # type: ignore[union-attr]
    mining = said.deciding(Category.DATA_MINING)
    assert mining is not None and mining.source.signal is Signal.TDMREP_JSON
    assert mining.source.place.startswith("https://example.org/.well-known/tdmrep.json")
    # The home page is outside tdmrep.json's /essays/*; robots.txt speaks for all.
    assert home.reservation.permission(Category.TRAIN_AI) is Permission.DENY
    assert home.reservation.permission(Category.DATA_MINING) is None
    assert image.reservation.signals() >= {Signal.X_ROBOTS_TAG, Signal.CONTENT_USAGE_ROBOTS}

    recorded = ws.registry.works.signals.get(one.registration.work.id)
    assert recorded.reservation == said


def test_workers_change_nothing_but_speed(workspace: tuple[app.Workspace, str], site: Path) -> None:
    ws, owner = workspace
    _, alone = _register(ws, site, owner, workers=1)
    _, together = _register(ws, site, owner, workers=2)
    assert list(alone) == list(together)
    for path, first in alone.items():
        again = together[path]
        if isinstance(first, SiteRegistration):
            assert isinstance(again, SiteRegistration)
            assert again.registration.status.value == "existing"
            assert (again.registration.work, again.reservation) == (
                first.registration.work,
                first.reservation,
            )
        else:
            assert again == first


def test_bad_inputs_are_refused_with_what_to_do(
    workspace: tuple[app.Workspace, str], site: Path
) -> None:
    ws, owner = workspace
    with pytest.raises(InputError, match=r"is not an http\(s\) URL"):
        app.register_site(ws, site, owner_id=owner, base_url="example.org")
    with pytest.raises(InputError, match="is not a folder"):
        app.register_site(ws, site / "robots.txt", owner_id=owner)
    assert ws.registry.works.count(owner) == 0
