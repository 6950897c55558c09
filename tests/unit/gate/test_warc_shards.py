"""Shards of a WARC file read back as the whole file reads: every response once, in
order, named by its place in the whole file, whatever the cut; and a damaged file (cut
short, bytes flipped, garbage or a stray gzip member between records, one gzip stream)
gives the items and the one error that reading it whole gives."""

from __future__ import annotations

import gzip
import io
import random
import re
from collections.abc import Iterable
from itertools import accumulate, pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from consentry.errors import InputError
from consentry.gate.item import Item
from consentry.gate.readers import read_warc
from consentry.gate.shards import Shard, plan_shards, read_shard, splittable

_FEW = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# (record type, body size, whether the body is text); sizes either side of warcio's
# 16 KiB reads, random bodies so that gzip members are as long as their records.
_records = st.lists(
    st.tuples(
        st.sampled_from(["response", "response", "request", "metadata", "resource"]),
        st.sampled_from([0, 1, 90, 2_000, 9_000, 16_400, 40_000]),
        st.booleans(),
    ),
    max_size=10,
)


def _record_bytes(records: list[tuple[str, int, bool]], *, gz: bool) -> list[bytes]:
    """Each record of a crawl as written (a gzip member of its own when ``gz``), with
    fixed ids and dates, so that a failing example replays byte for byte."""
    rng = random.Random(len(records))
    written = []
    for number, (kind, size, text) in enumerate(records):
        words = (b"<p>" + b"word " * (size // 5) + b"</p>")[:size]
        body = words if text else rng.randbytes(size)
        url = f"https://example.org/{number}"
        headers = {
            "WARC-Record-ID": f"<urn:uuid:00000000-0000-4000-8000-{number:012d}>",
            "WARC-Date": "2026-01-01T00:00:00Z",
        }
        http = None
        if kind == "response":
            content_type = "text/html; charset=utf-8" if text else "image/png"
            http = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
        elif kind == "request":
            http = StatusAndHeaders(
                f"GET /{number} HTTP/1.1", [("Host", "example.org")], is_http_request=True
            )
        out = io.BytesIO()
        writer = WARCWriter(out, gzip=gz)
        record = writer.create_warc_record(
            url,
            kind,
            payload=io.BytesIO(body),
            http_headers=http,
            warc_headers_dict=headers,
            warc_content_type="application/octet-stream" if http is None else "",
        )
        writer.write_record(record)
        record.raw_stream.close()
        written.append(out.getvalue())
    return written


def _read(items: Iterable[Item]) -> tuple[list[Item], str | None]:
    """What reading gives: its items and, if it stopped on one, its error."""
    got: list[Item] = []
    try:
        got.extend(items)
    except InputError as exc:
        return got, str(exc)
    return got, None


def _by_shards(path: Path, shards: list[Shard]) -> tuple[list[Item], str | None]:
    """The items of ``shards`` in order, up to the first that stops on an error."""
    pieces: list[Item] = []
    for shard in shards:
        got, error = _read(read_shard(path, shard))
        pieces += got
        if error is not None:
            return pieces, error
    return pieces, None


def _check(path: Path, target: int) -> list[Shard]:
    """Shards of ``path`` tile it and read as the whole file reads; the shards."""
    shards = plan_shards(path, target_bytes=target)
    assert shards[0].start == 0 and shards[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in pairwise(shards))
    assert [s.number for s in shards] == list(range(len(shards)))
    assert _by_shards(path, shards) == _read(read_warc(path))
    return shards


def _record_offsets(data: bytes) -> set[int]:
    archive = ArchiveIterator(io.BytesIO(data))
    return {archive.get_record_offset() for _ in archive}


@_FEW
@given(_records, st.booleans(), st.integers(1, 200_000))
def test_shards_of_a_crawl_read_as_the_whole_file(
    tmp_path_factory: pytest.TempPathFactory,
    records: list[tuple[str, int, bool]],
    gz: bool,
    target: int,
) -> None:
    data = b"".join(_record_bytes(records, gz=gz))
    path = tmp_path_factory.mktemp("warc") / ("c.warc.gz" if gz else "c.warc")
    path.write_bytes(data)
    shards = _check(path, target)
    assert {s.start for s in shards} <= _record_offsets(data) | {0}
    # A clean file may be cut before every record, each shard knowing its first
    # response's number.
    every = _check(path, 1)
    responses = [kind == "response" for kind, _, _ in records]
    assert [s.first_line for s in every] == [
        1 + sum(responses[:n]) for n in range(max(1, len(records)))
    ]


# What is done to a file before it is cut: (what, where as a fraction, a byte).
_damage = st.lists(
    st.tuples(
        st.sampled_from(
            ["cut", "flip", "garbage", "stray member", "stray lines", "joined", "overlong"]
        ),
        st.integers(0, 9_999),
        st.integers(0, 255),
    ),
    min_size=1,
    max_size=3,
)


def _damaged(records: list[bytes], damage: list[tuple[str, int, int]]) -> bytes:
    """``records`` joined, then: a gzip member or lines that are no record put between
    two of them, two of them in one gzip member, one's ``Content-Length`` counting the
    blank lines after its block; and the file cut short, bytes flipped or garbage put
    anywhere."""
    pieces = list(records)
    for what, fraction, _ in damage:
        stray = b"not a record\r\n\r\n"
        at = fraction * len(pieces) // 10_000
        if what == "stray member":
            pieces.insert(at, gzip.compress(stray))
        elif what == "stray lines":
            pieces.insert(at, stray)
        elif what == "joined" and at + 1 < len(pieces):
            pieces[at : at + 2] = [_joined(pieces[at], pieces[at + 1])]
        elif what == "overlong" and pieces:
            pieces[at] = _overlong(pieces[at])
    data = bytearray(b"".join(pieces))
    for what, fraction, byte in damage:
        at = fraction * len(data) // 10_000
        if what == "cut":
            del data[at:]
        elif what == "flip" and data:
            data[at] ^= byte or 1
        elif what == "garbage":
            data[at:at] = bytes([byte]) * (1 + byte % 40)
    return bytes(data)


def _joined(first: bytes, second: bytes) -> bytes:
    """Two records in one gzip member (or, plain, as they were)."""
    if not (first.startswith(b"\x1f\x8b") and second.startswith(b"\x1f\x8b")):
        return first + second
    return gzip.compress(gzip.decompress(first) + gzip.decompress(second))


def _overlong(record: bytes) -> bytes:
    """``record`` with a ``Content-Length`` four bytes long, taking in the blank lines
    after its block: the record after it begins at its block's end."""
    gz = record.startswith(b"\x1f\x8b")
    plain = gzip.decompress(record) if gz else record
    head, found, rest = plain.partition(b"Content-Length: ")
    length, _, tail = rest.partition(b"\r\n")
    if not found or not length.isdigit():
        return record  # no record: a stray member or lines put in before
    plain = head + b"Content-Length: " + str(int(length) + 4).encode() + b"\r\n" + tail
    return gzip.compress(plain) if gz else plain


@_FEW
@given(_records, st.booleans(), _damage, st.integers(1, 60_000))
def test_a_damaged_crawl_reads_in_shards_as_it_reads_whole(
    tmp_path_factory: pytest.TempPathFactory,
    records: list[tuple[str, int, bool]],
    gz: bool,
    damage: list[tuple[str, int, int]],
    target: int,
) -> None:
    data = _damaged(_record_bytes(records, gz=gz), damage)
    path = tmp_path_factory.mktemp("warc") / ("c.warc.gz" if gz else "c.warc")
    path.write_bytes(data)
    _check(path, target)


def _crawl_with_member_at(distance: int) -> tuple[bytes, list[int]]:
    """A .warc.gz of four responses of random bytes, the third's member beginning
    ``distance`` bytes or a little more before a 16 KiB boundary of the file; the
    members' offsets."""
    first = 15_000
    while True:
        records = _record_bytes(
            [("response", size, False) for size in (first, 300, 900, 100)],
            gz=True,
        )
        offsets = [sum(len(r) for r in records[:n]) for n in range(len(records))]
        gap = (16 << 10) - offsets[2]
        if distance <= gap < distance + 20:
            return b"".join(records), offsets
        first += gap - distance - 10 or 1


@pytest.mark.parametrize("distance", [12, 60, 200, 700])
def test_a_member_failing_its_check_reads_in_a_shard_as_it_reads_whole(
    tmp_path: Path, distance: int
) -> None:
    """warcio inflates a member in the pieces its 16 KiB reads of the file cut it into,
    and a member whose checksum fails is either taken for an uncompressed record (an
    error) or read with its end lost, by where those pieces fall. A shard's reading
    cuts it where a reading of the whole file does."""
    data, offsets = _crawl_with_member_at(distance)
    damaged = bytearray(data)
    damaged[offsets[3] - 6] ^= 0xFF  # in the third member's CRC
    path = tmp_path / "c.warc.gz"
    path.write_bytes(bytes(damaged))
    shards = _check(path, 1)
    assert [s.start for s in shards] == offsets[:2]  # the damage is in the last shard


_CRAWL = [
    ("response", 2_000, True),
    ("request", 0, True),
    ("response", 2_000, True),
    ("response", 2_000, True),
    ("response", 90, True),
]


def _crawl_damaged(case: str, *, gz: bool) -> tuple[bytes, list[int]]:
    """``_CRAWL`` with ``case`` done to it at its third record; the records' offsets."""
    records = _record_bytes(_CRAWL, gz=gz)
    offsets = [sum(len(r) for r in records[:n]) for n in range(len(records))]
    stray = b"not a record\r\n\r\n"
    match case:
        case "truncated last record":
            records[-1] = records[-1][: len(records[-1]) // 2]
        case "member that is no record":
            records.insert(3, gzip.compress(stray) if gz else stray)
        case "garbage between records":
            records.insert(3, b"\x00garbage\xff")
        case "block running into the next record":
            records[2] = _overlong(records[2])
        case "two records in one member":
            records[2:4] = [_joined(records[2], records[3])]
    return b"".join(records), offsets


@pytest.mark.parametrize("gz", [True, False], ids=["warc.gz", "warc"])
@pytest.mark.parametrize(
    "case",
    [
        "truncated last record",
        "member that is no record",
        "garbage between records",
        "block running into the next record",
        "two records in one member",
    ],
)
def test_damage_reads_in_shards_as_whole_and_is_not_cut_past(
    tmp_path: Path, case: str, gz: bool
) -> None:
    data, offsets = _crawl_damaged(case, gz=gz)
    path = tmp_path / ("c.warc.gz" if gz else "c.warc")
    path.write_bytes(data)
    shards = _check(path, 1)
    _, error = _read(read_warc(path))
    # The records before which shards begin where the file reads as an error: none
    # where the damage is.
    cut_before = {
        "member that is no record": 3,  # after the third record
        "garbage between records": 3,
        # A gzip member ends a record whatever its length says; a plain block running
        # on swallows the next record's first line.
        "block running into the next record": None if gz else 2,
        "two records in one member": 2 if gz else None,
    }.get(case)
    if case == "truncated last record":
        # Not dropped in silence: the error names where the last whole record ends.
        assert error is not None and f"(after byte {offsets[4]:,}: " in error
        assert [s.start for s in shards] == offsets[:4]
    elif cut_before is None:
        assert error is None
    else:
        assert error is not None
        assert f"corpus {path} is not a valid WARC past record " in error
        assert f"(after byte {offsets[2]:,}: " in error  # the last record read
        assert [s.start for s in shards] == offsets[:cut_before]
    if case == "two records in one member" and gz:
        assert "compress each record as a gzip member of its own" in (error or "")


def test_a_file_compressed_as_one_gzip_stream_is_one_shard(tmp_path: Path) -> None:
    path = tmp_path / "c.warc.gz"
    path.write_bytes(gzip.compress(b"".join(_record_bytes(_CRAWL, gz=False))))
    shards = _check(path, 1)
    assert shards == [Shard(0, 0, path.stat().st_size, 1)]
    items, error = _read(read_warc(path))
    assert [i.source for i in items] == ["c.warc.gz#1"]
    assert error is not None and "\n" not in error
    assert error.startswith(f"corpus {path} is not a valid WARC past record 1 (after byte 0: ")
    assert "compressed as one gzip stream" in error


@pytest.mark.parametrize("gz", [True, False], ids=["warc.gz", "warc"])
def test_a_page_carrying_a_warc_record_is_not_cut_inside(tmp_path: Path, gz: bool) -> None:
    """A crawl of a crawl: a page whose body is a WARC record (a gzip member of one,
    for a .warc.gz) is one record, whatever its body looks like."""
    inner = _record_bytes([("response", 3_000, True)], gz=gz)[0]
    records = _record_bytes(_CRAWL, gz=gz)
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gz)
    record = writer.create_warc_record(
        "https://example.org/crawl.warc",
        "response",
        payload=io.BytesIO(b"\r\n\r\n" + inner + inner),
        http_headers=StatusAndHeaders(
            "200 OK", [("Content-Type", "application/warc")], protocol="HTTP/1.1"
        ),
        warc_headers_dict={"WARC-Record-ID": "<urn:uuid:crawl>", "WARC-Date": "2026-01-01"},
    )
    writer.write_record(record)
    record.raw_stream.close()
    records.insert(2, out.getvalue())
    path = tmp_path / ("c.warc.gz" if gz else "c.warc")
    path.write_bytes(b"".join(records))
    shards = _check(path, 1)
    assert [s.start for s in shards] == [sum(map(len, records[:n])) for n in range(len(records))]
    assert [s.first_line for s in shards] == [1, 2, 2, 3, 4, 5]


def test_warc_files_are_cut(tmp_path: Path) -> None:
    for name, cut in (("a.warc", True), ("a.WARC.gz", True), ("a.jsonl.gz", False)):
        (tmp_path / name).write_bytes(b"")
        assert splittable(tmp_path / name) is cut
    (tmp_path / "crawl.warc").mkdir()
    assert not splittable(tmp_path / "crawl.warc")
    assert plan_shards(tmp_path / "a.warc") == [Shard(0, 0, 0, 1)]
    assert list(read_shard(tmp_path / "a.warc", Shard(0, 0, 0, 1))) == []


def test_a_plain_shard_beginning_a_byte_before_a_16_kib_boundary_reads_whole(
    tmp_path: Path,
) -> None:
    """warcio takes its first read for gzip if it can: given one byte, it cannot yet
    tell, and drops it. A plain shard's first read is a whole one wherever it begins."""
    size = 16_000
    while (first := len(_record_bytes([("response", size, True)], gz=False)[0])) != 16_383:
        size += 16_383 - first
    records = _record_bytes([("response", size, True), ("response", 90, True)], gz=False)
    path = tmp_path / "c.warc"
    path.write_bytes(b"".join(records))
    assert [s.start for s in _check(path, 1)] == [0, 16_383]


@settings(max_examples=300, deadline=None)
@given(gz=st.booleans(), data=st.data())
def test_a_warc_cut_anywhere_loses_no_record_in_silence(
    tmp_path_factory: pytest.TempPathFactory, gz: bool, data: st.DataObject
) -> None:
    records = _record_bytes(_CRAWL, gz=gz)
    starts = [0, *accumulate(len(r) for r in records)][:-1]
    whole = b"".join(records)
    folder = tmp_path_factory.mktemp("cut")
    uncut = folder / ("whole.warc.gz" if gz else "whole.warc")
    uncut.write_bytes(whole)
    pages = [(item.id, item.text) for item in read_warc(uncut)]
    cut = data.draw(st.integers(1, len(whole) - 1))
    path = folder / ("c.warc.gz" if gz else "c.warc")
    path.write_bytes(whole[:cut])
    got, error = _read(read_warc(path))
    read = [(item.id, item.text) for item in got]
    # What is read is the whole file's, never a page cut short.
    assert read == pages[: len(read)]
    if error is None:
        # Read without a word: then every response the cut began was read whole (the
        # cut fell after its block, in the line breaks or the gzip trailer after it).
        begun = sum(
            1
            for (kind, _, _), at in zip(_CRAWL, starts, strict=True)
            if kind == "response" and at < cut
        )
        assert len(read) == begun, f"a WARC cut at byte {cut} of {len(whole)} lost a record"
    else:
        assert error.startswith(f"corpus {path} is not a valid WARC past record {len(read):,} ")


@pytest.mark.parametrize("length", [b"abc", b"-5", b""])
def test_a_record_whose_length_is_no_count_is_an_error_not_a_guess(
    tmp_path: Path, length: bytes
) -> None:
    records = _record_bytes(_CRAWL, gz=False)
    records[2] = re.sub(rb"Content-Length: \d+", b"Content-Length: " + length, records[2])
    path = tmp_path / "c.warc"
    path.write_bytes(b"".join(records))
    got, error = _read(read_warc(path))
    assert [item.id for item in got] == [item.id for item in read_warc(_whole(tmp_path))][:1]
    assert error is not None and "a Content-Length that is a count of bytes" in error
    assert f"(after byte {len(records[0]) + len(records[1]):,}: " in error


def _whole(folder: Path) -> Path:
    path = folder / "whole.warc"
    path.write_bytes(b"".join(_record_bytes(_CRAWL, gz=False)))
    return path
