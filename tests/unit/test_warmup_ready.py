"""Once a warm-up has left every kernel's machine code on disk, the next one returns
at once and each process loads only the kernels it calls; the record that says so is
trusted only while it is whole and true of this install and of the machine code."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.warmup import _is_ready, _record_ready

ROOT = Path(__file__).resolve().parents[2]


def _machine_code(folder: Path) -> list[Path]:
    """Files standing in for numba's index and data files."""
    files = [folder / "kernel-1.py311.nbi", folder / "kernel-1.py311.1.nbc"]
    for number, path in enumerate(files):
        path.write_bytes(b"machine code" * (number + 1))
    return files


def test_a_recorded_warm_up_is_ready(tmp_path: Path) -> None:
    ready = tmp_path / "kernels-ready.json"
    assert not _is_ready(ready), "no record: not ready"
    _record_ready(ready, _machine_code(tmp_path))
    assert _is_ready(ready)


def test_machine_code_changed_or_gone_since_the_record_is_not_ready(tmp_path: Path) -> None:
    ready = tmp_path / "kernels-ready.json"
    index, data = _machine_code(tmp_path)
    _record_ready(ready, [index, data])
    data.write_bytes(b"compiled again, for another signature")
    assert not _is_ready(ready)
    _record_ready(ready, [index, data])
    index.unlink()
    assert not _is_ready(ready)


def test_a_record_of_another_install_is_not_ready(tmp_path: Path) -> None:
    ready = tmp_path / "kernels-ready.json"
    _record_ready(ready, _machine_code(tmp_path))
    record = json.loads(ready.read_text())
    for field in ("python", "numba", "cpu", "sources"):
        other = json.loads(json.dumps(record))
        other["install"][field] = "another"
        ready.write_text(json.dumps(other))
        assert not _is_ready(ready), f"another {field}"
    ready.write_text(json.dumps({**record, "machine_code": {}}))
    assert not _is_ready(ready), "a record vouching for no machine code"
    ready.write_bytes(b"[" * 100_000)
    assert not _is_ready(ready), "hostile JSON, nested past any parser's depth"


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_a_damaged_record_is_not_ready(data: st.DataObject) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        ready = Path(folder) / "kernels-ready.json"
        _record_ready(ready, _machine_code(Path(folder)))
        kept = bytearray(ready.read_bytes())
        bit = data.draw(st.integers(0, len(kept) * 8 - 1))
        kept[bit // 8] ^= 1 << (bit % 8)
        ready.write_bytes(bytes(kept))
        assert not _is_ready(ready)
        ready.write_bytes(data.draw(st.binary(max_size=512)))
        assert not _is_ready(ready)


def test_a_record_refused_by_its_folder_is_simply_not_made(tmp_path: Path) -> None:
    ready = tmp_path / "missing folder" / "kernels-ready.json"
    _record_ready(ready, _machine_code(tmp_path))
    assert not ready.exists()
    assert not _is_ready(ready)


_READY_RUN = textwrap.dedent(
    """
    import json
    from consentry import _jit
    from consentry.fingerprint import normalize_text
    from consentry.warmup import _READY, _is_ready, warm_up
    from numba.core import event

    ready = _jit.cache_folder() / _READY
    was_ready = _is_ready(ready)
    warm_up()
    loaded = sum(len(kernel.signatures) for kernel in _jit.kernels())
    compiled = []

    class Compiles(event.Listener):
        def on_start(self, happened):
            pass

        def on_end(self, happened):
            compiled.append(str(happened.data["dispatcher"].py_func.__qualname__))

    with event.install_listener("numba:compile", Compiles()):
        normalize_text("Consent, first.")  # a kernel, called: loaded now, not compiled
    after = sum(len(kernel.signatures) for kernel in _jit.kernels())
    print(json.dumps([was_ready, loaded, after, compiled]))
    """
)


def test_regression_a_warmed_install_loads_only_the_kernels_a_process_calls() -> None:
    # Processes of their own: the first leaves every kernel on disk and records it (as
    # the Makefile's warm-up does), the second finds the record.
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", _READY_RUN],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    was_ready, loaded, after, compiled = json.loads(done.stdout.splitlines()[-1])
    assert was_ready, "the first warm-up recorded that every kernel is on disk"
    assert loaded == 0, "a warm-up that finds the record loads no kernel"
    assert after > 0, "the kernel called was loaded when called"
    assert compiled == [], "and loaded from the disk, not compiled"
