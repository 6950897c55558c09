"""WARC responses: the page's text, and its HTTP headers and HTML meta tags kept in
``metadata`` for reading reservation signals."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

from consentry.errors import InputError
from consentry.gate.item import DEFAULT_MAX_ITEM_BYTES, Item, shown_name
from consentry.gate.readers._warc_members import DAMAGED, RecordWindow

__all__ = ["html_text_and_meta", "is_warc", "read_warc", "warc_site_files"]

_CHARSET = re.compile(r"charset=[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_HIDDEN = {"script", "style", "noscript", "template"}


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.meta: dict[str, str] = {}
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        if tag == "meta":
            values = {k.lower(): v or "" for k, v in attrs}
            name = (
                values.get("name") or values.get("http-equiv") or values.get("property") or ""
            ).lower()
            if name and "content" in values:
                # Repeated tags are one list, as repeated HTTP fields are (RFC 9110
                # §5.3): two robots tags' directives both apply.
                earlier = self.meta.get(name)
                content = values["content"]
                self.meta[name] = content if earlier is None else f"{earlier}, {content}"

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_text_and_meta(html: str) -> tuple[str, dict[str, str]]:
    """Visible text of a page (scripts and styles dropped) and its meta tags by name."""
    parser = _PageParser()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError:
        # The standard parser gives up on some markup (``<![ x [``) by failing an
        # assertion. The page's text is then every character outside a tag, so that
        # nothing after the bad markup escapes matching.
        return " ".join(_TAG.sub(" ", html).split()), parser.meta
    return " ".join(" ".join(parser.parts).split()), parser.meta


_TAG = re.compile(r"<[^>]*>")


def read_warc(
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_ITEM_BYTES,
    records: tuple[int, int, int] | None = None,
) -> Iterator[Item]:
    """One ``Item`` per response record. ``records``: only those from byte ``start`` (a
    record's first, where ``plan_shards`` cuts) to ``end``, the first response of them
    item ``first``, as ``(start, end, first)``: each item named, and any damage
    reported, as a reading of the whole file names and reports it.

    Raises ``InputError`` for a file that cannot be opened, and, after the items before
    it, for one that stops being a WARC part way (truncated, corrupt, or not one),
    naming the byte where the last record it read begins, or where bytes that are no
    whole record begin: a record the file ends inside of is never taken for a whole
    one, nor left out in silence."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open corpus {path} ({exc.strerror})") from exc
    name = shown_name(path.name)
    with stream:
        source: BinaryIO | RecordWindow = stream
        number, where = 0, 0
        stop = os.fstat(stream.fileno()).st_size
        if records is not None:
            source = RecordWindow(stream, records[0], records[1])
            number, where, stop = records[2] - 1, records[0], records[1]
        archive = ArchiveIterator(source)
        read = iter(archive)
        whole_to = where  # where the last record read whole ends
        while True:
            # Only warcio's reading is taken for damage: an error of ours is not one.
            try:
                record = next(read)
            except StopIteration:
                break
            except DAMAGED as exc:
                raise _damaged(path, number, where, exc) from exc
            # Where the record just read begins. warcio's offset can go astray (below
            # zero, even) once a member is damaged: the furthest one yet is kept.
            where = max(where, archive.offset)
            headers = record.rec_headers
            length = headers.get_header("Content-Length") or ""
            if not (headers.get_header("WARC-Type") and length.strip().isdigit()):
                # Both are required of every record: headers without them were cut
                # short, and a length that is no count (warcio takes it for 0) would
                # have the record's block read as whatever follows it.
                raise _damaged(path, number, where, _NO_HEADERS)
            item = None
            if record.rec_type == "response":
                item = _item(record, name, number + 1, max_bytes)
            try:
                archive.read_to_end(record)
            except DAMAGED as exc:
                raise _damaged(path, number, where, exc) from exc
            if getattr(record.raw_stream, "limit", 0) > 0:
                # warcio gives a record the file ends inside of as if it were whole (its
                # block is read through a limit, unless warcio inflates it itself).
                raise _damaged(path, number, where, _CUT_SHORT)
            whole_to = archive.get_record_offset() + archive.get_record_length()
            if item is not None:
                number += 1
                yield item
        if (rest := _first_not_blank(stream, whole_to, stop)) is not None:
            # warcio ends quietly at a gzip member cut short, or at bytes that are no
            # record: what lies after the last whole record is lost, not ignored.
            raise _damaged(path, number, rest, _NOT_A_RECORD)


# What is said of a record whose block the file ends inside of, of one whose headers
# lack what every record has, and of bytes after the last whole record that are none.
_CUT_SHORT = "the file ends inside its block"
_NO_HEADERS = "a record without a WARC-Type and a Content-Length that is a count of bytes"
_NOT_A_RECORD = "the bytes from there on are no whole record"


def _first_not_blank(stream: BinaryIO, start: int, stop: int) -> int | None:
    """Where the first byte from ``start`` to ``stop`` of ``stream`` that is not a line
    break is; None when there is none."""
    stream.seek(start)
    at = start
    while at < stop:
        block = stream.read(min(stop - at, 1 << 16))
        if not block:
            return None
        if kept := block.lstrip(b"\r\n"):
            return at + len(block) - len(kept)
        at += len(block)
    return None


def _damaged(path: Path, number: int, where: int, exc: Exception | str) -> InputError:
    """The error for a WARC that stops being one past item ``number``, the last record
    read beginning at byte ``where``."""
    shown = f"corpus {shown_name(str(path))} is not a valid WARC past record {number:,}"
    if _ONE_STREAM in str(exc):
        return InputError(
            f"{shown} (after byte {where:,}: a gzip member holds more than one record, as "
            "in a file compressed as one gzip stream); decompress it, or compress each "
            "record as a gzip member of its own"
        )
    # warcio meets headers cut short as a missing line, and says so in Python's words.
    said = "a record's headers are cut short" if isinstance(exc, AttributeError) else exc
    return InputError(
        f"{shown} (after byte {where:,}: {said}); it is truncated, corrupt or not a WARC file"
    )


# The first line of what warcio says of a gzip member that holds several records.
_ONE_STREAM = ArchiveIterator.GZIP_ERR_MSG.strip().splitlines()[0]


def is_warc(path: Path) -> bool:
    return path.name.lower().endswith(_WARC_SUFFIXES)


_WARC_SUFFIXES = (".warc", ".warc.gz")
# A site file is small: a larger response for one is read this far and no further.
_SITE_FILE_BYTES = 1 << 20


def warc_site_files(path: Path, places: Iterable[str]) -> Iterator[tuple[str, bytes]]:
    """(URL, body) of each successful response in the WARC at ``path`` for a URL whose
    path is one of ``places`` (``/robots.txt``...), in the file's order. A damaged
    file yields what came before the damage: reading the items themselves says so."""
    wanted = tuple(places)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open corpus {path} ({exc.strerror})") from exc
    with stream:
        try:
            for record in ArchiveIterator(stream):
                if record.rec_type != "response":
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                if urlsplit(url).path not in wanted:
                    continue
                status = record.http_headers.get_statuscode() if record.http_headers else ""
                if status.startswith("2"):
                    yield url, record.content_stream().read(_SITE_FILE_BYTES)
        except (*DAMAGED, ValueError):
            return


def _item(record: object, name: str, number: int, max_bytes: int) -> Item:
    headers = record.rec_headers  # type: ignore[attr-defined]
    record_id = headers.get_header("WARC-Record-ID") or f"{name}#{number}"
    url = headers.get_header("WARC-Target-URI") or ""
    source = f"{name}#{number}"
    http = record.http_headers  # type: ignore[attr-defined]
    http_headers: dict[str, str] = {}
    for field_name, value in http.headers if http else []:
        # A field sent on several lines is one comma-separated list (RFC 9110 §5.3):
        # every X-Robots-Tag line counts, and a Content-Usage dictionary spread over
        # lines is read whole (RFC 9651 §4.2).
        # X-Robots-Tag is the exception: an agent prefix binds only its own line, so
        # its lines are kept apart by a line break, which no field value holds.
        key = field_name.lower()
        earlier = http_headers.get(key)
        joint = "\n" if key == "x-robots-tag" else ", "
        http_headers[key] = value if earlier is None else f"{earlier}{joint}{value}"
    metadata: dict[str, object] = {"url": url, "http_headers": http_headers}
    body = record.content_stream().read(max_bytes + 1)  # type: ignore[attr-defined]
    if len(body) > max_bytes:
        return Item(
            record_id,
            source,
            metadata=metadata,
            unreadable=f"response is over the {max_bytes:,}-byte limit per item",
        )
    content_type = http_headers.get("content-type", "")
    if not content_type.startswith(("text/", "application/xhtml")):
        return Item(
            record_id,
            source,
            metadata=metadata,
            size=len(body),
            unreadable=f"response is {content_type or 'of no stated type'}, not text",
        )
    match = _CHARSET.search(content_type)
    charset = match.group(1) if match else "utf-8"
    try:
        page = body.decode(charset)
        # Some codecs (utf-7, unicode_escape) make unpaired surrogates, which no
        # output could hold.
        page.encode("utf-8")
    except (UnicodeError, LookupError):
        return Item(
            record_id,
            source,
            metadata=metadata,
            size=len(body),
            unreadable=f"response body is not valid {charset}",
        )
    if "html" in content_type:
        text, meta = html_text_and_meta(page)
        metadata["html_meta"] = meta
    else:
        text = page
    if not text.strip():
        return Item(
            record_id, source, metadata=metadata, size=len(body), unreadable="response has no text"
        )
    return Item(
        record_id, source, text=text, metadata=metadata, size=len(body), footprint=2 * len(body)
    )
