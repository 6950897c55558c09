"""Where a WARC file can be cut so that each piece reads as the whole file reads.

A cut goes where a record begins and a reading of the whole file arrives as a fresh
reader does: inside a run of clean records from the file's start. A record is clean
when its headers (and, for a response, request or revisit, its HTTP headers) parse as
warcio parses them, its block ends where its ``Content-Length`` says, and only blank
lines follow it: in a ``.warc.gz``, to the end of its own gzip member, which inflates
whole; in a plain ``.warc``, to the ``WARC/1.x`` line of the next record. Past the first
record that is not clean (a truncated or corrupt member, garbage between members, a
member holding several records as a file compressed in one gzip stream does) nothing is
cut, so the last piece holds the damage and reads it as the whole file does.

Members are found by inflating them one after another, not by looking for gzip's magic
bytes: a page may carry a gzipped WARC record in its body, stored as it is, and a cut
there would split that page's record in two.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import BinaryIO, Literal

from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeadersParserException
from warcio.utils import BUFF_SIZE

__all__ = ["DAMAGED", "RecordWindow", "record_starts"]

# What warcio raises where a file stops being a WARC: its own errors, and those of the
# gzip member or the headers it was reading.
DAMAGED = (
    ArchiveLoadFailed,
    StatusAndHeadersParserException,
    OSError,
    EOFError,
    zlib.error,
    AttributeError,
)
_GZIP = b"\x1f\x8b"
_VERSION = b"WARC/1."
# Records are parsed by a loader made as ArchiveIterator makes its own, so that their
# bounds here are the reader's.
_LOADER = ArcWarcRecordLoader(verify_http=False, arc2warc=False)
_HEAD = 4096  # a record's headers are looked for this far, then twice as far...
_MAX_HEAD = 1 << 20  # ...up to this: longer headers end the cutting
_GAP = 256  # blank bytes between plain records; more end the cutting
_RAW = 1 << 20
_PIECE = 16 << 10
_OUT = 1 << 20  # inflated at a time: a member that inflates to gigabytes is streamed


@dataclass(frozen=True, slots=True)
class _Shape:
    end: int  # where the record's block ends, counted from its first byte
    response: bool


def _shape(head: bytes, *, complete: bool) -> _Shape | Literal["short"] | None:
    """How the record whose first bytes are ``head`` is laid out; "short" when its
    headers may run on past ``head`` (unless ``complete``, all there is); None when it
    is no clean WARC record."""
    if not head.startswith(_VERSION):
        return None
    stream = io.BytesIO(head)
    try:
        record = _LOADER.parse_record_stream(stream, known_format="warc")
        declared = int(record.rec_headers.get_header("Content-Length") or "-1")
    except (*DAMAGED, ValueError):
        return "short" if not complete and stream.tell() >= len(head) else None
    if declared < 0:
        return None
    # The block is read through a reader limited to its length, which counts what the
    # HTTP headers took of it.
    end = stream.tell() - record.raw_stream.tell() + declared
    # Headers parsed to the end of what was read may have read a line cut short.
    if not complete and stream.tell() >= len(head) and end > len(head):
        return "short"
    return _Shape(end, record.rec_type == "response")


def record_starts(stream: BinaryIO) -> Iterator[tuple[int, bool]]:
    """(offset, whether it is a response) of each record of the WARC ``stream`` before
    which a cut may go, in order: the clean records from its start."""
    stream.seek(0)
    gzipped = stream.read(2) == _GZIP
    stream.seek(0)
    return _member_starts(stream) if gzipped else _plain_starts(stream)


def _plain_starts(stream: BinaryIO) -> Iterator[tuple[int, bool]]:
    size = stream.seek(0, io.SEEK_END)
    at = 0
    while at < size:
        shape = _plain_shape(stream, at, size)
        if shape is None or at + shape.end > size:
            return
        stream.seek(at + shape.end)
        gap = stream.read(_GAP)
        blank = len(gap) - len(gap.lstrip())
        if blank == len(gap):
            if at + shape.end + blank >= size:
                yield at, shape.response  # the last record
            return
        # warcio takes the first line after a block for a blank one, whatever it
        # holds: the next record must begin on a line of its own after one.
        if not gap[:blank].endswith(b"\n"):
            return
        yield at, shape.response
        at += shape.end + blank


def _plain_shape(stream: BinaryIO, at: int, size: int) -> _Shape | None:
    want = _HEAD
    while want <= _MAX_HEAD:
        stream.seek(at)
        head = stream.read(want)
        found = _shape(head, complete=at + len(head) >= size)
        if found != "short":
            return found
        want *= 2
    return None


class _Raw:
    """A file read forward, handed out a piece at a time, the unused end of a piece
    handed back when a member ends inside it; ``offset`` is where the next byte handed
    out lies in the file. Pieces are small: what a member leaves of one is copied."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._block = b""
        self._at = 0  # in the block
        self.offset = 0

    def more(self) -> bool:
        if self._at >= len(self._block):
            self._block, self._at = self._stream.read(_RAW), 0
        return self._at < len(self._block)

    def take(self) -> bytes:
        self.more()
        piece = self._block[self._at : self._at + _PIECE]
        self._at += len(piece)
        self.offset += len(piece)
        return piece

    def give_back(self, unused: bytes) -> None:
        self._at -= len(unused)
        self.offset -= len(unused)


def _member_starts(stream: BinaryIO) -> Iterator[tuple[int, bool]]:
    raw = _Raw(stream)
    while raw.more():
        at = raw.offset
        shape = _clean_member(raw)
        if shape is None:
            return
        yield at, shape.response


def _clean_member(raw: _Raw) -> _Shape | None:
    """The record the gzip member at ``raw``'s offset holds, read past the member, if
    the member inflates whole to that one record and blank lines; else None."""
    member = _Member(raw)
    pieces = iter(member)
    head, want = bytearray(), _HEAD
    for piece in pieces:
        head += piece
        if len(head) < want:
            continue
        found = _shape(bytes(head), complete=False)
        if found != "short" or want >= _MAX_HEAD:
            break
        want *= 2
    else:
        found = _shape(bytes(head), complete=True) if member.ended else None
    if not isinstance(found, _Shape):
        return None
    produced = 0
    for piece in chain([bytes(head)], pieces):
        if piece[max(0, found.end - produced) :].strip():
            return None  # more than blank lines after the block
        produced += len(piece)
    return found if member.ended and produced >= found.end else None


class _Member:
    """The inflated bytes of the gzip member at ``raw``'s offset, a piece at a time;
    ``ended`` once it has ended whole, ``raw`` then just past it."""

    def __init__(self, raw: _Raw) -> None:
        self._raw = raw
        self.ended = False

    def __iter__(self) -> Iterator[bytes]:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        data = self._raw.take()
        while True:
            try:
                piece = inflater.decompress(data, _OUT)
            except zlib.error:
                return
            yield piece
            if inflater.eof:
                self._raw.give_back(inflater.unused_data)
                self.ended = True
                return
            if len(piece) == _OUT:
                data = inflater.unconsumed_tail  # more to inflate from what was given
                continue
            data = self._raw.take()
            if not data:
                return  # the member is truncated


class RecordWindow:
    """The bytes of a WARC file from a record at ``start`` (where ``record_starts`` may
    cut) to ``end``, read as warcio reads the whole file.

    warcio reads a file in blocks of ``BUFF_SIZE`` from its start, and begins inflating
    each member with what is left of the block the one before ended in; when a member is
    damaged, whether it fails as a corrupt gzip member or is taken for an uncompressed
    one depends on those pieces. The first read of a ``.warc.gz`` here is that rest of a
    block, so every member after ``start`` is inflated in the same pieces as in a
    reading of the whole file, and its damage is reported the same way. (A plain file
    is read as it comes: its reading does not depend on the pieces, and its first read
    must hold the whole ``WARC/1.`` for warcio to see it is not gzip.)"""

    def __init__(self, stream: BinaryIO, start: int, end: int) -> None:
        stream.seek(start)
        gzipped = stream.read(2) == _GZIP
        stream.seek(start)
        self._stream = stream
        self._at = start
        self._end = end
        self._first: int | None = BUFF_SIZE - start % BUFF_SIZE if gzipped else None

    def tell(self) -> int:
        return self._at

    def read(self, size: int | None = -1) -> bytes:
        left = self._end - self._at
        size = left if size is None or size < 0 else min(size, left)
        if self._first is not None:
            size, self._first = min(size, self._first), None
        data = self._stream.read(size)
        self._at += len(data)
        return data
