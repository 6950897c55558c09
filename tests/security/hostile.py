"""What the hostile-corpus tests share: files that claim what they are not, and guards
that turn a reader that waits or reads without end into a failure, not a hung suite or
a machine out of memory."""

from __future__ import annotations

import os
import resource
import signal
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452")  # a PNG's signature and IHDR tag


def png_of(width: int, height: int) -> bytes:
    """A PNG header claiming ``width`` x ``height`` pixels, with four bytes of pixel data
    after it: whole enough to be opened, never enough to be decoded."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    idat = b"IDAT\x78\x9c\x00\x00"
    return (
        _PNG
        + ihdr
        + zlib.crc32(b"IHDR" + ihdr).to_bytes(4, "big")
        + (4).to_bytes(4, "big")
        + idat
        + zlib.crc32(idat).to_bytes(4, "big")
    )


@contextmanager
def within(seconds: int) -> Iterator[None]:
    """Fails what takes longer than ``seconds``: opening a FIFO waits for a writer, and
    the signal ends the wait (PEP 475 lets the handler's exception through)."""

    def stop(signum: int, frame: object) -> None:
        raise TimeoutError(f"still reading after {seconds} s: the reader waited on something")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def memory_bound(extra: int = 1 << 30) -> Iterator[None]:
    """Lets this process map at most ``extra`` more bytes, so a reader that reads
    ``/dev/zero`` to its end fails with ``MemoryError`` instead of taking the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    mapped = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (mapped + extra, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
