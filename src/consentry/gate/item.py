"""The gate's one currency: an ``Item`` read from a corpus, whatever its format.

Reading is where hostile input is met, so an item is checked here once: a record that
could not be written back out as JSON, an image too large to decode, or a file that is
not a regular file inside the corpus folder becomes an unreadable item with its reason,
never an exception that stops a run.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import os
import stat
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from consentry.errors import InputError

__all__ = [
    "CHUNK_BYTES",
    "DEFAULT_MAX_ITEM_BYTES",
    "MAX_IMAGE_PIXELS",
    "Item",
    "chunked",
    "held_bytes",
    "item_from_mapping",
    "item_name",
    "pixels_over_limit",
    "read_inside",
    "shown_name",
]

DEFAULT_MAX_ITEM_BYTES = 64 * 1024 * 1024
# What a chunk of items may hold, as read: a run holds a chunk while it decides it (and
# fingerprinting takes a few times its text), so 256 items of 20 MB must not be one.
CHUNK_BYTES = 64 * 1024 * 1024
# Decoding an image for its fingerprints takes about 33 bytes a pixel (its pixels, and
# the grey, flipped and mirrored copies PDQ and keypoints need): 1.6 GB at this bound.
# The size is read from the header first, so a small file that decodes to gigabytes
# (7,990 x 7,990 pixels in 267 KB) is refused without being decoded.
MAX_IMAGE_PIXELS = 50_000_000
# Nesting a record may have: deeper than this, writing it out (and handing it to a
# worker) recurses near Python's limit. serde_json refuses past 128 as well.
_MAX_DEPTH = 128
# Integers Python can turn into text (4,300 digits by default), in bits, with room.
_MAX_INT_BITS = 14_000
# As the outputs are written: strict JSON (no NaN), text as it is, to be encoded.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)

# Where code datasets keep a file's path: ours and datatrove's ``path``, The Stack's
# ``max_stars_repo_path`` (and its issues and forks twins), others' ``file_path``.
_PATH_FIELDS = (
    "path",
    "file_path",
    "filepath",
    "filename",
    "max_stars_repo_path",
    "max_issues_repo_path",
    "max_forks_repo_path",
)
_LANGUAGE_FIELDS = ("lang", "language", "programming_language")


def item_name(item_id: str, metadata: Mapping[str, Any]) -> str:
    """The name an item's language is told by: the first file path its metadata gives,
    else its id, given the suffix of a language its metadata names (``lang``,
    ``language``: ``{"id": "a1", "metadata": {"lang": "Python"}}`` reads as ``a1.py``)."""
    for key in _PATH_FIELDS:
        if isinstance(value := metadata.get(key), str) and value:
            return value
    for key in _LANGUAGE_FIELDS:
        if isinstance(value := metadata.get(key), str) and value:
            # Imported here: the gate's records load no lexers until a language is named.
            from consentry.fingerprint.languages import suffix_for_language  # noqa: PLC0415

            if (suffix := suffix_for_language(value)) is not None:
                return item_id if item_id.lower().endswith(suffix) else item_id + suffix
    return item_id


@dataclass(slots=True)
class Item:
    """One corpus item. ``unreadable`` says why it could not be read; such an item is
    rejected with that reason, never dropped.

    ``original`` is the record as read (a JSON object for JSON Lines, Parquet and
    datasets rows), kept so admitted items are written out unchanged; ``line`` is the
    JSON Lines line it was read from, which an admitted item is written out as, its
    decision added, without writing its record out again. ``footprint`` is
    about how many bytes the item holds as read (its record's strings, its image), what
    bounds a chunk (``chunked``); ``size`` is its content's, what is counted and billed.
    """

    id: str
    source: str
    text: str | None = None
    image: bytes | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    original: dict[str, Any] | None = None
    size: int = 0
    unreadable: str | None = None
    footprint: int = 0
    line: bytes | None = None

    @property
    def name(self) -> str:
        """What the item is called when its language is told: a file path its metadata
        gives (``item_name``), else its id."""
        return item_name(self.id, self.metadata)

    @classmethod
    def broken(cls, source: str, reason: str, *, item_id: str | None = None) -> Item:
        return cls(id=item_id or source, source=source, unreadable=reason)


def held_bytes(item: Item) -> int:
    """The bytes ``item`` holds, for bounding a chunk: its footprint as read, or for an
    item made in code without one, its content's size."""
    return max(item.footprint, item.size)


_T = TypeVar("_T")


def chunked(
    values: Iterable[_T], *, held: Callable[[_T], int], max_items: int, max_bytes: int
) -> Iterator[list[_T]]:
    """Consecutive ``values`` in chunks of at most ``max_items`` that hold at most
    ``max_bytes`` together (``held`` says what each holds): a chunk ends before the
    value that would take it past the budget, so only a value over the budget by
    itself makes a larger chunk, of one.

    An ``InputError`` from ``values`` (a corpus damaged part way) comes after the chunk
    of the values read before it, so those are decided too."""
    chunk: list[_T] = []
    total = 0
    stream = iter(values)
    failure: InputError | None = None
    while True:
        try:
            value = next(stream)
        except StopIteration:
            break
        except InputError as exc:
            failure = exc
            break
        size = held(value)
        if chunk and total + size > max_bytes:
            yield chunk
            chunk, total = [], 0
        chunk.append(value)
        total += size
        if len(chunk) >= max_items:
            # Full: given now, not after reading one more value ahead of it.
            yield chunk
            chunk, total = [], 0
    if chunk:
        yield chunk
    if failure is not None:
        raise failure


def shown_name(name: str) -> str:
    """A file name as it can be written out: bytes that are not UTF-8 (which the file
    system hands over as lone surrogates) shown as ``\\xNN`` escapes."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate no file system made
            return name.encode("utf-8", "backslashreplace").decode("utf-8")
    return name


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def read_inside(path: Path, *, root: str, max_bytes: int) -> bytes | str:
    """The bytes of ``path`` if it is a regular file inside ``root`` (a real path, as
    ``os.path.realpath`` gives) of at most ``max_bytes``; otherwise what stops it, in
    words that follow the thing's name ("is a FIFO (named pipe), not a regular file").

    A corpus decides what is read: a symlink or an ``image_path`` that leads out of the
    corpus folder would read the licensee's own files into the outputs, and a FIFO or a
    device (``/dev/zero``) would hang the run or read without end. The file is opened
    without blocking and without following a last link, and checked again once open,
    so one swapped in after the check is not read either."""
    try:
        return _read_regular(_real_inside(path, root), max_bytes)
    except _UnreadableError as refused:
        return refused.reason
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"


def _real_inside(path: Path, root: str) -> str:
    try:
        real = os.path.realpath(path, strict=True)
    except ValueError as exc:  # a NUL in the name
        raise _UnreadableError(f"cannot be read ({exc})") from None
    if os.path.commonpath([real, root]) != root:
        raise _UnreadableError("leads outside the corpus folder, and reading stays inside it")
    return real


def _read_regular(real: str, max_bytes: int) -> bytes:
    mode = os.stat(real).st_mode
    if not stat.S_ISREG(mode):
        raise _UnreadableError(f"is {_kind_of(mode)}, not a regular file")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(real, flags | getattr(os, "O_CLOEXEC", 0)), "rb") as handle:
        opened = os.fstat(handle.fileno())
        if not stat.S_ISREG(opened.st_mode):
            raise _UnreadableError(f"is {_kind_of(opened.st_mode)}, not a regular file")
        if opened.st_size > max_bytes:
            raise _UnreadableError(
                f"is {opened.st_size:,} bytes, over the {max_bytes:,}-byte limit per item"
            )
        # Read to the limit whatever the size said: a file can grow while it is read.
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _UnreadableError(f"is over the {max_bytes:,}-byte limit per item")
    return data


def pixels_over_limit(data: bytes) -> str | None:
    """Why an encoded image is too large to decode (its size, from its header, over
    ``MAX_IMAGE_PIXELS``), or None. Bytes no decoder recognises pass: the fingerprint
    says they are not an image when it is taken."""
    # Imported here: reading text corpora needs no image library.
    from PIL import Image  # noqa: PLC0415

    try:
        with warnings.catch_warnings():
            # Pillow's own bound warns above 89 megapixels; the check below is ours.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        return f"image is over the {MAX_IMAGE_PIXELS:,}-pixel limit per item (by its header)"
    except (OSError, SyntaxError, ValueError, EOFError):
        return None
    if width * height > MAX_IMAGE_PIXELS:
        return (
            f"image is {width:,} x {height:,} pixels ({width * height:,}), over the "
            f"{MAX_IMAGE_PIXELS:,}-pixel limit per item"
        )
    return None


class _UnreadableError(Exception):
    def __init__(self, reason: str, size: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.size = size


def _string_problem(text: str) -> tuple[str | None, int]:
    if text.isascii():
        return None, len(text)
    try:
        return None, len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return "holds an unpaired surrogate (not valid Unicode)", len(text)


def _scalar_problem(value: object) -> tuple[str | None, int]:
    if isinstance(value, str):
        return _string_problem(value)
    if value is None or isinstance(value, bool):
        return None, 4
    if isinstance(value, int):
        too_long = value.bit_length() > _MAX_INT_BITS
        return ("holds an integer of over 4,000 digits" if too_long else None), 8
    if isinstance(value, float):
        if math.isfinite(value):
            return None, 8
        # Python writes these out as NaN and Infinity, which JSON has not (RFC 8259 §6).
        name = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
        return f"holds {name}, which is not a JSON number", 8
    return f"holds a {type(value).__name__}, which JSON cannot hold", 0


def _json_problem(value: object) -> tuple[str | None, int]:
    """Why ``value`` cannot be written out as JSON that other readers accept (None when
    it can), and about how many bytes it holds. Walked without recursion: the depth is
    what is being checked."""
    held = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list | tuple):
            if depth >= _MAX_DEPTH:
                return f"is nested over {_MAX_DEPTH} levels deep", held
            inner = value.values() if isinstance(value, dict) else value
            for key in value if isinstance(value, dict) else ():
                problem, size = (
                    _string_problem(key)
                    if isinstance(key, str)
                    else (f"has a key that is a {type(key).__name__}, not a string", 0)
                )
                if problem is not None:
                    return problem, held
                held += size
            stack.extend((v, depth + 1) for v in inner)
            continue
        problem, size = _scalar_problem(value)
        held += size
        if problem is not None:
            return problem, held
    return None, held


def _deeper_than(value: object, depth: int) -> bool:
    """Whether ``value`` nests containers more than ``depth`` levels deep; one level at
    a time, so no recursion."""
    level = [value]
    for _ in range(depth):
        level = [
            inner
            for container in level
            for inner in (container.values() if isinstance(container, dict) else container)  # type: ignore[attr-defined]
            if isinstance(inner, dict | list | tuple)
        ]
        if not level:
            return False
    return True


def _plain_size(value: object) -> int:
    """The bytes a scalar that is plainly JSON holds (ASCII text, a 64-bit integer, a
    finite number, a boolean, null); -1 for anything else, which is looked at closer."""
    if isinstance(value, str):
        return len(value) if value.isascii() else -1
    if value is None or isinstance(value, bool):
        return 4
    if isinstance(value, int):
        return 8 if -(1 << 63) <= value < 1 << 63 else -1
    if isinstance(value, float):
        return 8 if math.isfinite(value) else -1
    return -1


def _plain_record(record: Mapping[str, Any], content: str | None) -> int:
    """The bytes of a record of the common shape, plain scalars and one level of plain
    metadata, found without writing it out; -1 when it is of another."""
    held = 0
    for key, value in record.items():
        if key == content:
            continue
        if type(key) is not str or not key.isascii():
            return -1
        if type(value) is dict:
            for inner_key, inner in value.items():
                size = _plain_size(inner)
                if size < 0 or type(inner_key) is not str or not inner_key.isascii():
                    return -1
                held += size + len(inner_key)
            continue
        if (size := _plain_size(value)) < 0:
            return -1
        held += size + len(key)
    return held


def _checked_record(record: Mapping[str, Any], content: str | None) -> int:
    """About how many bytes ``record`` holds apart from its ``content`` field (checked
    on its own); raises ``_UnreadableError`` naming the field that cannot be written
    out. A record of the common shape is seen to be plain; any other is written out
    once by the encoder that writes the outputs, and the field-by-field walk that
    names the problem runs only when there is one."""
    if (held := _plain_record(record, content)) >= 0:
        return held
    rest = {key: value for key, value in record.items() if key != content}
    if _deeper_than([*rest.values()], _MAX_DEPTH):
        deep = next(k for k, v in rest.items() if _deeper_than([v], _MAX_DEPTH))
        raise _UnreadableError(f"{deep} is nested over {_MAX_DEPTH} levels deep")
    try:
        return len(_ENCODER.encode(rest).encode("utf-8"))
    except (ValueError, TypeError, RecursionError):  # UnicodeEncodeError is a ValueError
        pass
    for key, value in rest.items():
        if not isinstance(key, str) or _string_problem(key)[0] is not None:
            raise _UnreadableError("record has a field name that is not valid Unicode")
        problem, _ = _json_problem(value)
        if problem is not None:
            raise _UnreadableError(f"{key} {problem}")
    raise _UnreadableError("record cannot be written out as JSON")


def _checked_text(text: object, max_bytes: int) -> tuple[str, int]:
    if not isinstance(text, str):
        raise _UnreadableError("text must be a string")
    try:
        # An ASCII string's length is its size (most of a corpus): not encoded to count.
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise _UnreadableError("text contains unpaired surrogates (not valid Unicode)") from None
    if not text.strip():
        raise _UnreadableError("text is empty", size)
    if size > max_bytes:
        raise _UnreadableError(
            f"text is {size:,} bytes, over the {max_bytes:,}-byte limit per item", size
        )
    return text, size


def _inline_image(data: object, max_bytes: int) -> bytes:
    if isinstance(data, str):
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):  # ValueError: not ASCII at all
            raise _UnreadableError("image is not valid base64") from None
    if not isinstance(data, bytes | bytearray) or not data:
        raise _UnreadableError("image is empty or not bytes")
    if len(data) > max_bytes:
        raise _UnreadableError(
            f"image is {len(data):,} bytes, over the {max_bytes:,}-byte limit", len(data)
        )
    return bytes(data)


def _image_file(name: str, root: Path, max_bytes: int) -> bytes:
    path = Path(name)
    if not path.is_absolute():
        path = root / path
    data = read_inside(path, root=os.path.realpath(root), max_bytes=max_bytes)
    if isinstance(data, str):
        raise _UnreadableError(f"image {name} {data}")
    return data


def _checked_id(raw_id: object) -> str | None:
    """The record's id as text, None when it has none."""
    if not isinstance(raw_id, str | int):
        return None
    if isinstance(raw_id, int) and raw_id.bit_length() > _MAX_INT_BITS:
        raise _UnreadableError("id is an integer of over 4,000 digits")
    item_id = str(raw_id)
    if not item_id:
        return None
    if _string_problem(item_id)[0] is not None:
        raise _UnreadableError("id holds an unpaired surrogate (not valid Unicode)")
    return item_id


def item_from_mapping(
    record: Mapping[str, Any],
    *,
    source: str,
    base: Path | None = None,
    max_bytes: int = DEFAULT_MAX_ITEM_BYTES,
) -> Item:
    """An ``Item`` from a Dolma/datatrove-style record: ``id``, ``text`` (or
    ``image_path`` / base64 ``image``) and ``metadata``. Problems become ``unreadable``;
    an item without a usable id is named by its position in the source.

    Every field must be one that can be written back out as JSON (no NaN or Infinity,
    no unpaired surrogates, nesting at most 128 deep), since an admitted record is
    copied to the outputs as it came. ``image_path`` is read only from inside ``base``
    (the corpus's folder; without one, the current directory)."""
    original = dict(record)
    item = Item(source, source, original=original)
    content = next((k for k in ("text", "image") if record.get(k) is not None), None)
    try:
        item_id = _checked_id(record.get("id"))
        if item_id is not None:
            item.id = item_id
        item.footprint = _checked_record(record, content)
        metadata = record.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise _UnreadableError("metadata must be an object")
        item.metadata = metadata
        if item_id is None:
            raise _UnreadableError("record has no id")
        if content == "text":
            item.text, item.size = _checked_text(record["text"], max_bytes)
        elif content == "image":
            item.image = _inline_image(record["image"], max_bytes)
            if not isinstance(record["image"], str):
                # Written out as JSON Lines carries an image: base64 text.
                original["image"] = base64.b64encode(item.image).decode("ascii")
        elif isinstance(record.get("image_path"), str):
            item.image = _image_file(record["image_path"], base or Path.cwd(), max_bytes)
        else:
            raise _UnreadableError("record has no text, image or image_path")
        if item.image is not None and (problem := pixels_over_limit(item.image)) is not None:
            raise _UnreadableError(problem, len(item.image))
    except _UnreadableError as problem:
        item.unreadable, item.size = problem.reason, problem.size
        # Nothing of an unreadable record is written out; it holds nothing either.
        item.text = item.image = item.original = None
        item.footprint = 0
        return item
    if item.image is not None:
        item.size = len(item.image)
    item.footprint += item.size
    if content == "image":
        item.footprint += len(original["image"])  # the base64 text kept to write out
    return item
