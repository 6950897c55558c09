"""``consentry work register --site DIR`` as a creator runs it on the folder their static
site is built in: the pages register as the text a crawl of them reads, so a lab's gate
run over a crawl of the site, and ``consentry check`` of a page's text, find the works;
the signals the site states are recorded with each work and can become its terms."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from consentry import app
from consentry.gate.readers import html_text_and_meta
from consentry.settings import Settings
from consentry.signals import Signal
from consentry.terms import Category, Permission
from tests.conftest import STDLIB
from tests.e2e.conftest import Cli

WORDS = (STDLIB / "argparse.py").read_text().split()


def _page(title: str, start: int, head: str = "") -> str:
    text = " ".join(WORDS[start : start + 200]).replace("<", " ").replace("&", " ")
    return (
        f"<!doctype html>\n<html><head><title>{title}</title>{head}"
        '<link rel="stylesheet" href="/css/site.css"></head>\n'
        f"<body><header>My site</header><main><p>{text}</p></main>"
        "<script>document.title += '!'</script></body></html>\n"
    )


def _png() -> bytes:
    noise = np.random.default_rng(3).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).resize((300, 300)).save(out, format="PNG")
    return out.getvalue()


PAGES = {
    "/index.html": _page("Welcome", 0),
    "/essays/gardens.html": _page("On gardens", 300, '<meta name="robots" content="noai">'),
    "/essays/weather.html": _page("On weather", 600),
}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    for path, html in PAGES.items():
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / path.lstrip("/")).write_text(html)
    (root / "img").mkdir()
    (root / "img" / "hero.png").write_bytes(_png())
    (root / "css").mkdir()
    (root / "css" / "site.css").write_text("main { max-width: 40em }\n")
    (root / "robots.txt").write_text("User-agent: *\nContent-Usage: train-ai=n\nAllow: /\n")
    (root / ".well-known").mkdir()
    (root / ".well-known" / "tdmrep.json").write_text(
        json.dumps([{"location": "/essays/*", "tdm-reservation": 1}])
    )
    return root


def _owner(cli: Cli) -> str:
    cli("init")
    return str(cli("owner", "create", "Ada", "--json").records()[0]["id"])


def _by_path(records: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(r["path"]): r for r in records}


def _crawl(tmp_path: Path) -> Path:
    """A WARC of the site's pages as a crawler fetched them from where it is published."""
    warc = tmp_path / "crawl.warc.gz"
    with warc.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for path, html in PAGES.items():
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                f"https://ada.example{path}",
                "response",
                payload=io.BytesIO(html.encode()),
                http_headers=headers,
            )
            writer.write_record(record)
            record.raw_stream.close()  # the writer buffers each record in a temporary file
    return warc


def test_a_crawl_of_the_site_and_a_check_of_a_page_find_the_registered_pages(
    cli: Cli, site: Path, tmp_path: Path
) -> None:
    owner = _owner(cli)
    done = cli("work", "register", "--site", str(site), "--owner", owner, "--json")
    works = _by_path(done.records())
    assert {p: works[p]["status"] for p in [*PAGES, "/img/hero.png"]} == dict.fromkeys(
        [*PAGES, "/img/hero.png"], "registered"
    )
    gardens = works["/essays/gardens.html"]
    assert (gardens["kind"], gardens["title"]) == ("text", "On gardens")
    assert works["/img/hero.png"]["kind"] == "image"
    assert works["/css/site.css"]["status"] == "skipped"
    assert "signal files" in str(works["/robots.txt"]["error"])

    lab = cli("licensee", "create", "Lab", "--json").records()[0]["id"]
    out = tmp_path / "gate"
    cli("gate", "run", str(_crawl(tmp_path)), "--licensee", lab, "--purpose", "train-ai",
        "--out", str(out))  # fmt: skip
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    matched = {r["reasons"][0]["work_id"]: r["reasons"][0]["match"] for r in rejected}
    assert matched == {works[p]["id"]: "exact" for p in PAGES}

    # The page's visible text, pasted into a document of one's own, is found.
    text, _ = html_text_and_meta(PAGES["/essays/weather.html"])
    output = tmp_path / "output.txt"
    output.write_text(f"My notes.\n\n{text}\n")
    (report,) = cli("check", str(output), "--json", expect=1).records()
    assert {f["work_id"] for f in report["findings"]} == {works["/essays/weather.html"]["id"]}


def test_the_signals_found_are_recorded_and_registering_again_changes_nothing(
    cli: Cli, site: Path, tmp_path: Path
) -> None:
    owner = _owner(cli)
    args = ["work", "register", "--site", str(site), "--owner", owner]
    first = cli(*args, "--base-url", "https://ada.example")
    assert "signals: train-ai deny (robots-meta), train-other deny (robots-meta)" in first.stdout
    again = _by_path(cli(*args, "--base-url", "https://ada.example", "--json").records())
    assert {again[p]["status"] for p in [*PAGES, "/img/hero.png"]} == {"existing"}
    assert len(cli("work", "list", "--json").records()) == 4

    settings = Settings(
        home=cli.home, database_url=f"sqlite:///{cli.home / 'registry.db'}", keys_dir=cli.keys
    )
    with app.Workspace(settings) as ws:
        recorded = {p: ws.registry.works.signals.get(str(again[p]["id"])) for p in again
                    if again[p]["status"] == "existing"}  # fmt: skip
    gardens = recorded["/essays/gardens.html"].reservation
    assert gardens.to_json() == again["/essays/gardens.html"]["signals"]
    assert {s.source.signal for s in gardens.statements} == {
        Signal.ROBOTS_META,
        Signal.CONTENT_USAGE_ROBOTS,
        Signal.TDMREP_JSON,
    }
    robots = next(s for s in gardens.statements if s.source.signal is Signal.CONTENT_USAGE_ROBOTS)
    assert (robots.label, robots.source.place) == (
        "train-ai=n",
        "https://ada.example/robots.txt line 2",
    )
    home = recorded["/index.html"].reservation
    assert home.permission(Category.TRAIN_AI) is Permission.DENY
    assert home.permission(Category.DATA_MINING) is None, "tdmrep.json reserves /essays/ only"
    # Registered again: replaced, not doubled.
    assert len(gardens.statements) == len(set(gardens.statements))


def test_adopting_the_signals_sets_each_works_terms(cli: Cli, site: Path) -> None:
    owner = _owner(cli)
    args = ["work", "register", "--site", str(site), "--owner", owner, "--adopt-signals"]
    works = _by_path(cli(*args, "--json").records())
    gardens = cli("terms", "show", str(works["/essays/gardens.html"]["id"]), "--json")
    (shown,) = gardens.records()
    assert shown["effective"]["categories"]["train-ai"] == "deny"
    assert shown["effective"]["categories"]["train-other"] == "deny"
    assert shown["effective"]["categories"]["data-mining"] == "deny"
    assert [layer["kind"] for layer in shown["layers"]] == ["work"]
    assert works["/essays/gardens.html"]["terms_adopted"] is True

    cli(*args)
    (again,) = cli("terms", "show", str(works["/essays/gardens.html"]["id"]), "--json").records()
    assert again["layers"] == shown["layers"], "the same signals set no new version"


def test_a_broken_page_is_reported_and_the_rest_registered(cli: Cli, site: Path) -> None:
    owner = _owner(cli)
    (site / "essays" / "latin1.html").write_bytes("<p>caf\xe9 ".encode("latin-1") * 80)
    (site / "essays" / "tiny.html").write_text("<title>Soon</title><p>Coming soon.</p>")
    done = cli("work", "register", "--site", str(site), "--owner", owner, expect=1)
    assert "/essays/latin1.html is not UTF-8" in done.stdout
    assert "/essays/tiny.html has" in done.stdout
    assert "4 registered" in done.stdout.replace("\n", " ")
    assert len(cli("work", "list", "--json").records()) == 4


def test_site_options_are_refused_where_they_mean_nothing(cli: Cli, site: Path) -> None:
    owner = _owner(cli)
    both = cli("work", "register", str(site), "--site", str(site), "--owner", owner, expect=2)
    assert "--site registers one site" in both.stderr
    alone = cli("work", "register", str(site), "--owner", owner, "--adopt-signals", expect=2)
    assert "add --site DIR" in alone.stderr
    assert "name the files" in cli("work", "register", "--owner", owner, expect=2).stderr
