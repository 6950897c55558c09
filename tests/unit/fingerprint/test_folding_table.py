"""The single-character folding table is built once per install and kept on disk; a
kept file is used only when it is exactly a table built for this Python, this Unicode
database and this module, and two processes writing it at once both end with the
right table."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry._jit import cache_folder
from consentry.fingerprint import normalize
from consentry.fingerprint.normalize import (
    _build_single_character_table,
    _kept_table,
    _read_table,
    _table_key,
)

ROOT = Path(__file__).resolve().parents[3]


@cache
def _built() -> npt.NDArray[np.uint32]:
    return _build_single_character_table()


@cache
def _kept_bytes() -> bytes:
    """A kept table's file, as a first process writes it."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.bin"
        _kept_table(path)
        return path.read_bytes()


def _key() -> bytes:
    key = _table_key()
    assert key is not None, "this module's source is readable in a checkout"
    return key


def test_a_kept_table_is_the_table_and_is_read_back_without_being_written_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "table.bin"
    first = _kept_table(path)
    assert np.array_equal(first, _built())
    written = path.stat()
    again = _kept_table(path)
    assert np.array_equal(again, _built())
    assert path.stat().st_mtime_ns == written.st_mtime_ns, "a whole file is read, not rebuilt"
    # As built: the array type the kernels were compiled for, so none compiles again.
    assert again.dtype == np.uint32
    assert again.flags.writeable
    assert again.flags.c_contiguous


def test_the_process_wide_table_is_the_table() -> None:
    assert np.array_equal(normalize._single_character_table(), _built())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_flipped_bit_anywhere_in_a_kept_file_is_never_trusted(data: st.DataObject) -> None:
    kept = bytearray(_kept_bytes())
    bit = data.draw(st.integers(0, len(kept) * 8 - 1))
    kept[bit // 8] ^= 1 << (bit % 8)
    assert _read_table_from(bytes(kept)) is None


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_short_or_long_kept_file_is_never_trusted(data: st.DataObject) -> None:
    kept = _kept_bytes()
    cut = data.draw(st.integers(0, len(kept) - 1))
    assert _read_table_from(kept[:cut]) is None
    assert _read_table_from(kept + data.draw(st.binary(min_size=1, max_size=64))) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_hostile_bytes_are_never_trusted(hostile: bytes) -> None:
    assert _read_table_from(hostile) is None
    # Even behind the right header and key: without the table's digest it is refused.
    assert _read_table_from(normalize._TABLE_TAG + _key() + hostile) is None


def test_a_table_kept_for_another_build_is_stale_and_refused() -> None:
    assert _read_table_from(_kept_bytes()) is not None
    other = hashlib.sha256(b"another Python, Unicode database or module").digest()
    assert _read_table_from(_kept_bytes(), key=other) is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda kept: b"",  # emptied
        lambda kept: kept[: len(kept) // 2],  # a writer killed half way
        lambda kept: kept[:-1] + bytes([kept[-1] ^ 1]),  # its digest damaged
        lambda kept: kept.replace(normalize._TABLE_TAG, b"x" * len(normalize._TABLE_TAG)),
    ],
)
def test_a_damaged_kept_file_is_rebuilt_and_replaced_whole(
    tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    path = tmp_path / "table.bin"
    path.write_bytes(damage(_kept_bytes()))
    assert np.array_equal(_kept_table(path), _built())
    assert path.read_bytes() == _kept_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["table.bin"], "no temporary file left"


_RACER = textwrap.dedent(
    """
    import hashlib, sys, time
    from pathlib import Path
    from consentry.fingerprint.normalize import _kept_table
    start = float(sys.argv[2])
    while time.time() < start:  # both start building at the same moment
        time.sleep(0.001)
    table = _kept_table(Path(sys.argv[1]))
    print(hashlib.sha256(table.tobytes()).hexdigest())
    """
)


def test_two_processes_racing_to_keep_the_table_both_end_with_the_right_table(
    tmp_path: Path,
) -> None:
    import time

    path = tmp_path / "table.bin"
    start = str(time.time() + 3)  # after both have imported numpy and the kernels
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(path), start],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [racer.communicate(timeout=120) for racer in racers]
    expected = hashlib.sha256(_built().tobytes()).hexdigest()
    for racer, (printed, errors) in zip(racers, results, strict=True):
        assert racer.returncode == 0, errors
        assert printed.strip() == expected
    assert path.read_bytes() == _kept_bytes()
    assert np.array_equal(_kept_table(path), _built())


def test_the_cache_folder_follows_numbas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    folder = cache_folder()
    assert folder is not None
    assert folder.parent == tmp_path / "numba"
    assert folder.is_dir()
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert cache_folder() == Path(normalize.__file__).resolve().parents[1] / "__pycache__"


def _read_table_from(data: bytes, *, key: bytes | None = None) -> npt.NDArray[np.uint32] | None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.bin"
        path.write_bytes(data)
        return _read_table(path, _key() if key is None else key)
