"""RFC 8785 (JSON Canonicalization Scheme) for everything consentry signs.

Signed documents never contain floats: prices are decimal strings, times are RFC 3339
strings, so canonical form is unambiguous across languages.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from consentry.errors import InputError

__all__ = ["canonical_json", "parse_json_object"]


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 encoding of ``value``.

    Raises ``InputError`` when ``value`` holds something JSON cannot carry exactly
    (a float, a non-string key, an unpaired surrogate, an integer beyond 2**53).
    """
    fast = _plain_encoding(value)
    if fast is not None:
        return fast
    _reject_floats(value)
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InputError(f"cannot canonicalise document for signing: {exc}") from exc


# For documents of strings with ASCII keys, integers within 2**53, booleans, nulls,
# lists and objects, RFC 8785 is exactly what the C JSON encoder writes with sorted keys
# and no spaces: it escapes the same characters the same way, and code-point order of
# ASCII keys is the UTF-16 order RFC 8785 sorts by. Anything else (non-ASCII keys,
# large integers, other types) takes the reference implementation; a property test
# holds the two equal.
_PLAIN = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_SAFE_INTEGER = 2**53 - 1


def _plain_encoding(value: Any) -> bytes | None:
    """The C encoder's output where it equals RFC 8785; None where it may not (then
    the reference encoder decides, and names what is wrong, e.g. an unpaired
    surrogate, which UTF-8 cannot encode)."""
    if not _plain(value):
        return None
    try:
        return _PLAIN.encode(value).encode("utf-8")
    except UnicodeEncodeError:
        return None


def _plain(value: Any) -> bool:
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER
    if isinstance(value, float):
        _reject_floats(value)
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and key.isascii() and _plain(item) for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    return False


def parse_json_object(data: bytes | str, *, what: str) -> dict[str, Any]:
    """Parse ``data`` as a JSON object; ``what`` names the input in the error."""
    try:
        value = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} is not valid JSON ({exc}); fix the syntax and retry") from exc
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a JSON object, found {type(value).__name__}")
    return value


def _reject_floats(value: Any) -> None:
    # Floats have several valid renderings across languages; money and times must not
    # depend on which one a verifier picks, so signed documents carry strings instead.
    if isinstance(value, float):
        raise InputError(f"signed documents carry numbers as strings, found float {value!r}")
    if isinstance(value, dict):
        for item in value.values():
            _reject_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_floats(item)
