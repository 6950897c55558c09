"""An owner imports the signals their site already publishes, from a server on
loopback: robots.txt (with Content-Usage and an RSL ``License:`` pointing to a licence
on the same server), tdmrep.json, ai.txt and a page with headers and meta tags. The
proposed terms are each category's most restrictive statement, every source is
listed, and the terms file written is one ``consentry terms set`` accepts. A site that
answers 404, 500, too much, too slowly or with a redirect to another host is listed
with the reason, never read as an allow."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli

# status, headers, body; or a callable for answers that misbehave.
Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Site:
    """A server on 127.0.0.1 answering from ``pages``; ``base`` is its address."""

    pages: dict[str, Answer | Callable[[], Answer]] = field(default_factory=dict)
    base: str = ""
    asked: list[str] = field(default_factory=list)


def _serve(site: Site) -> Iterator[Site]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.asked.append(self.path)
            found = site.pages.get(self.path, (404, {}, b"not found"))
            status, headers, body = found() if callable(found) else found
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def server() -> Iterator[Site]:
    yield from _serve(Site())


def _text(body: str, content_type: str = "text/plain") -> Answer:
    return (200, {"Content-Type": content_type}, body.encode())


LICENCE = """\
<rsl xmlns="https://rslstandard.org/rsl">
  <content url="/">
    <license>
      <permits type="usage">search ai-input</permits>
    </license>
  </content>
</rsl>
"""
PAGE = """\
<html><head><title>Essay</title>
<meta name="robots" content="noimageai">
<meta name="tdm-reservation" content="0">
</head><body><p>An essay.</p></body></html>
"""


def _publish(site: Site) -> None:
    site.pages.update(
        {
            "/robots.txt": _text(
                f"License: {site.base}/licence.xml\n\n"
                "User-agent: *\nContent-Usage: train-ai=n\nAllow: /\n"
            ),
            "/licence.xml": _text(LICENCE, "application/rsl+xml"),
            "/.well-known/tdmrep.json": _text(
                json.dumps([{"location": "/", "tdm-reservation": 0}]), "application/json"
            ),
            "/ai.txt": _text("User-Agent: *\nAllow: /\n"),
            "/essay.html": (
                200,
                {
                    "Content-Type": "text/html; charset=utf-8",
                    "Content-Usage": "search=y",
                    "X-Robots-Tag": "noai",
                },
                PAGE.encode(),
            ),
        }
    )


def _sources(record: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {r["place"]: (r["kind"], r["status"]) for r in record["read"]}


def test_a_site_s_signals_become_proposed_terms_with_every_source(
    cli: Cli, server: Site, tmp_path: Path
) -> None:
    _publish(server)
    base = server.base
    terms_file = tmp_path / "proposed.json"
    (record,) = cli(
        "signals", "import", f"{base}/essay.html", "--json", "--out", str(terms_file)
    ).records()

    assert _sources(record) == {
        f"{base}/robots.txt": ("robots.txt", "read"),
        f"{base}/.well-known/tdmrep.json": ("tdmrep.json", "read"),
        f"{base}/ai.txt": ("ai.txt", "read"),
        f"{base}/licence.xml": ("rsl", "read"),
        f"{base}/essay.html": ("html", "read"),
    }
    assert record["terms"]["categories"] == {
        # robots.txt's Content-Usage, the header's noai and the licence (which permits
        # neither) deny what tdmrep.json and ai.txt allow.
        "train-ai": "deny",
        "train-other": "deny",
        # The licence permits it, free, as tdmrep.json and the page's meta tag do.
        "ai-input": "allow",
        "search": "allow",
        # The licence does not permit it; tdmrep.json allows it: the stricter holds.
        "data-mining": "deny",
    }
    signals = {s["source"]["signal"] for s in record["statements"]}
    assert signals == {
        "content-usage-robots",
        "rsl",
        "tdmrep-json",
        "ai-txt",
        "content-usage-header",
        "x-robots-tag",
        "robots-meta",
        "tdmrep-meta",
    }
    data_mining = {
        (s["source"]["signal"], s["permission"])
        for s in record["statements"]
        if s["category"] == "data-mining"
    }
    assert {("rsl", "deny"), ("tdmrep-json", "allow"), ("tdmrep-meta", "allow")} <= data_mining
    # The licence, once read, speaks in place of robots.txt's pointer to it.
    assert not any(s["label"].startswith("License:") for s in record["statements"])
    assert record["problems"] == []
    assert record["out"] == str(terms_file)

    # The file written is terms the owner can publish as they are.
    cli("init")
    owner = cli("owner", "create", "Ada", "--json").records()[0]["id"]
    cli("terms", "set", owner, "--owner", owner, "--file", str(terms_file))
    effective = cli("terms", "show", owner, "--json").records()[0]["effective"]["categories"]
    # What the signals said is in force; what none spoke of keeps the default.
    assert {c: effective[c] for c in record["terms"]["categories"]} == record["terms"]["categories"]
    assert effective["publish-output"] == "license"


def test_the_owner_reads_a_table_a_list_and_the_next_step(cli: Cli, server: Site) -> None:
    _publish(server)
    shown = cli("signals", "import", f"{server.base}/essay.html").stdout
    assert "train-ai" in shown
    assert "content-usage-robots at" in shown
    assert f"{server.base}/licence.xml" in shown
    assert "statements, by source" in shown
    assert "consentry terms set OWNER --owner OWNER --file FILE" in shown


def test_an_existing_terms_file_is_kept_without_force(
    cli: Cli, server: Site, tmp_path: Path
) -> None:
    _publish(server)
    out = tmp_path / "terms.json"
    out.write_text("{}")
    failed = cli("signals", "import", server.base + "/", "--out", str(out), expect=2)
    assert "--force" in failed.stderr
    assert out.read_text() == "{}"
    cli("signals", "import", server.base + "/", "--out", str(out), "--force")
    assert json.loads(out.read_text())["version"] == 1


def _slow() -> Answer:
    time.sleep(3)
    return _text("User-Agent: *\nAllow: /\n")


def test_failures_are_listed_with_their_reasons_and_never_allow(cli: Cli, server: Site) -> None:
    base = server.base
    # Another host, as far as the site's address goes: the same server under another name.
    elsewhere = base.replace("127.0.0.1", "localhost")
    server.pages.update(
        {
            "/robots.txt": _text(
                "License: https://licences.example.net/licence.xml\n"
                "User-agent: *\nContent-Usage: search=y\n"
            ),
            "/.well-known/tdmrep.json": (500, {}, b"oops"),
            "/ai.txt": _slow,
            "/old": (301, {"Location": "/essay.html"}, b""),
            "/essay.html": (200, {"Content-Type": "text/html", "Content-Usage": "train-ai=y"}, b""),
            "/away": (302, {"Location": f"{elsewhere}/essay.html"}, b""),
            "/big": _text("x" * (2 << 20), "text/html"),
        }
    )
    (moved,) = cli("signals", "import", f"{base}/old", "--json", "--timeout", "1").records()
    read = {r["place"]: r for r in moved["read"]}
    assert read[f"{base}/.well-known/tdmrep.json"]["status"] == "refused"
    assert "HTTP 500" in read[f"{base}/.well-known/tdmrep.json"]["reason"]
    assert read[f"{base}/ai.txt"]["status"] == "refused"
    assert "within 1 seconds" in read[f"{base}/ai.txt"]["reason"]
    licence = read["https://licences.example.net/licence.xml"]
    assert licence["status"] == "refused"
    assert "another host" in licence["reason"]
    # A redirect on the site is followed, and the page it lands on is read.
    assert read[f"{base}/essay.html"]["status"] == "read"
    # The licence not read still reserves every use for licensing; what could not be
    # read is a problem each, so nothing the site did not say is allowed.
    assert moved["terms"]["categories"]["search"] == "license"
    assert moved["terms"]["categories"]["train-ai"] == "license"
    problems = {p["source"]["place"] for p in moved["problems"]}
    assert {f"{base}/.well-known/tdmrep.json", f"{base}/ai.txt"} <= problems

    before = len(server.asked)
    (away,) = cli("signals", "import", f"{base}/away", "--json", "--timeout", "1").records()
    page = next(r for r in away["read"] if r["place"] == f"{base}/away")
    assert page["status"] == "refused"
    assert "off the site's host" in page["reason"]
    assert "/essay.html" not in server.asked[before:]

    (big,) = cli("signals", "import", f"{base}/big", "--json", "--timeout", "1").records()
    page = next(r for r in big["read"] if r["place"] == f"{base}/big")
    assert page["status"] == "refused"
    assert "over 1,048,576 bytes" in page["reason"]


def test_a_site_without_signal_files_lists_them_as_absent(cli: Cli, server: Site) -> None:
    server.pages["/"] = (200, {"Content-Type": "text/html"}, b"<html></html>")
    (record,) = cli("signals", "import", server.base + "/", "--json").records()
    assert {r["status"] for r in record["read"] if r["kind"] != "html"} == {"absent"}
    assert record["terms"] == {"version": 1}
    assert record["problems"] == []


def test_a_source_that_does_not_exist_is_one_sentence(cli: Cli, tmp_path: Path) -> None:
    failed = cli("signals", "import", str(tmp_path / "nothing-here"), expect=2)
    assert failed.stderr.startswith("error: ")
    assert "neither a file nor a folder" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_what_export_writes_into_a_site_imports_back_as_strict_terms(
    cli: Cli, tmp_path: Path
) -> None:
    cli("init")
    owner = cli("owner", "create", "Ada", "--json").records()[0]["id"]
    terms = {
        "train-ai": "deny",
        "train-other": "deny",
        "ai-input": "license",
        "search": "allow",
        "data-mining": "deny",
    }
    terms_file = tmp_path / "terms.json"
    terms_file.write_text(json.dumps({"version": 1, "categories": terms}))
    cli("terms", "set", owner, "--owner", owner, "--file", str(terms_file))
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><head><title>Home</title></head><body></body></html>")
    cli(
        "signals",
        "export",
        "--owner",
        owner,
        "--site",
        str(site),
        "--base-url",
        "https://example.org",
    )

    (record,) = cli(
        "signals", "import", str(site), "--site", "https://example.org", "--json"
    ).records()
    assert record["problems"] == []
    assert {r["status"] for r in record["read"]} == {"read"}
    proposed = record["terms"]["categories"]
    # Every denial comes back a denial, and the allow an allow; the licence for AI
    # input comes back no looser (several formats can only say it as a denial).
    strictness = ["allow", "license", "deny"]
    for category, permission in terms.items():
        assert strictness.index(proposed[category]) >= strictness.index(permission), category
    assert proposed["search"] == "allow"
