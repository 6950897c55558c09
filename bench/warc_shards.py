"""Cutting a WARC into shards beside reading it: what planning costs a run.

    .venv/bin/python bench/warc_shards.py [--mb 64] [--shard-mb 8]

Writes a crawl of about ``--mb`` MB of pages (a request, a response of 8 to 60 KB of
HTML and a metadata record per page, as a crawler's WARC holds them), once as a
``.warc.gz`` of one gzip member per record and once plain, and times, in this process:
planning its shards of ``--shard-mb``; the reading of the whole file for its site files
that a WARC run makes before it (``warc_site_files``); and reading every item of the
file, whole and shard by shard (the shards' items are checked to be the whole file's).
Prints one JSON line per figure:

  warc_shard_plan   format, file MB, records, shards, seconds to plan, MB/s planned,
                    and the plan's time over the site-file reading's and over reading
                    the items
  warc_shard_read   format, seconds to read the items whole and shard by shard
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import emit
from consentry.gate.readers import read_warc
from consentry.gate.readers.warc import warc_site_files
from consentry.gate.reservations import SITE_FILES
from consentry.gate.shards import plan_shards, read_shard

WORDS = (Path(random.__file__).read_text() + Path(io.__file__).read_text()).split()


def _crawl(path: Path, megabytes: int, *, gz: bool) -> int:
    """A crawl of about ``megabytes`` MB of pages at ``path``; its record count."""
    rng = random.Random(7)
    records = written = 0
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=gz)
        while written < megabytes << 20:
            url = f"https://site{rng.randrange(200)}.example/{records}"
            text = " ".join(rng.choices(WORDS, k=rng.randrange(1_200, 9_000)))
            body = f"<html><body><p>{text}</p></body></html>".encode()
            request = StatusAndHeaders(
                f"GET /{records} HTTP/1.1", [("Host", "example")], is_http_request=True
            )
            response = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            for record in (
                writer.create_warc_record(url, "request", http_headers=request),
                writer.create_warc_record(
                    url, "response", payload=io.BytesIO(body), http_headers=response
                ),
                writer.create_warc_record(
                    url,
                    "metadata",
                    payload=io.BytesIO(b"fetchTimeMs: 120\r\n"),
                    warc_content_type="application/warc-fields",
                ),
            ):
                writer.write_record(record)
                records += 1
            written = stream.tell()
    return records


def _seconds(work: object) -> float:
    started = time.perf_counter()
    for _ in work:  # type: ignore[attr-defined]
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--shard-mb", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for name, gz in (("crawl.warc.gz", True), ("crawl.warc", False)):
            path = Path(folder) / name
            records = _crawl(path, args.mb, gz=gz)
            size_mb = path.stat().st_size / (1 << 20)
            started = time.perf_counter()
            shards = plan_shards(path, target_bytes=args.shard_mb << 20)
            planned = time.perf_counter() - started
            site_files = _seconds(warc_site_files(path, SITE_FILES.values()))
            whole = [(i.id, i.source) for i in read_warc(path)]
            started = time.perf_counter()
            whole = [(i.id, i.source) for i in read_warc(path)]
            read_whole = time.perf_counter() - started
            started = time.perf_counter()
            pieces = [(i.id, i.source) for s in shards for i in read_shard(path, s)]
            read_shards = time.perf_counter() - started
            if pieces != whole:
                raise SystemExit(f"{name}: the shards' items are not the whole file's")
            kind = "warc.gz" if gz else "warc"
            emit(
                "warc_shard_plan",
                format=kind,
                file_mb=round(size_mb, 1),
                records=records,
                shards=len(shards),
                plan_s=round(planned, 3),
                plan_mb_per_s=round(size_mb / planned, 1),
                plan_over_site_file_reading=round(planned / site_files, 3),
                plan_over_item_reading=round(planned / read_whole, 3),
            )
            emit(
                "warc_shard_read",
                format=kind,
                whole_s=round(read_whole, 3),
                shard_by_shard_s=round(read_shards, 3),
            )


if __name__ == "__main__":
    main()
