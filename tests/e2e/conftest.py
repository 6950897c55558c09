"""The ``consentry`` command as a user runs it, against a registry and a key folder of
the test's own.

Commands run in this process through ``consentry.cli.main(argv)``, the way sigstore's
CLI tests do: starting Python and importing the kernels for every command was most of
the suite's time. A test that needs what only a process shows (a kill, a server that
runs until stopped, the installed entry point) asks for ``process=True``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from consentry.cli import main

# A developer's own registry must never leak into a test's commands.
_UNSET = ("CONSENTRY_DATABASE_URL",)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


class Cli:
    """Runs ``consentry ARGS`` with ``$CONSENTRY_HOME`` at ``home`` and ``$CONSENTRY_KEYS``
    at ``keys`` (never the real home directory): in this process, or with ``process``
    as the installed ``consentry`` in a process of its own."""

    def __init__(
        self,
        home: Path,
        *,
        keys: Path,
        env: dict[str, str] | None = None,
        process: bool = False,
    ) -> None:
        self.home = home
        self.keys = keys
        self.process = process
        self._extra = dict(env or {})
        self.overrides = {"CONSENTRY_HOME": str(home), "CONSENTRY_KEYS": str(keys), **self._extra}

    def in_a_process(self) -> Cli:
        """The same registry and keys, each command a process of its own."""
        return Cli(self.home, keys=self.keys, env=self._extra, process=True)

    @property
    def env(self) -> dict[str, str]:
        """The whole environment a command sees, for a process started by the test."""
        base = {k: v for k, v in os.environ.items() if k not in _UNSET}
        return {**base, **self.overrides}

    def __call__(
        self,
        *args: str,
        expect: int | None = 0,
        cwd: Path | None = None,
        input: str | None = None,
    ) -> Result:
        run = self._in_a_process if self.process else self._in_this_process
        result = run(list(args), cwd=cwd, input=input)
        if expect is not None:
            assert result.code == expect, (args, result)
        return result

    def _in_a_process(self, args: list[str], *, cwd: Path | None, input: str | None) -> Result:
        done = subprocess.run(
            [_entry_point(), *args],
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=cwd,
            timeout=300,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def _in_this_process(self, args: list[str], *, cwd: Path | None, input: str | None) -> Result:
        stdout, stderr = _stream(), _stream()
        with (
            _unchanged_process(args),
            self._environment(cwd),
            _stdin(input or ""),
            redirect_stdout(stdout),
            redirect_stderr(stderr),
        ):
            try:
                code = main(args)
            except Exception:
                # An error main() lets through (with --debug, or a bug): Python would
                # print the traceback and exit 1.
                traceback.print_exc()
                code = 1
        return Result(code, _text(stdout), _text(stderr))

    @contextmanager
    def _environment(self, cwd: Path | None) -> Iterator[None]:
        with pytest.MonkeyPatch.context() as patch:
            for name in _UNSET:
                patch.delenv(name, raising=False)
            for name, value in self.overrides.items():
                patch.setenv(name, value)
            if cwd is not None:
                patch.chdir(cwd)
            yield


# What a command may change only for as long as it runs: a process ends and takes it
# along, this one runs the next test.
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE)


def _process_state() -> tuple[dict[str, str], str, list[Any], list[Any]]:
    handlers = [signal.getsignal(s) for s in _SIGNALS]
    return dict(os.environ), os.getcwd(), handlers, [f for f in sys.meta_path if _ours(f)]


def _ours(finder: object) -> bool:
    # Libraries may add an import hook for good when first imported (six does); one
    # of consentry's own must be gone when the command ends.
    return type(finder).__module__.split(".")[0] == "consentry"


@contextmanager
def _unchanged_process(args: list[str]) -> Iterator[None]:
    """Fails the call, after putting things back, if the command left this process's
    environment, working folder, signal handlers or import hooks changed."""
    environ, cwd, handlers, finders = _process_state()
    yield
    if _process_state() == (environ, cwd, handlers, finders):
        return
    changed = [n for n in {*environ, *os.environ} if environ.get(n) != os.environ.get(n)]
    os.environ.clear()
    os.environ.update(environ)
    moved = os.getcwd() != cwd
    os.chdir(cwd)
    left = [s.name for s, h in zip(_SIGNALS, handlers, strict=True) if signal.getsignal(s) != h]
    for sig, handler in zip(_SIGNALS, handlers, strict=True):
        signal.signal(sig, handler)
    hooks = [repr(f) for f in sys.meta_path if _ours(f) and f not in finders]
    sys.meta_path[:] = [f for f in sys.meta_path if not _ours(f) or f in finders]
    raise AssertionError(
        f"consentry {' '.join(args)} left this process changed: environment {changed}, "
        f"working folder moved {moved}, signal handlers {left}, import hooks {hooks}"
    )


def _entry_point() -> str:
    """The ``consentry`` script installed beside this Python, as a user's shell finds it."""
    found = shutil.which("consentry", path=Path(sys.executable).parent)
    assert found is not None, "consentry is not installed beside this Python"
    return found


def _stream() -> io.TextIOWrapper:
    # A text stream over bytes, as a real one is: it has .buffer, and it is no terminal.
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8")


@contextmanager
def _stdin(text: str) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8")
    try:
        yield
    finally:
        sys.stdin = saved


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home", keys=tmp_path / "keys")
