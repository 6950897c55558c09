"""A lab gates a crawl it recorded itself: a WARC of pages served over loopback, each
carrying one kind of reservation signal in its headers, its meta tags or its site's
files. In opt-out mode exactly the reserved pages are rejected, each with a ``signal``
reason naming the signal, where it was read and the category; in consent-only mode
the signals are reported beside each decision; and the summary counts them by signal.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.capture_http import capture_http

from tests.conftest import STDLIB
from tests.e2e.conftest import Cli

ROBOTS = """\
User-agent: GPTBot
Disallow: /agent/

User-agent: *
Allow: /
"""
TDMREP = json.dumps(
    [
        {"location": "/tdm/*", "tdm-reservation": 1},
        {"location": "/*", "tdm-reservation": 0},
    ]
)
AI_TXT = """\
User-Agent: *
Disallow: /aitxt/
"""


def _html(title: str, text: str, head: str = "") -> str:
    return f"<html><head><title>{title}</title>{head}</head><body><p>{text}</p></body></html>"


# path -> (response headers, body); every page different text, so none is another's copy.
def _site() -> dict[str, tuple[dict[str, str], str]]:
    words = (STDLIB / "textwrap.py").read_text().split()
    pages: dict[str, tuple[dict[str, str], str]] = {}

    def page(path: str, headers: dict[str, str] | None = None, head: str = "") -> None:
        start = 37 * len(pages)
        text = " ".join(words[start : start + 120])
        pages[path] = (
            {"Content-Type": "text/html; charset=utf-8", **(headers or {})},
            _html(path, text, head),
        )

    page("/free/plain.html")
    page("/free/said-yes.html", {"Content-Usage": "train-ai=y"})
    page("/free/noindex.html", {"X-Robots-Tag": "noindex"})
    page("/header/content-usage.html", {"Content-Usage": "train-ai=n"})
    page("/header/x-robots-tag.html", {"X-Robots-Tag": "noai"})
    page("/header/tdm.html", {"tdm-reservation": "1"})
    page("/meta/robots.html", head='<meta name="robots" content="noai, noimageai">')
    page("/meta/tdm.html", head='<meta name="tdm-reservation" content="1">')
    page("/agent/page.html")
    page("/tdm/page.html")
    page("/aitxt/page.html")
    page("/header/unreadable.html", {"Content-Usage": "train-ai=maybe"})
    pages["/robots.txt"] = ({"Content-Type": "text/plain"}, ROBOTS)
    pages["/.well-known/tdmrep.json"] = ({"Content-Type": "application/json"}, TDMREP)
    pages["/ai.txt"] = ({"Content-Type": "text/plain"}, AI_TXT)
    return pages


RESERVED = {
    "/header/content-usage.html": "content-usage-header",
    "/header/x-robots-tag.html": "x-robots-tag",
    "/header/tdm.html": "tdmrep-header",
    "/meta/robots.html": "robots-meta",
    "/meta/tdm.html": "tdmrep-meta",
    "/agent/page.html": "robots-agent",
    "/tdm/page.html": "tdmrep-json",
    "/aitxt/page.html": "ai-txt",
    "/header/unreadable.html": "content-usage-header",
}
FREE = {"/free/plain.html", "/free/said-yes.html", "/free/noindex.html"}


@pytest.fixture
def crawl(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A WARC of every page and site file, fetched from a server on loopback."""
    pages = _site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers, body = pages.get(self.path, ({"Content-Type": "text/plain"}, "not found"))
            data = body.encode()
            self.send_response(200 if self.path in pages else 404)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    warc = tmp_path / "crawl.warc.gz"
    try:
        with capture_http(str(warc)):
            # Site files first, as a crawler fetches them; the pages after.
            for path in sorted(pages, key=lambda p: p.endswith(".html")):
                with urllib.request.urlopen(base + path) as response:  # noqa: S310 - loopback
                    response.read()
        yield warc, base
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _urls_by_record(warc: Path) -> dict[str, str]:
    with warc.open("rb") as stream:
        return {
            r.rec_headers.get_header("WARC-Record-ID"): r.rec_headers.get_header("WARC-Target-URI")
            for r in ArchiveIterator(stream)
            if r.rec_type == "response"
        }


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _gate(cli: Cli, warc: Path, out: Path, mode: str) -> dict[str, Any]:
    cli("init")
    lab = cli("licensee", "create", "Lab", "--json").records()[0]["id"]
    result = cli(
        "gate",
        "run",
        str(warc),
        "--licensee",
        lab,
        "--purpose",
        "train-ai",
        "--mode",
        mode,
        "--out",
        str(out),
        "--workers",
        "1",
        "--json",
    )
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_opt_out_rejects_exactly_the_reserved_pages(
    cli: Cli, crawl: tuple[Path, str], tmp_path: Path
) -> None:
    warc, base = crawl
    summary = _gate(cli, warc, tmp_path / "out", "opt-out")
    urls = _urls_by_record(warc)
    rejected = {
        urls[line["id"]].removeprefix(base): line
        for line in _lines(tmp_path / "out" / "rejected.jsonl")
    }
    admitted = {
        urls[line["id"]].removeprefix(base) for line in _lines(tmp_path / "out" / "admitted.jsonl")
    }
    pages = set(RESERVED) | FREE
    assert set(rejected) & pages == set(RESERVED)
    assert admitted >= FREE
    for path, signal in RESERVED.items():
        reasons = [r for r in rejected[path]["reasons"] if r["match"] == "signal"]
        assert [r["signal"] for r in reasons] == [signal], (path, reasons)
        assert reasons[0]["category"] == "train-ai"
        assert reasons[0]["source"]
    unreadable = rejected["/header/unreadable.html"]["reasons"][0]["message"]
    assert "unreadable" in unreadable and "maybe" in unreadable
    honoured = summary["reservations"]["honoured"]
    assert honoured == {s: list(RESERVED.values()).count(s) for s in set(RESERVED.values())}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())["manifest"]
    assert manifest["reservations"]["honoured"] == honoured
    assert manifest["sources"]["admitted_by_basis"]["opt-out"] == len(admitted)


def test_consent_only_reports_the_signals_beside_its_decision(
    cli: Cli, crawl: tuple[Path, str], tmp_path: Path
) -> None:
    warc, base = crawl
    summary = _gate(cli, warc, tmp_path / "out", "consent-only")
    urls = _urls_by_record(warc)
    lines = {
        urls[line["id"]].removeprefix(base): line
        for line in _lines(tmp_path / "out" / "rejected.jsonl")
    }
    # Unregistered and without an open licence: consent-only rejects every page, on
    # consent, and names the reservations each carried.
    for path, signal in RESERVED.items():
        assert [r["match"] for r in lines[path]["reasons"]] == ["unregistered"]
        assert [s["signal"] for s in lines[path]["signals"]] == [signal]
    for path in FREE:
        assert "signals" not in lines[path]
    assert summary["reservations"]["honoured"] == {}
    assert sum(summary["reservations"]["reported"].values()) == len(RESERVED)


def test_a_mirror_of_the_sites_files_is_read_when_the_warc_has_none(
    cli: Cli, crawl: tuple[Path, str], tmp_path: Path
) -> None:
    """Site files kept beside the corpus, as ``<host>/robots.txt``: the gate reads them
    there and fetches nothing."""
    warc, base = crawl
    host = base.removeprefix("http://").split(":")[0]
    mirror = tmp_path / "mirror" / host
    (mirror / ".well-known").mkdir(parents=True)
    (mirror / "robots.txt").write_text("User-agent: ClaudeBot\nDisallow: /free/plain.html\n")
    cli("init")
    lab = cli("licensee", "create", "Lab", "--json").records()[0]["id"]
    out = tmp_path / "out"
    cli(
        "gate",
        "run",
        str(warc),
        "--licensee",
        lab,
        "--purpose",
        "train-ai",
        "--mode",
        "opt-out",
        "--out",
        str(out),
        "--workers",
        "1",
        "--signals",
        str(tmp_path / "mirror"),
    )
    urls = _urls_by_record(warc)
    rejected = {urls[line["id"]].removeprefix(base) for line in _lines(out / "rejected.jsonl")}
    # The mirror's robots.txt replaces the WARC's: the GPTBot group is gone, and the
    # page an AI crawler is kept from is reserved (a Disallow for every crawler is
    # about crawling, not AI use, and reserves nothing).
    assert "/free/plain.html" in rejected
    assert "/agent/page.html" not in rejected
