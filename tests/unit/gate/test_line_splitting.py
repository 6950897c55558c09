"""The JSON Lines reader splits a block at a time: every line, cut or not, is the one a
line-at-a-time reading gives, wherever the blocks end."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.gate.readers import jsonl


def _one_line_at_a_time(stream: io.BytesIO, limit: int) -> Iterator[tuple[bytes, bool]]:
    """The reading the block reader replaced: ``readline`` per line."""
    while line := stream.readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield line[:limit], True
            continue
        yield line.rstrip(b"\r\n"), False


_PIECES = st.lists(
    st.sampled_from([b"\n", b"\r", b"\r\n", b"a", b"bcd", b"x" * 9, b"{}", b"\xff"]), max_size=60
)


@settings(max_examples=300, deadline=None)
@given(pieces=_PIECES, limit=st.integers(1, 12), block=st.integers(1, 16))
def test_lines_are_those_of_a_line_at_a_time_reading(
    pieces: list[bytes], limit: int, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"".join(pieces)
    monkeypatch.setattr(jsonl, "_READ_BYTES", block)
    assert list(jsonl._lines(io.BytesIO(data), limit)) == list(
        _one_line_at_a_time(io.BytesIO(data), limit)
    )


def test_a_line_over_the_limit_is_not_held_whole() -> None:
    data = b"a" * 50_000_000 + b"\nshort\n"
    tracemalloc.start()
    lines = list(jsonl._lines(io.BytesIO(data), 2000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert lines == [(b"a" * 2000, True), (b"short", False)]
    assert peak < 4 * jsonl._READ_BYTES
