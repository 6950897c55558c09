"""A crawl's ``.warc.gz`` (a gzip member per record, request, response and metadata
records for each page) decided by two worker processes, shard by shard: the same
outputs, byte for byte, and the same manifest as one process makes; the robots.txt the
crawl fetched first binds its site's pages in every shard."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from consentry.gate.shards import plan_shards
from tests.conftest import STDLIB
from tests.e2e.conftest import Cli
from tests.e2e.test_gate_cli import _gate_args, _licence, _world
from tests.e2e.test_gate_shards import _same_run

PAGES = 240  # about 3 MB compressed: three shards of 1 MB
SITE = "https://site.example"
ROBOTS = "User-agent: GPTBot\nDisallow: /agent/\n"
WORDS = (STDLIB / "textwrap.py").read_text().split()


def _page(number: int, rng: random.Random) -> tuple[str, dict[str, str], str]:
    """Page ``number`` of the crawl: its path, response headers and text."""
    # Words and numbers no other page has, so that the crawl is megabytes compressed
    # and no page is another's copy.
    text = " ".join(f"{rng.choice(WORDS)} {rng.getrandbits(40):x}" for _ in range(1_400))
    match number % 5:
        case 0:
            return f"/licensed/{number}", {}, _licence("GPL-3")
        case 1:
            return f"/agent/{number}", {}, text
        case 2:
            return f"/tagged/{number}", {"X-Robots-Tag": "noai"}, text
        case 3:
            mpl = " ".join(_licence("MPL-2.0").split())
            return f"/excerpt/{number}", {}, text[:3000] + " " + mpl[4000:4400]
    return f"/free/{number}", {}, text


def _crawl(path: Path) -> None:
    rng = random.Random(24)
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)

        def fetched(where: str, headers: dict[str, str], body: bytes, content_type: str) -> None:
            url = SITE + where
            request = StatusAndHeaders(
                f"GET {where} HTTP/1.1", [("Host", "site.example")], is_http_request=True
            )
            response = StatusAndHeaders(
                "200 OK",
                [("Content-Type", content_type), *headers.items()],
                protocol="HTTP/1.1",
            )
            for record in (
                writer.create_warc_record(url, "request", http_headers=request),
                writer.create_warc_record(
                    url, "response", payload=io.BytesIO(body), http_headers=response
                ),
                writer.create_warc_record(
                    url,
                    "metadata",
                    payload=io.BytesIO(b"fetchTimeMs: 12\r\n"),
                    warc_content_type="application/warc-fields",
                ),
            ):
                writer.write_record(record)
                record.raw_stream.close()

        fetched("/robots.txt", {}, ROBOTS.encode(), "text/plain")
        for number in range(PAGES):
            where, headers, text = _page(number, rng)
            html = f"<html><body><p>{text}</p></body></html>"
            fetched(where, headers, html.encode(), "text/html; charset=utf-8")


def _responses(warc: Path) -> dict[str, tuple[str, int]]:
    """Each response's record id: its URL's path and its record's offset."""
    found = {}
    with warc.open("rb") as stream:
        archive = ArchiveIterator(stream)
        for record in archive:
            if record.rec_type == "response":
                url = record.rec_headers.get_header("WARC-Target-URI")
                found[record.rec_headers.get_header("WARC-Record-ID")] = (
                    url.removeprefix(SITE),
                    archive.get_record_offset(),
                )
    return found


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_crawl_decided_in_shards_makes_the_run_one_process_makes(
    cli: Cli, tmp_path: Path
) -> None:
    lab, _ = _world(cli, tmp_path, 0)
    corpus = tmp_path / "crawl.warc.gz"
    _crawl(corpus)
    shards = plan_shards(corpus, target_bytes=1 << 20)
    assert len(shards) >= 3
    one, sharded = tmp_path / "one", tmp_path / "sharded"
    mode = ["--mode", "opt-out"]
    cli(*_gate_args(corpus, lab, one), *mode, "--workers", "1")
    cli(*_gate_args(corpus, lab, sharded), *mode, "--workers", "2", "--shard-mb", "1")
    summary = json.loads((sharded / "summary.json").read_text())
    assert summary["engine"]["workers"] == 2
    _same_run(one, sharded)

    responses = _responses(corpus)
    rejected = {line["id"]: line["reasons"] for line in _lines(sharded / "rejected.jsonl")}
    assert len(rejected) == len(responses) - 1 - 2 * PAGES // 5  # not robots.txt, licensed, free
    agent = {i for i, (where, _) in responses.items() if where.startswith("/agent/")}
    assert agent <= set(rejected)
    assert {r["signal"] for i in agent for r in rejected[i]} == {"robots-agent"}
    # The robots.txt is read from the first shard; its rule holds in the last.
    assert any(responses[i][1] >= shards[-1].start for i in agent)
    excerpts = {i for i, (where, _) in responses.items() if where.startswith("/excerpt/")}
    assert {r["match"] for i in excerpts for r in rejected[i]} == {"excerpt"}
