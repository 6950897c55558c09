"""Readers: every format streams items; bad records become unreadable items, none lost."""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from consentry.errors import InputError
from consentry.gate import Item, read_corpus, read_dataset
from consentry.gate.reservations import item_reservation
from consentry.terms import Category, Permission
from tests.conftest import real_text

TEXT = real_text()[:2000]
GOOD = [
    {"id": f"doc{i}", "text": f"{i} {TEXT}", "metadata": {"license": "CC-BY-4.0"}} for i in range(3)
]


def _write_jsonl(path: Path, lines: list[bytes]) -> Path:
    data = b"\n".join(lines) + b"\n"
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    elif path.name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["c.jsonl", "c.jsonl.gz", "c.jsonl.zst"])
def test_jsonl_plain_and_compressed(tmp_path: Path, name: str) -> None:
    path = _write_jsonl(tmp_path / name, [json.dumps(r).encode() for r in GOOD])
    items = list(read_corpus(path))
    assert [i.id for i in items] == ["doc0", "doc1", "doc2"]
    assert all(i.unreadable is None and i.text and i.text.endswith(TEXT) for i in items)
    assert items[0].metadata == {"license": "CC-BY-4.0"}
    assert items[0].original == GOOD[0]


def test_bad_lines_become_unreadable_items_and_reading_goes_on(tmp_path: Path) -> None:
    lines = [
        json.dumps(GOOD[0]).encode(),
        b"{not json",
        b"[1, 2]",
        json.dumps({"id": "notext"}).encode(),
        json.dumps({"text": "no id here"}).encode(),
        json.dumps({"id": "empty", "text": "   "}).encode(),
        '{"id": "latin", "text": "caf\xe9"}'.encode("latin-1"),
        json.dumps({"id": "surrogate", "text": "\ud800"}).encode(),
        json.dumps({"id": "giant", "text": "x" * 5000}).encode(),
        json.dumps({"id": "b64", "image": "!!notbase64"}).encode(),
        json.dumps({"id": "meta", "text": "t", "metadata": [1]}).encode(),
        b"",
        json.dumps(GOOD[1]).encode(),
    ]
    items = list(read_corpus(_write_jsonl(tmp_path / "c.jsonl", lines), max_bytes=4000))
    reasons = {i.id: i.unreadable for i in items}
    assert reasons["doc0"] is None and reasons["doc1"] is None
    assert "not JSON" in reasons["c.jsonl:2"]
    assert "not an object" in reasons["c.jsonl:3"]
    assert "no text, image" in reasons["notext"]
    assert "no id" in reasons["c.jsonl:5"]
    assert reasons["empty"] == "text is empty"
    assert "not UTF-8" in reasons["c.jsonl:7"]
    assert "surrogates" in reasons["surrogate"]
    assert "over the 4,000-byte limit" in reasons["giant"]
    assert "base64" in reasons["b64"]
    assert "metadata must be an object" in reasons["meta"]
    assert "line 12 is blank" in reasons["c.jsonl:12"]
    assert len(items) == 13  # every line is one item, a blank one too


def test_blank_json_lines_become_unreadable_items_not_silence(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "c.jsonl", [json.dumps(GOOD[0]).encode(), b"  ", b""])
    reasons = [item.unreadable for item in read_corpus(path)]
    assert reasons == [None, "line 2 is blank", "line 3 is blank"]


def test_a_binary_file_named_jsonl_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "photo.jsonl"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    with pytest.raises(InputError, match=r"photo\.jsonl is binary, not JSON Lines"):
        list(read_corpus(path))


def test_a_line_far_over_the_limit_is_skipped_without_holding_it(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "c.jsonl",
        [b'{"id": "huge", "text": "' + b"y" * 3_000_000 + b'"}', json.dumps(GOOD[0]).encode()],
    )
    items = list(read_corpus(path, max_bytes=10_000))
    assert "over the 10,000-byte limit" in (items[0].unreadable or "")
    assert items[1].id == "doc0" and items[1].unreadable is None


@pytest.mark.parametrize("name", ["c.jsonl.gz", "c.jsonl.zst"])
def test_a_truncated_compressed_file_gives_what_was_read_then_an_error_naming_the_point(
    tmp_path: Path, name: str
) -> None:
    # Text that does not compress away, so half the file holds whole zstd blocks.
    noise = random.Random(0)
    lines = [
        json.dumps({"id": f"d{i}", "text": noise.randbytes(300).hex()}).encode()
        for i in range(2000)
    ]
    path = _write_jsonl(tmp_path / name, lines)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    items: list[Item] = []
    with pytest.raises(InputError, match=rf"{name} is truncated or corrupt after line ") as error:
        items.extend(read_corpus(path))
    assert all(i.unreadable is None for i in items) and 1 < len(items) < 2000
    assert f"after line {len(items):,} (" in str(error.value)


lines_strategy = st.lists(
    st.one_of(
        st.builds(
            lambda i, t: json.dumps({"id": f"x{i}", "text": t}).encode(),
            st.integers(0, 10**6),
            st.text(max_size=50),
        ),
        # A NUL byte makes the file binary, refused as a whole (tested above).
        st.binary(max_size=40).filter(lambda b: not {10, 13, 0} & set(b)),
        st.just(b"{}"),
        st.just(b"null"),
    ),
    max_size=40,
)


@given(lines_strategy)
def test_no_line_is_lost_or_doubled(lines: list[bytes]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = _write_jsonl(Path(folder) / "c.jsonl", lines)
        items = list(read_corpus(path))
    assert len(items) == max(1, len(lines))  # no lines still writes one blank line
    for item in items:
        assert (item.unreadable is None) == (item.text is not None or item.image is not None)


def test_images_inline_and_by_path(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
    (tmp_path / "pic.png").write_bytes(png)
    lines = [
        json.dumps({"id": "inline", "image": base64.b64encode(png).decode()}).encode(),
        json.dumps({"id": "bypath", "image_path": "pic.png"}).encode(),
        json.dumps({"id": "missing", "image_path": "nope.png"}).encode(),
    ]
    items = {i.id: i for i in read_corpus(_write_jsonl(tmp_path / "c.jsonl", lines))}
    assert items["inline"].image == png and items["bypath"].image == png
    assert "cannot be read" in (items["missing"].unreadable or "")


def test_parquet_with_json_metadata_column(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": ["p1", "p2", "p3"],
            "text": [TEXT, None, "   "],
            "metadata": [json.dumps({"url": "https://example.org/a"}), "{}", "{broken"],
        }
    )
    pq.write_table(table, tmp_path / "c.parquet", row_group_size=2)
    items = list(read_corpus(tmp_path / "c.parquet"))
    assert [i.id for i in items] == ["p1", "p2", "p3"]
    assert items[0].text == TEXT and items[0].metadata == {"url": "https://example.org/a"}
    assert "no text" in (items[1].unreadable or "")
    assert "metadata is not JSON" in (items[2].unreadable or "")


def test_parquet_without_ids_is_refused(tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": ["a"]}), tmp_path / "c.parquet")
    with pytest.raises(InputError, match="no 'id' column"):
        list(read_corpus(tmp_path / "c.parquet"))


def _warc(path: Path) -> Path:
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=path.name.endswith(".gz"))
        pages = [
            (
                "https://example.org/a",
                "text/html; charset=utf-8",
                (
                    "<html><head><meta name='robots' content='noai'>"
                    "<meta name='tdm-reservation' content='1'><script>var x=1;</script>"
                    f"</head><body><p>{TEXT[:500]}</p></body></html>"
                ).encode(),
                [("X-Robots-Tag", "noai")],
            ),
            (
                "https://example.org/b",
                "text/plain; charset=latin-1",
                "café au lait".encode("latin-1"),
                [],
            ),
            ("https://example.org/c.png", "image/png", b"\x89PNG....", []),
            ("https://example.org/d", "text/html; charset=utf-8", b"\xff\xfe bad", []),
            (
                "https://example.org/e",
                "text/plain",
                b"one crawler's",
                [("X-Robots-Tag", "googlebot: noindex"), ("X-Robots-Tag", "noai")],
            ),
        ]
        for url, ctype, body, extra in pages:
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", ctype), *extra], protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers
            )
            writer.write_record(record)
            record.raw_stream.close()  # the writer buffers each record in a temporary file
    return path


@pytest.mark.parametrize("name", ["c.warc", "c.warc.gz"])
def test_warc_responses_keep_headers_and_meta(tmp_path: Path, name: str) -> None:
    items = list(read_corpus(_warc(tmp_path / name)))
    assert len(items) == 5
    page, plain, image, bad, one_crawlers = items
    assert page.text is not None and TEXT[:100].split()[0] in page.text and "var x" not in page.text
    assert page.metadata["url"] == "https://example.org/a"
    assert page.metadata["http_headers"]["x-robots-tag"] == "noai"
    assert page.metadata["html_meta"] == {"robots": "noai", "tdm-reservation": "1"}
    assert plain.text == "café au lait"
    assert "not text" in (image.unreadable or "")
    assert "not valid utf-8" in (bad.unreadable or "")
    # Each X-Robots-Tag line is its own list: the agent prefix of the first does not
    # reach the second, so its noai binds every crawler.
    reserved = item_reservation(one_crawlers)
    assert reserved.for_agent("GPTBot").permission(Category.TRAIN_AI) is Permission.DENY


def test_folder_items_are_named_by_relative_path(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text(TEXT)
    (tmp_path / "b.bin").write_bytes(b"\0\1\2")
    (tmp_path / "empty.txt").write_bytes(b"")
    items = {i.id: i for i in read_corpus(tmp_path)}
    assert items["a/one.txt"].text == TEXT
    assert items["b.bin"].unreadable == "file is binary and not an image"
    assert items["empty.txt"].unreadable == "file is empty"


def test_hugging_face_datasets_through_the_python_api() -> None:
    import datasets

    dataset = datasets.Dataset.from_dict(
        {
            "id": ["h1", "h2"],
            "text": [TEXT, ""],
            "metadata": [{"license": "MIT"}, {"license": "MIT"}],
        }
    )
    items = list(read_dataset(dataset, name="hub"))
    assert (
        isinstance(items[0], Item)
        and items[0].text == TEXT
        and items[0].metadata == {"license": "MIT"}
    )
    assert items[1].unreadable == "text is empty" and items[1].source == "hub#2"


def test_unknown_formats_and_missing_paths_are_named(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("a,b")
    with pytest.raises(InputError, match=r"c\.csv is not a folder, JSON Lines"):
        read_corpus(tmp_path / "c.csv")
    with pytest.raises(InputError, match="does not exist"):
        read_corpus(tmp_path / "nope.jsonl")


def test_regression_a_plain_file_starting_like_gzip_loses_no_line(tmp_path: Path) -> None:
    # The gzip magic at the start of a .jsonl file made the whole file "corrupt gzip".
    path = _write_jsonl(tmp_path / "c.jsonl", [b"\x1f\x8b", b'{"id": "a", "text": "kept"}'])
    items = list(read_corpus(path))
    assert [i.unreadable is None for i in items] == [False, True]
    assert items[1].text == "kept"
