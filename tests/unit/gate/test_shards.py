"""Shards of a JSON Lines or Parquet file read back as the whole file reads: every item
once, in order, each named by its line or row in the whole file, whatever the cut."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.errors import InputError
from consentry.gate.readers import read_jsonl, read_parquet
from consentry.gate.shards import plan_shards, read_shard, splittable

_line = st.one_of(
    st.builds(lambda n, t: json.dumps({"id": f"i{n}", "text": t}), st.integers(0, 99), st.text()),
    st.just(""),  # blank: an unreadable item, named by its line
    st.just("not json"),
    st.just("[1, 2]"),
)


def _named(items: object) -> list[tuple[str, str, str | None, str | None]]:
    return [(i.id, i.source, i.text, i.unreadable) for i in items]  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_line, max_size=40),
    st.integers(1, 300),
    st.booleans(),
    st.sampled_from(["\n", "\r\n"]),
)
def test_shards_read_as_the_whole_file(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    target: int,
    trailing: bool,
    newline: str,
) -> None:
    path = tmp_path_factory.mktemp("shards") / "corpus.jsonl"
    path.write_bytes((newline.join(lines) + (newline if trailing and lines else "")).encode())
    shards = plan_shards(path, target_bytes=target)
    assert shards[0].start == 0 and shards[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in pairwise(shards))
    assert [s.number for s in shards] == list(range(len(shards)))
    pieces = [item for s in shards for item in read_jsonl(path, lines=s.lines)]
    assert _named(pieces) == _named(read_jsonl(path))


def test_plain_json_lines_parquet_and_warc_are_cut_compressed_json_lines_not(
    tmp_path: Path,
) -> None:
    for name, cut in (
        ("a.jsonl", True),
        ("a.ndjson", True),
        ("a.jsonl.gz", False),
        ("a.parquet", True),
        ("a.warc", True),
        ("a.warc.gz", True),
    ):
        (tmp_path / name).write_bytes(b"{}\n")
        assert splittable(tmp_path / name) is cut
    assert not splittable(tmp_path)
    with pytest.raises(InputError, match="at least one byte"):
        plan_shards(tmp_path / "a.jsonl", target_bytes=0)
    with pytest.raises(InputError, match="not a readable Parquet file"):
        plan_shards(tmp_path / "a.parquet")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 60), st.integers(1, 12), st.integers(1, 4000))
def test_parquet_shards_read_as_the_whole_file(
    tmp_path_factory: pytest.TempPathFactory, rows: int, group_rows: int, target: int
) -> None:
    path = tmp_path_factory.mktemp("shards") / "corpus.parquet"
    table = pa.table(
        {
            "id": [f"i{n % 7}" for n in range(rows)],
            "text": [f"row {n} " * (n % 5) for n in range(rows)],
            "metadata": ['{"license": "CC0-1.0"}' if n % 3 else "not json" for n in range(rows)],
        }
    )
    pq.write_table(table, path, row_group_size=group_rows)
    shards = plan_shards(path, target_bytes=target)
    groups = pq.ParquetFile(path).metadata.num_row_groups
    assert shards[0].start == 0 and shards[-1].end == groups
    assert all(a.end == b.start for a, b in pairwise(shards))
    assert [s.number for s in shards] == list(range(len(shards)))
    pieces = [item for s in shards for item in read_shard(path, s)]
    assert _named(pieces) == _named(read_parquet(path))
