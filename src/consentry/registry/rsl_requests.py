"""What an RSL licence token is asked for (RSL 1.0, RSL-SPEC-1.0, §5.4.2): the uses the
request's ``<license>`` element names, in consentry's categories, and the content URL
(``resource``) it is for. Pure: no I/O, no database.

Errors are ``TokenRefusedError``, whose ``code`` is the OLP error code (§5.4.4) the
licence server answers with::

    RegistryError
    └── TokenRefusedError    code: invalid_request | unauthorized_client |
                                   invalid_license | invalid_resource |
                                   unsupported_grant_type
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from urllib.parse import quote, urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml  # type: ignore[import-untyped]  # defusedxml ships no type hints
import defusedxml.ElementTree  # type: ignore[import-untyped]

from consentry.errors import RegistryError
from consentry.terms import Category

__all__ = [
    "MAX_LICENCE_CHARS",
    "RSL_MEDIA_TYPE",
    "RSL_NS",
    "USAGE",
    "ContentUrl",
    "LicenceAsk",
    "OlpCode",
    "TokenRefusedError",
    "requested_uses",
]

RSL_NS = "https://rslstandard.org/rsl"
RSL_MEDIA_TYPE = "application/rsl+xml"
MAX_LICENCE_CHARS = 65_536
MAX_URL_CHARS = 2_048


class OlpCode(StrEnum):
    """The OLP error codes (RSL 1.0 §5.4.4, RFC 6749 §5.2, RFC 7662 §2.3)."""

    INVALID_REQUEST = "invalid_request"
    INVALID_CLIENT = "invalid_client"
    UNAUTHORIZED_CLIENT = "unauthorized_client"
    INVALID_LICENSE = "invalid_license"
    INVALID_RESOURCE = "invalid_resource"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    SERVER_ERROR = "server_error"


class TokenRefusedError(RegistryError):
    """The licence server refuses a token request; ``code`` says which refusal it is
    (OLP's words), the message what to do."""

    def __init__(self, message: str, *, code: OlpCode) -> None:
        super().__init__(message)
        self.code = code


_TRAIN = frozenset({Category.TRAIN_AI, Category.TRAIN_OTHER})

# RSL 1.0 §3.4.1.1, the usage vocabulary, and the categories a grant must list for a
# token that licenses each: ``all`` is any automated processing (AI and search);
# ``ai-all`` any AI use; ``ai-train`` training or fine-tuning AI models of any kind,
# so both training categories; ``ai-input`` RAG, grounding and generated answers;
# ``ai-index`` an AI system's retrieval index, which exists to feed its input;
# ``search`` an index that links and quotes. ``train-ai`` is the AI-preferences label
# (draft-ietf-aipref-vocab) RSL's vocabulary takes in, for generative models. A use
# asked is granted only when every category it reaches is: a token never licenses more
# than the owner signed (§3.1.1: "never expand rights").
USAGE: Mapping[str, frozenset[Category]] = MappingProxyType(
    {
        "all": frozenset({*_TRAIN, Category.AI_INPUT, Category.SEARCH, Category.DATA_MINING}),
        "ai-all": frozenset({*_TRAIN, Category.AI_INPUT}),
        "ai-train": _TRAIN,
        "ai-input": frozenset({Category.AI_INPUT}),
        "ai-index": frozenset({Category.AI_INPUT}),
        "search": frozenset({Category.SEARCH}),
        "train-ai": frozenset({Category.TRAIN_AI}),
    }
)


def _invalid(message: str) -> TokenRefusedError:
    return TokenRefusedError(message, code=OlpCode.INVALID_REQUEST)


def _local(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


def _tokens(element: Element) -> list[str]:
    # RSL 1.0 lists are space-separated; RSL 0.9's commas read the same.
    return [t for t in re.split(r"[\s,]+", element.text or "") if t]


def requested_uses(licence: str) -> frozenset[Category]:
    """The categories a ``<license>`` element asks for: its ``<permits type="usage">``
    values (every use when it has none, §3.5), less its ``<prohibits type="usage">``.

    Raises ``TokenRefusedError`` with ``invalid_request`` when it is not one well-formed
    ``<license>`` element (of the RSL namespace, or none) without DTD or entities, and
    ``invalid_license`` when it names a use this server does not know (an extension
    token is never guessed at, §3.4.1) or asks for nothing."""
    if len(licence) > MAX_LICENCE_CHARS:
        raise _invalid(f"license is over {MAX_LICENCE_CHARS:,} characters; send the one element")
    try:
        root: Element = defusedxml.ElementTree.fromstring(licence, forbid_dtd=True)
    except (ParseError, defusedxml.DefusedXmlException, ValueError):
        raise _invalid(
            "license is not one well-formed XML <license> element (with no DTD or entities); "
            "send the <license> element of the RSL document, URL-encoded"
        ) from None
    namespace, name = _local(root.tag)
    if name != "license" or namespace not in (None, RSL_NS):
        raise _invalid(f"license is a <{name}> element, not an RSL <license> (namespace {RSL_NS})")
    asked: set[Category] = set()
    denied: set[Category] = set()
    permits_seen = False
    for child in root:
        child_namespace, child_name = _local(child.tag)
        if child_namespace not in (None, RSL_NS) or child.get("type") != "usage":
            continue  # user and geo classes narrow what is asked; they never widen it
        if child_name not in ("permits", "prohibits"):
            continue
        permits_seen = permits_seen or child_name == "permits"
        for token in _tokens(child):
            if token not in USAGE:
                known = ", ".join(sorted(USAGE))
                raise TokenRefusedError(
                    f"license asks for usage {token!r}, which this licence server does not "
                    f"license; ask for one of {known}",
                    code=OlpCode.INVALID_LICENSE,
                )
            (asked if child_name == "permits" else denied).update(USAGE[token])
    uses = frozenset((asked if permits_seen else USAGE["all"]) - denied)
    if not uses:
        raise TokenRefusedError(
            "license asks for no use once its prohibitions are taken out; name the use in "
            '<permits type="usage">',
            code=OlpCode.INVALID_LICENSE,
        )
    return uses


_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def _normal_path(path: str) -> str:
    """RFC 9309 §2.2.2: non-ASCII is compared percent-encoded, and an encoded
    unreserved character as itself."""
    encoded = quote(path, safe="/?&=;:@!$'()*+,%-._~[]")

    def unescape(found: re.Match[str]) -> str:
        char = chr(int(found[1], 16))
        return char if char in _UNRESERVED else f"%{found[1].upper()}"

    return _ESCAPE.sub(unescape, encoded)


def _origin(scheme: str, host: str | None, port: int | None) -> str:
    name = (host or "").lower()
    shown = f"[{name}]" if ":" in name else name
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


def _split(text: str, what: str, *, absolute: bool) -> tuple[str | None, str]:
    """(origin or None for a path alone, path with query) of an http(s) URL."""
    if not text or len(text) > MAX_URL_CHARS or any(ord(c) < 33 for c in text):
        raise _invalid(f"{what} must be a URL of at most {MAX_URL_CHARS:,} characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _invalid(f"{what} {text[:200]!r} is not a URL") from None
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise _invalid(f"{what} must carry no user name, password or fragment")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not parts.scheme and not parts.netloc and text.startswith("/") and not absolute:
        return None, _normal_path(path)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        kind = "an absolute http(s) URL" if absolute else "an http(s) URL or a path from /"
        raise _invalid(f"{what} {text[:200]!r} is not {kind}")
    return _origin(scheme, parts.hostname, port), _normal_path(path)


@dataclass(frozen=True, slots=True)
class ContentUrl:
    """The content a token licenses, as RSL's ``<content url>`` writes it (§3.3): an
    http(s) URL whose path is an RFC 9309 pattern (``*`` any characters, a final ``$``
    the end; otherwise a prefix). ``origin`` None: a path alone, on any site of the
    owner's (its owner's introspection is what ties it to a site)."""

    text: str
    origin: str | None
    path: str

    @classmethod
    def parse(cls, text: str, *, what: str = "resource") -> ContentUrl:
        """Raises ``TokenRefusedError`` (``invalid_request``) for anything but an http(s)
        URL or a path from ``/``."""
        origin, path = _split(text, what, absolute=False)
        return cls(text, origin, path)

    def matches(self, url: str) -> bool:
        """Whether the asset at absolute ``url`` is this content; False for anything
        that is not an absolute http(s) URL."""
        try:
            origin, path = _split(url, "url", absolute=True)
        except TokenRefusedError:
            return False
        if self.origin is not None and origin != self.origin:
            return False
        pattern = self.path
        anchored = pattern.endswith("$")
        body = re.escape(pattern[:-1] if anchored else pattern).replace(r"\*", ".*")
        return re.match(body + (r"\Z" if anchored else ""), path, flags=re.DOTALL) is not None


@dataclass(frozen=True, slots=True)
class LicenceAsk:
    """A token request's terms: the content, the ``<license>`` element as sent, the
    categories it asks for, and the grant it names (None: the server picks one)."""

    content: ContentUrl
    licence: str
    uses: frozenset[Category]
    grant_id: str | None = None

    @classmethod
    def read(
        cls,
        *,
        resource: str | None,
        licence: str | None,
        licence_type: str | None = None,
        grant_id: str | None = None,
    ) -> LicenceAsk:
        """The ask of an OLP token request's parameters (§5.4.2: ``license`` and
        ``resource`` required, ``license_type`` ``application/rsl+xml`` by default).

        Raises ``TokenRefusedError`` as ``requested_uses`` and ``ContentUrl.parse`` do,
        and ``invalid_request`` for a missing parameter or another licence type."""
        if not resource:
            raise _invalid("resource is missing; send the url of the licence's <content>")
        if not licence:
            raise _invalid("license is missing; send the <license> element you accept")
        if licence_type not in (None, RSL_MEDIA_TYPE):
            raise _invalid(f"license_type {licence_type[:100]!r} is not {RSL_MEDIA_TYPE}")
        if grant_id is not None and not re.fullmatch(r"[a-z]{3}_[a-z2-7]{1,36}", grant_id):
            raise _invalid(f"grant_id {grant_id[:60]!r} is not a grant id; see /v1/grants")
        return cls(ContentUrl.parse(resource), licence, requested_uses(licence), grant_id)
