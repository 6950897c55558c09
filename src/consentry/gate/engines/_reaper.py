"""Takes down what a run's local Ray cluster left behind when the run died.

A cluster started for a run is the run's: its processes must not outlive it, however it
ends. Ray's own processes notice a dead driver, but some of its agents then hang on
their way out (they report to a control store that died with it). So the run starts
this watcher first, in a session of its own, holding the write end of its standard
input: when the run's process ends, even by ``kill -9``, the pipe closes, and the
watcher kills every process that came to descend from the run while it watched (the
cluster's, never those there before it started, and each checked by its start time so
a reused process id is left alone).

    python -m consentry.gate.engines._reaper RUN_PID
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["descendants", "reaped", "start_time"]

_WATCH_SECONDS = 0.5


def start_time(pid: int) -> str | None:
    """``pid``'s start time (in clock ticks since boot); None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces: fields are counted after it.
    return stat.rsplit(")", 1)[1].split()[19]


def descendants(pid: int) -> dict[int, str]:
    """Every living descendant of ``pid``, with its start time."""
    found: dict[int, str] = {}
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            for child in children:
                started = start_time(child)
                if started is not None and child not in found:
                    found[child] = started
                    stack.append(child)
    return found


@contextmanager
def reaped() -> Iterator[None]:
    """Inside, whatever this process starts dies with it, however it ends."""
    watcher = subprocess.Popen(
        [sys.executable, "-m", __name__, str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    told, heard = watcher.stdin, watcher.stdout
    if told is None or heard is None:  # piped above: never, but the types cannot say
        raise RuntimeError("the run's watcher has no pipes")
    try:
        heard.readline()
        yield
    finally:
        told.close()
        watcher.wait(timeout=30)
        heard.close()


def watch(run: int) -> None:
    """Until standard input closes, note what descends from ``run``; then kill it."""
    before = set(descendants(run))
    seen: dict[int, str] = {}
    me = os.getpid()
    # The run starts its cluster only once told that what was there before is noted.
    sys.stdout.write("watching\n")
    sys.stdout.flush()
    while True:
        seen.update(
            (pid, started)
            for pid, started in descendants(run).items()
            if pid not in before and pid != me
        )
        ready, _, _ = select.select([sys.stdin], [], [], _WATCH_SECONDS)
        if ready and not os.read(sys.stdin.fileno(), 1 << 10):
            break
    for pid, started in seen.items():
        if start_time(pid) == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(int(sys.argv[1]))
