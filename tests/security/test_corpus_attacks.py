"""Each input that stopped a whole gate run for good, or read what it should not, is now
an item rejected with its reason (issue 20, point 5); a truncated compressed corpus is
a reported error after the items before the damage are decided. Each test runs the
attack through a real gate run over real files."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from PIL import Image
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from consentry.errors import InputError
from consentry.gate import item_from_mapping, read_corpus
from consentry.gate.run import RunStats
from tests.e2e.conftest import Cli
from tests.security.hostile import memory_bound, png_of, within
from tests.unit.gate.offline_run import run_offline

TEXT = "A sentence of an item that anyone may use. " * 20
OPEN = {"license": "CC0-1.0"}  # admitted as unregistered content under an open licence


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def _strict(path: Path) -> list[dict[str, Any]]:
    """A JSON Lines output, read as a strict JSON reader reads it (no NaN, no Infinity)."""
    return [
        json.loads(line, parse_constant=_refuse) for line in path.read_text("utf-8").splitlines()
    ]


def _corpus(path: Path, lines: list[bytes | dict[str, Any]]) -> Path:
    encoded = [line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines]
    path.write_bytes(b"\n".join(encoded) + b"\n")
    return path


def _reasons(out: Path) -> dict[str, str]:
    return {r["id"]: r["reasons"][0]["message"] for r in _strict(out / "rejected.jsonl")}


def _admitted(out: Path) -> list[str]:
    return [r["id"] for r in _strict(out / "admitted.jsonl")]


def test_deeply_nested_json_is_an_unreadable_item_and_the_run_goes_on(tmp_path: Path) -> None:
    deep = b'{"id": "deep", "text": "t", "metadata": {"x": ' + b"[" * 100_000 + b"]" * 100_000
    nested = {"id": "nested", "text": TEXT, "metadata": {"x": json.loads("[" * 200 + "]" * 200)}}
    corpus = _corpus(
        tmp_path / "c.jsonl", [deep + b"}}", nested, {"id": "ok", "text": TEXT, "metadata": OPEN}]
    )
    out = tmp_path / "out"
    assert run_offline(corpus, out)["items"] == 3
    assert _reasons(out) == {
        "c.jsonl:1": "line 1 is JSON nested too deeply to read",
        "nested": "metadata is nested over 128 levels deep",
    }
    assert _admitted(out) == ["ok"]


def test_a_5000_digit_integer_is_an_unreadable_item(tmp_path: Path) -> None:
    lines = [
        b'{"id": "n", "text": "t", "metadata": {"count": ' + b"9" * 5000 + b"}}",
        b'{"id": ' + b"1" * 5000 + b', "text": "t"}',
        {"id": "ok", "text": TEXT, "metadata": OPEN},
    ]
    out = tmp_path / "out"
    run_offline(_corpus(tmp_path / "c.jsonl", lines), out)
    assert _reasons(out) == {
        "c.jsonl:1": "line 1 holds an integer of over 4,300 digits",
        "c.jsonl:2": "line 2 holds an integer of over 4,300 digits",
    }
    assert _admitted(out) == ["ok"]


def test_a_lone_surrogate_in_an_id_or_in_metadata_is_an_unreadable_item(tmp_path: Path) -> None:
    lines = [
        b'{"id": "\\ud800", "text": "t"}',
        b'{"id": "m", "text": "t", "metadata": {"name": "x\\udfff"}}',
        b'{"id": "k", "text": "t", "metadata": {"\\ud83d": 1}}',
        b'{"id": "o", "text": "t", "source_url": "\\udc80"}',
        {"id": "ok", "text": TEXT, "metadata": OPEN},
    ]
    out = tmp_path / "out"
    run_offline(_corpus(tmp_path / "c.jsonl", lines), out)
    # An id that cannot be written names its item by its line instead.
    assert _reasons(out) == {
        "c.jsonl:1": "id holds an unpaired surrogate (not valid Unicode)",
        "m": "metadata holds an unpaired surrogate (not valid Unicode)",
        "k": "metadata holds an unpaired surrogate (not valid Unicode)",
        "o": "source_url holds an unpaired surrogate (not valid Unicode)",
    }
    assert _admitted(out) == ["ok"]


def test_nan_and_infinity_in_metadata_are_refused_so_admitted_jsonl_stays_json(
    tmp_path: Path,
) -> None:
    lines = [
        b'{"id": "nan", "text": "t", "metadata": {"license": "CC0-1.0", "score": NaN}}',
        b'{"id": "inf", "text": "t", "metadata": {"license": "CC0-1.0", "w": [-Infinity]}}',
        b'{"id": "big", "text": "t", "metadata": {"license": "CC0-1.0", "w": 1e999}}',
        {"id": "ok", "text": TEXT, "metadata": {**OPEN, "score": 0.5}},
    ]
    out = tmp_path / "out"
    run_offline(_corpus(tmp_path / "c.jsonl", lines), out)
    assert _reasons(out) == {
        "nan": "metadata holds NaN, which is not a JSON number",
        "inf": "metadata holds -Infinity, which is not a JSON number",
        "big": "metadata holds Infinity, which is not a JSON number",
    }
    # Read as a strict reader reads it: every line is JSON.
    assert _admitted(out) == ["ok"]


def test_an_image_path_outside_the_corpus_folder_is_refused_without_reading_it(
    tmp_path: Path,
) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_of(2, 2))
    os.symlink(secret, root / "link.png")
    lines = [
        {"id": "up", "image_path": "../secret.png"},
        {"id": "absolute", "image_path": str(secret)},
        {"id": "link", "image_path": "link.png"},
    ]
    out = tmp_path / "out"
    run_offline(_corpus(root / "c.jsonl", lines), out)
    outside = "leads outside the corpus folder, and reading stays inside it"
    assert _reasons(out) == {
        "up": f"image ../secret.png {outside}",
        "absolute": f"image {secret} {outside}",
        "link": f"image link.png {outside}",
    }


def test_an_image_path_of_dev_zero_is_refused_not_read_without_end(tmp_path: Path) -> None:
    # /dev/zero was read until 5 GB were gone; were it read again, the bound makes that
    # a MemoryError here. A corpus at the root of the file system finds it inside.
    lines = [{"id": "zero", "image_path": "/dev/zero"}]
    corpus = _corpus(tmp_path / "c.jsonl", lines)
    with memory_bound():
        (outside,) = read_corpus(corpus)
        inside = item_from_mapping(lines[0], source="c.jsonl:1", base=Path("/"))
    assert outside.unreadable == (
        "image /dev/zero leads outside the corpus folder, and reading stays inside it"
    )
    assert inside.unreadable == "image /dev/zero is a character device, not a regular file"


def test_an_image_path_to_a_fifo_inside_the_corpus_folder_is_refused_unopened(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "folder").mkdir()
    lines = [{"id": "fifo", "image_path": "pipe"}, {"id": "dir", "image_path": "folder"}]
    out = tmp_path / "out"
    with within(30):
        run_offline(_corpus(tmp_path / "c.jsonl", lines), out)
    assert _reasons(out) == {
        "fifo": "image pipe is a FIFO (named pipe), not a regular file",
        "dir": "image folder is a folder, not a regular file",
    }


def test_a_fifo_in_a_folder_corpus_is_rejected_not_waited_on(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(TEXT)
    os.mkfifo(corpus / "b.fifo")
    out = tmp_path / "out"
    with within(30):  # a FIFO opened for reading waits for a writer forever
        summary = run_offline(corpus, out)
    assert summary["items"] == 2
    assert _reasons(out)["b.fifo"] == "file is a FIFO (named pipe), not a regular file"


def test_a_symlink_out_of_a_folder_corpus_is_rejected_not_read(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "notes.txt").write_text("the licensee's own private notes " * 20)
    (corpus / "kept.txt").write_text(TEXT)
    os.symlink(tmp_path / "private" / "notes.txt", corpus / "notes.txt")
    os.symlink(tmp_path / "private", corpus / "private")
    os.symlink("../kept.txt", corpus / "sub" / "inside.txt")  # stays in the tree: read
    out = tmp_path / "out"
    summary = run_offline(corpus, out)
    assert summary["items"] == 4
    reasons = _reasons(out)
    outside = "symlink: its target leads outside the corpus folder, and reading stays inside it"
    assert (reasons["notes.txt"], reasons["private"]) == (outside, outside)
    # A link that stays in the tree is read: unregistered, it has no basis.
    assert reasons["sub/inside.txt"].startswith("unregistered item")
    assert "private notes" not in "".join(p.read_text() for p in out.iterdir() if p.is_file())


def test_a_file_name_that_is_not_utf8_is_an_item_named_with_escapes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / os.fsdecode(b"caf\xe9.txt")).write_text(TEXT)
    out = tmp_path / "out"
    run_offline(corpus, out)
    assert _reasons(out) == {"caf\\xe9.txt": "file name is not UTF-8 (shown with \\x escapes)"}


def test_a_pixel_bomb_is_refused_by_its_header_without_being_decoded(tmp_path: Path) -> None:
    # 267 KB of PNG decoded to 7,990 x 7,990 pixels took 2.2 GB. The size is read from
    # the header: these files hold a header only, so decoding them would fail instead.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bomb.png").write_bytes(png_of(7990, 7990))
    (corpus / "broken.png").write_bytes(png_of(64, 64))
    lines = [{"id": "inline", "image": base64.b64encode(png_of(20_000, 20_000)).decode()}]
    _corpus(tmp_path / "c.jsonl", lines)
    out, inline = tmp_path / "out", tmp_path / "inline"
    run_offline(corpus, out)
    run_offline(tmp_path / "c.jsonl", inline)
    assert _reasons(out)["bomb.png"] == (
        "image is 7,990 x 7,990 pixels (63,840,100), over the 50,000,000-pixel limit per item"
    )
    assert "not a readable image" in _reasons(out)["broken.png"]  # under it: decoded
    assert _reasons(inline)["inline"] == (
        "image is over the 50,000,000-pixel limit per item (by its header)"
    )


def test_an_admitted_parquet_image_is_written_out_as_base64(tmp_path: Path) -> None:
    # Parquet hands its image column over as bytes, which no JSON holds: the admitted
    # record's line failed to be written and the run stopped.
    png = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(png, "PNG")
    table = pa.table({"id": ["p1"], "image": [png.getvalue()], "metadata": [json.dumps(OPEN)]})
    pq.write_table(table, tmp_path / "c.parquet")
    out = tmp_path / "out"
    run_offline(tmp_path / "c.parquet", out)
    (line,) = _strict(out / "admitted.jsonl")
    assert base64.b64decode(line["image"]) == png.getvalue()


def test_a_warc_response_without_a_target_uri_is_a_reported_error_not_a_crash(
    tmp_path: Path,
) -> None:
    stream = io.BytesIO()
    writer = WARCWriter(stream, gzip=False)
    headers = StatusAndHeaders("200 OK", [("Content-Type", "text/plain")], protocol="HTTP/1.1")
    for url in ("https://example.org/a", None):
        record = writer.create_warc_record(
            url, "response", payload=io.BytesIO(TEXT.encode()), http_headers=headers
        )
        writer.write_record(record)
        record.raw_stream.close()  # the writer buffers each record in a temporary file
    (tmp_path / "c.warc").write_bytes(stream.getvalue())
    read = []
    with pytest.raises(InputError, match=r"c\.warc is not a valid WARC past record 1 "):
        read.extend(read_corpus(tmp_path / "c.warc"))
    assert [item.text for item in read] == [TEXT]


def test_a_warc_page_decoding_to_lone_surrogates_is_an_unreadable_item(tmp_path: Path) -> None:
    stream = io.BytesIO()
    writer = WARCWriter(stream, gzip=False)
    for charset, body in (("utf-7", b"+2AA-"), ("unicode_escape", b"x \\ud800")):
        headers = StatusAndHeaders(
            "200 OK", [("Content-Type", f"text/plain; charset={charset}")], protocol="HTTP/1.1"
        )
        record = writer.create_warc_record(
            f"https://example.org/{charset}",
            "response",
            payload=io.BytesIO(body),
            http_headers=headers,
        )
        writer.write_record(record)
        record.raw_stream.close()
    (tmp_path / "c.warc").write_bytes(stream.getvalue())
    reasons = [item.unreadable for item in read_corpus(tmp_path / "c.warc")]
    assert reasons == [
        "response body is not valid utf-7",
        "response body is not valid unicode_escape",
    ]


def _zst(path: Path, records: list[dict[str, Any]]) -> bytes:
    """A zstd corpus of ``records``, one frame per 100 lines as a long-running writer
    makes it; its bytes."""
    frames = b""
    for start in range(0, len(records), 100):
        chunk = b"".join(json.dumps(r).encode() + b"\n" for r in records[start : start + 100])
        frames += zstandard.ZstdCompressor().compress(chunk)
    path.write_bytes(frames)
    return frames


def test_a_truncated_zst_corpus_ends_the_run_with_an_error_after_deciding_what_was_read(
    tmp_path: Path,
) -> None:
    cli = Cli(tmp_path / "home", keys=tmp_path / "keys")
    cli("init")
    lab = cli("licensee", "create", "Lab", "--json").records()[0]["id"]
    noise = os.urandom
    records = [
        {"id": f"d{i}", "text": f"{noise(400).hex()} {TEXT}", "metadata": OPEN} for i in range(1000)
    ]
    corpus = tmp_path / "c.jsonl.zst"
    whole = _zst(corpus, records)
    corpus.write_bytes(whole[: len(whole) * 6 // 10])
    out = tmp_path / "out"
    run = ["gate", "run", str(corpus), "--licensee", lab, "--purpose", "train-ai", "--out"]
    failed = cli(*run, str(out), expect=2)
    decided = len(_strict(out / "admitted.jsonl"))
    assert 0 < decided < 1000
    assert failed.stderr.replace("\n", "") == (
        f"error: corpus {corpus} is truncated or corrupt after line {decided:,} (the file "
        f"ends inside a zstd frame, at byte {len(whole) * 6 // 10:,}); the {decided:,} items "
        f"before it are decided and saved in {out}: restore the whole file and run again "
        "with --resume"
    )
    # Never a quiet success: run again on the same file, it fails the same way.
    assert cli(*run, str(out), "--resume", expect=2).stderr == failed.stderr
    corpus.write_bytes(whole)
    summary = cli(*run, str(out), "--resume", "--json").records()[0]
    assert summary["items"] == 1000
    assert _admitted(out) == [f"d{i}" for i in range(1000)]


def test_a_hostile_corpus_resumed_decides_every_line_exactly_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    attacks: list[bytes | dict[str, Any]] = [
        b"[" * 50_000,
        b'{"id": 1' + b"0" * 5000 + b', "text": "t"}',
        b'{"id": "\\ud800", "text": "t"}',
        b'{"id": "nan", "text": "t", "metadata": {"x": NaN}}',
        {"id": "zero", "image_path": "/dev/zero"},
        {"id": "pipe", "image_path": "pipe"},
        b"",
        b"   ",
        b"\xff\xfe",
    ]
    lines = [
        line
        for n in range(40)
        for line in ({"id": f"ok{n}", "text": f"{n} {TEXT}", "metadata": OPEN}, attacks[n % 9])
    ]
    corpus = _corpus(tmp_path / "c.jsonl", lines)
    out = tmp_path / "out"
    chunks = 0

    def stop_after_three_chunks(stats: RunStats) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == 3:
            raise KeyboardInterrupt

    # Bounded: each of these once hung the run or read without end.
    with within(60), memory_bound(4 << 30), pytest.raises(KeyboardInterrupt):
        run_offline(
            corpus, out, checkpoint_every=7, chunk_bytes=4000, on_progress=stop_after_three_chunks
        )
    with within(60), memory_bound(4 << 30):
        summary = run_offline(corpus, out, resume=True, chunk_bytes=4000)
    assert summary["items"] == len(lines) == 80
    rejected = _strict(out / "rejected.jsonl")
    sources = sorted(r["source"] for r in rejected) + sorted(_admitted(out))
    assert len(sources) == len(set(sources)) == 80
    assert _admitted(out) == [f"ok{n}" for n in range(40)]
    assert {r["reasons"][0]["match"] for r in rejected} == {"unreadable"}
    blank = {r["source"]: r["reasons"][0]["message"] for r in rejected}
    assert blank["c.jsonl:14"] == "line 14 is blank"  # blank lines are items too
