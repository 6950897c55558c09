"""Every reader fed random and hostile bytes and records (issue 20, point 5): no exception
escapes but the ``InputError`` that refuses or ends a damaged file, and every input
item is accounted for (each line of a JSON Lines file is exactly one item, each entry of
a folder one item), each of them one that can be written to the outputs and sent to a
worker."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from consentry.errors import InputError
from consentry.gate import Item, read_corpus, read_dataset
from tests.security.hostile import png_of, within

# Bounded, so the whole file runs in seconds.
_FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _writable(item: Item) -> None:
    """What the run writes of ``item`` is strict JSON, and the item can go to a worker."""
    line: dict[str, object] = {"id": item.id, "source": item.source, "why": item.unreadable}
    if item.unreadable is None:
        line.update(metadata=item.metadata, original=item.original, text=item.text)
    json.dumps(line, ensure_ascii=False, allow_nan=False).encode("utf-8")
    pickle.loads(pickle.dumps(item))  # noqa: S301 - our own bytes
    assert (item.unreadable is None) == (item.text is not None or item.image is not None)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def _fresh(folder: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=folder))


# -- JSON Lines ---------------------------------------------------------------------

_deep = st.integers(100, 3000).map(lambda n: "[" * n + "]" * n)
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included
    | st.text(max_size=8),  # lone surrogates included
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
_records = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=6) | st.integers(-5, 10**6) | _values,
        "text": st.text(max_size=40) | _values,
        "metadata": st.dictionaries(st.text(max_size=5), _values, max_size=3) | _values,
        "image": st.sampled_from(["!!", "é", "aGk=", ""]) | _values,
        "image_path": st.sampled_from(
            # /dev/null, not /dev/zero: a reader that regressed would read zeros until
            # the machine ran out of memory (the attack's own test bounds it first).
            ["/dev/null", "../outside.png", "/etc/passwd", "pipe", "", "a\0b", "pic.png"]
        ),
    },
)
_line = st.one_of(
    _records.map(lambda r: json.dumps(r).encode()),
    _deep.map(str.encode),
    st.integers(4301, 6000).map(lambda n: b'{"id": ' + b"7" * n + b', "text": "t"}'),
    st.just(b'{"id": "\\ud800", "text": "t"}'),
    st.just(b'{"id": "n", "text": "t", "metadata": {"x": NaN, "y": -Infinity, "z": 1e999}}'),
    st.binary(max_size=30).filter(lambda b: not {0, 10} & set(b)),  # NUL: a binary file
    st.sampled_from([b"", b"   ", b"\r", b"null", b'"a string"', b"[]", b"{}", b"\xff"]),
)


def _jsonl(path: Path, lines: list[bytes]) -> Path:
    data = b"".join(line + b"\n" for line in lines)
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    elif path.name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def _hostile_neighbours(root: Path) -> None:
    """What an ``image_path`` may name beside the corpus: a FIFO, a tiny image that
    claims 64 megapixels, a file outside the folder."""
    os.mkfifo(root / "pipe")
    (root / "pic.png").write_bytes(png_of(7990, 7990))
    (root.parent / "outside.png").write_bytes(png_of(2, 2))


@_FEW
@given(st.lists(_line, max_size=12), st.sampled_from(["c.jsonl", "c.jsonl.gz", "c.jsonl.zst"]))
def test_every_json_line_is_exactly_one_item_whatever_it_holds(
    folder: Path, lines: list[bytes], name: str
) -> None:
    root = _fresh(folder) / "corpus"
    root.mkdir()
    _hostile_neighbours(root)
    with within(20):
        items = list(read_corpus(_jsonl(root / name, lines)))
    assert [i.source for i in items] == [f"{name}:{n}" for n in range(1, len(lines) + 1)]
    for item in items:
        _writable(item)
        assert item.image is None or len(item.image) < 1000  # nothing from outside


@_FEW
@given(st.lists(_line, min_size=1, max_size=30), st.data())
def test_a_damaged_compressed_file_gives_the_items_before_the_damage_then_names_it(
    folder: Path, lines: list[bytes], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(["c.jsonl.gz", "c.jsonl.zst"]))
    path = _jsonl(_fresh(folder) / name, lines)
    whole = path.read_bytes()
    damaged = bytearray(whole[: data.draw(st.integers(0, len(whole) - 1))])
    flips = data.draw(st.integers(0, 3)) if damaged else 0
    for _ in range(flips):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] ^= 0xFF
    path.write_bytes(bytes(damaged))
    items: list[Item] = []
    try:
        items.extend(read_corpus(path))
    except InputError as exc:
        # Refused as binary (what decompressed held a NUL byte), or cut short: then the
        # error names the last line read whole.
        message = str(exc)
        assert "is binary" in message or f"{name} is truncated or corrupt" in message
        if "is truncated" in message:
            where = f"after line {len(items):,} (" if items else "before its first line"
            assert where in message
    for item in items:
        _writable(item)
    # Cut short, nothing is read past the cut. A flipped byte inside the compressed
    # stream may decompress into other lines before the damage shows (gzip checks its
    # CRC at the end of the stream): those are items like any other, and the error
    # still comes.
    if not flips:
        assert len(items) <= len(lines)


# -- folders ------------------------------------------------------------------------

_names = st.one_of(
    st.text(
        st.characters(blacklist_characters="/\0", blacklist_categories=["Cs"]),
        min_size=1,
        max_size=8,
    ),
    st.binary(min_size=1, max_size=8).filter(lambda b: b"/" not in b and b"\0" not in b),
).filter(lambda n: n not in {".", "..", b".", b".."})
_entries = st.lists(
    st.tuples(
        _names,
        st.sampled_from(["file", "fifo", "link-out", "link-in", "link-dir", "dangling", "dir"]),
        st.binary(max_size=40)
        | st.sampled_from([png_of(7990, 7990), png_of(3, 3), b"\xef\xbb\xbf"]),
    ),
    max_size=10,
    unique_by=lambda entry: os.fsencode(entry[0]) if isinstance(entry[0], str) else entry[0],
)


def _make(root: Path, entries: list[tuple[str | bytes, str, bytes]]) -> int:
    """The entries in ``root`` (``dir`` holds a file of its own); how many items that is."""
    (root.parent / "secret.txt").write_text("the licensee's own file")
    expected = 0
    for raw, kind, data in entries:
        path = os.path.join(os.fsencode(root), os.fsencode(raw))
        match kind:
            case "file":
                Path(os.fsdecode(path)).write_bytes(data)
            case "fifo":
                os.mkfifo(path)
            case "link-out":
                os.symlink(os.fsencode(root.parent / "secret.txt"), path)
            case "link-in":
                os.symlink(b".", path) if not data else os.symlink(path + b".t", path)
            case "link-dir":
                os.symlink(os.fsencode(root.parent), path)
            case "dangling":
                os.symlink(b"nowhere", path)
            case "dir":
                os.mkdir(path)
                Path(os.fsdecode(path), "inner").write_bytes(data)
        expected += 1
    return expected


@_FEW
@given(_entries)
def test_every_entry_of_a_folder_is_exactly_one_item_and_nothing_outside_is_read(
    folder: Path, entries: list[tuple[str | bytes, str, bytes]]
) -> None:
    root = _fresh(folder) / "corpus"
    root.mkdir()
    expected = _make(root, entries)
    with within(20):
        items = list(read_corpus(root))
    assert len(items) == expected
    assert len({item.id for item in items}) == expected
    for item in items:
        _writable(item)
        assert "the licensee's own file" not in (item.text or "")


# -- Parquet ------------------------------------------------------------------------

_json_texts = st.one_of(
    _records.map(json.dumps),
    _deep,
    st.just('{"score": NaN}'),
    st.just('{"deep": ' + "[" * 200 + "]" * 200 + "}"),
    st.text(max_size=10),
)


@_FEW
@given(
    st.lists(
        st.tuples(
            st.text(max_size=5) | st.none(),
            st.text(max_size=30) | st.none(),
            _json_texts | st.none(),
            st.binary(max_size=20) | st.none(),
        ),
        max_size=12,
    )
)
def test_every_parquet_row_is_exactly_one_item(
    folder: Path, rows: list[tuple[str | None, str | None, str | None, bytes | None]]
) -> None:
    path = _fresh(folder) / "c.parquet"
    columns = list(zip(*rows, strict=True)) or [[], [], [], []]
    table = pa.table(
        {
            "id": pa.array(columns[0], pa.string()),
            "text": pa.array(columns[1], pa.string()),
            "metadata": pa.array(columns[2], pa.string()),
            "image": pa.array(columns[3], pa.binary()),
        }
    )
    pq.write_table(table, path, row_group_size=5)
    items = list(read_corpus(path))
    assert [i.source for i in items] == [f"c.parquet#{n}" for n in range(1, len(rows) + 1)]
    for item in items:
        _writable(item)


@_FEW
@given(st.lists(_records, max_size=10))
def test_every_dataset_row_is_exactly_one_item(rows: list[dict[str, object]]) -> None:
    items = list(read_dataset(rows, name="hub"))
    assert [i.source for i in items] == [f"hub#{n}" for n in range(1, len(rows) + 1)]
    for item in items:
        _writable(item)


# -- WARC ---------------------------------------------------------------------------

_pages = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "text/html; charset=utf-8",
                "text/plain; charset=utf-7",
                "text/html; charset=unicode_escape",
                "text/plain; charset=no-such-codec",
                "text/plain",
                "image/png",
            ]
        ),
        st.binary(max_size=60)
        | st.sampled_from([b"+2AA-", b"\\ud800", b"<html><!x <![CDATA[", b"<meta name=robots"]),
    ),
    min_size=1,
    max_size=5,
)


def _warc(pages: list[tuple[str, bytes]], *, gz: bool) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gz)
    for number, (kind, body) in enumerate(pages):
        headers = StatusAndHeaders("200 OK", [("Content-Type", kind)], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            f"https://example.org/{number}",
            "response",
            payload=io.BytesIO(body),
            http_headers=headers,
        )
        writer.write_record(record)
        record.raw_stream.close()
    return out.getvalue()


def _at(data: st.DataObject, length: int) -> int:
    """A position in ``length`` bytes, drawn as a fraction of them."""
    return data.draw(st.integers(0, 9999)) * length // 10_000


@_FEW
@given(_pages, st.booleans(), st.data())
def test_a_warc_file_cut_or_flipped_anywhere_gives_items_or_one_error(
    folder: Path, pages: list[tuple[str, bytes]], gz: bool, data: st.DataObject
) -> None:
    # Positions are drawn as fractions: a WARC's record ids and dates, and so its
    # length, differ from one run to the next.
    whole = bytearray(_warc(pages, gz=gz))
    if data.draw(st.booleans()):
        whole = whole[: _at(data, len(whole) + 1)]
    for _ in range(data.draw(st.integers(0, 4))):
        if whole:
            whole[_at(data, len(whole))] = data.draw(st.integers(0, 255))
    path = _fresh(folder) / ("c.warc.gz" if gz else "c.warc")
    path.write_bytes(bytes(whole))
    items: list[Item] = []
    try:
        items.extend(read_corpus(path))
    except InputError as exc:
        message = str(exc)
    else:
        message = "is not a valid WARC past record"
    assert "is not a valid WARC past record" in message
    for item in items:
        _writable(item)


# -- any bytes at all ---------------------------------------------------------------


@_FEW
@given(
    st.binary(max_size=300),
    st.sampled_from(
        ["c.jsonl", "c.jsonl.gz", "c.jsonl.zst", "c.parquet", "c.warc", "c.warc.gz", "c.ndjson"]
    ),
)
def test_random_bytes_under_any_corpus_name_give_items_or_one_error(
    folder: Path, data: bytes, name: str
) -> None:
    path = _fresh(folder) / name
    path.write_bytes(data)
    items: list[Item] = []
    # Refused or ended with one sentence, what the run reports, or read.
    with contextlib.suppress(InputError):
        items.extend(read_corpus(path))
    for item in items:
        _writable(item)
