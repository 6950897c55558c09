"""RFC 9421 HTTP Message Signatures with Ed25519, over an RFC 9530 ``Content-Digest``.

The CLI signs each request to the registry with its party's key; the service verifies
it. Our profile covers ``@method``, ``@target-uri`` and ``content-digest`` with the
parameters ``created``, ``nonce``, ``keyid`` and ``alg="ed25519"``, so a signature binds
who acts, what they ask, where, when and the exact body. Pure functions: the caller
owns the clock, the keys and the nonce store.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from http_sfv.dictionary import Dictionary
from http_sfv.item import InnerList, Item
from http_sfv.types import Token

from consentry.crypto.keys import PublicKey
from consentry.crypto.signer import Signer
from consentry.errors import (
    BadSignatureError,
    ContentDigestError,
    InputError,
    RequestSignatureError,
    StaleRequestError,
    UnknownKeyError,
    VerificationError,
)

__all__ = [
    "COVERED",
    "WINDOW_SECONDS",
    "SignedBy",
    "check_content_digest",
    "content_digest",
    "sign_request",
    "signature_base",
    "verify_request",
]

COVERED: tuple[str, ...] = ("@method", "@target-uri", "content-digest")
WINDOW_SECONDS = 300
# What the registry keeps of each request while its signature could be replayed.
MAX_NONCE = 64
_ALG = "ed25519"
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# A component is a lowercase field name (an RFC 9110 token) or a derived "@" name.
_COMPONENT = re.compile(r"@?[a-z0-9!#$%&'*+.^_`|~-]+")
_FOLD = re.compile(r"[ \t]*\r\n[ \t]+")


@dataclass(frozen=True, slots=True)
class SignedBy:
    """Who signed a verified request, when, and the nonce the caller must not see twice."""

    key: PublicKey
    key_id: str
    created: int
    nonce: str


def content_digest(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` of ``body``: ``sha-256=:<base64>:``."""
    return str(Dictionary({"sha-256": hashlib.sha256(body).digest()}))


def check_content_digest(header: str | None, body: bytes) -> None:
    """Raise ``ContentDigestError`` unless ``header`` is a Content-Digest of ``body``:
    it has a sha-256 or sha-512 member and each of those matches. Other algorithms are
    ignored, as RFC 9530 §2 lets a recipient choose."""
    if header is None:
        raise ContentDigestError("the request has no Content-Digest; send its body's sha-256")
    members = _parse_dictionary(header, "Content-Digest", ContentDigestError)
    known = [name for name in members if name in _DIGESTS]
    if not known:
        raise ContentDigestError("the request's Content-Digest has no sha-256 or sha-512 member")
    for name in known:
        member = members[name]
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            raise ContentDigestError(f"the Content-Digest {name} is not a byte sequence :<b64>:")
        if not hmac.compare_digest(member.value, _DIGESTS[name](body).digest()):
            raise ContentDigestError(
                f"the request's Content-Digest is not the {name.upper()} of its body; "
                "sign the body you send"
            )


def signature_base(
    *, method: str, url: str, headers: Mapping[str, str], components: Sequence[str], params: str
) -> bytes:
    """The RFC 9421 §2.5 signature base: one line per component, then
    ``"@signature-params": <params>``.

    Raises ``BadSignatureError`` when a component is unknown, repeated, absent from the
    request, or holds anything but printable ASCII."""
    fields = _fields(headers)
    # RFC 9421 §2.5: each component appears once, so one base means one message.
    if repeated := sorted({name for name in components if components.count(name) > 1}):
        raise BadSignatureError(f"the signature covers {', '.join(repeated)} twice; once is all")
    lines: list[str] = []
    for name in components:
        if not _COMPONENT.fullmatch(name):
            raise BadSignatureError(
                f"the signature covers {name!r}, which is not a lowercase component name; "
                "cover field names or @-components"
            )
        lines.append(f'"{name}": {_component(name, method, url, fields)}')
    lines.append(f'"@signature-params": {_printable(params, "signature parameters")}')
    return "\n".join(lines).encode("ascii")


def sign_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    signer: Signer,
    created: int,
    nonce: str,
    label: str = "sig",
) -> dict[str, str]:
    """Sign a request over ``COVERED``; return the headers to add: ``Content-Digest``,
    ``Signature-Input`` and ``Signature``.

    Raises ``InputError`` when ``label`` or ``nonce`` cannot be a structured field, and
    ``BadSignatureError`` when the method or URL cannot be signed."""
    digest = content_digest(body)
    covered = InnerList(list(COVERED))
    covered.params.update(
        {"created": created, "nonce": nonce, "keyid": signer.public.key_id, "alg": _ALG}
    )
    try:
        signature_input = str(Dictionary({label: covered}))
    except ValueError as exc:
        raise InputError(
            f"cannot sign with label {label!r} and nonce {nonce!r}: a label is lowercase "
            "letters, digits and _-.*, a nonce printable ASCII"
        ) from exc
    fields = {**_fields(headers), "content-digest": digest}
    base = signature_base(
        method=method, url=url, headers=fields, components=COVERED, params=str(covered)
    )
    signature = str(Dictionary({label: signer.sign(base)}))
    return {"Content-Digest": digest, "Signature-Input": signature_input, "Signature": signature}


def verify_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    key_for: Callable[[str], PublicKey | None],
    now: int,
    window: int = WINDOW_SECONDS,
) -> SignedBy:
    """Verify the request's one signature under our profile; return who made it.

    Raises ``BadSignatureError`` (missing, malformed, covering too little, another
    algorithm, or not over what was received), ``ContentDigestError``,
    ``UnknownKeyError`` (``key_for`` gave None) or ``StaleRequestError`` (``created``
    more than ``window`` seconds from ``now``). Refusing a seen nonce is the caller's."""
    fields = _fields(headers)
    label, covered, signature = _the_signature(fields)
    names = [item.value for item in covered]
    if missing := [name for name in COVERED if name not in names]:
        raise BadSignatureError(
            f"signature {label} does not cover {', '.join(missing)}; "
            f"cover {' '.join(COVERED)} as the registry requires"
        )
    created = covered.params.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        raise BadSignatureError(f"signature {label} has no integer created; sign with one")
    nonce, key_id = (_string_param(label, covered, name) for name in ("nonce", "keyid"))
    if not 0 < len(nonce) <= MAX_NONCE:
        raise BadSignatureError(
            f"signature {label}'s nonce is {len(nonce)} characters; use a random one of at "
            f"most {MAX_NONCE}"
        )
    alg = covered.params.get("alg", _ALG)
    if alg != _ALG or isinstance(alg, Token):
        raise BadSignatureError(f"signature {label} is not ed25519; sign with an Ed25519 key")
    check_content_digest(fields.get("content-digest"), body)
    if (key := key_for(key_id)) is None:
        raise UnknownKeyError(f"no registered party has key {key_id!r}; sign with your own")
    if not now - window <= created <= now + window:
        when = f"{now - created} s ago" if created < now else f"{created - now} s in the future"
        raise StaleRequestError(
            f"the request was signed {when}, outside the {window} s allowed; "
            "check your clock and sign it again"
        )
    # RFC 9421 §3.2: the verifier serialises the parameters it parsed, so what it
    # checked above is exactly what the signature must cover.
    base = signature_base(
        method=method, url=url, headers=fields, components=names, params=str(covered)
    )
    try:
        key.verify(signature, base)
    except VerificationError as exc:
        raise BadSignatureError(
            f"the signature by key {key_id} is not over the method, URL and body "
            "received; sign the request exactly as you send it"
        ) from exc
    return SignedBy(key=key, key_id=key_id, created=created, nonce=nonce)


def _the_signature(fields: Mapping[str, str]) -> tuple[str, InnerList, bytes]:
    """The request's one (label, covered components with parameters, signature)."""
    if "signature-input" not in fields or "signature" not in fields:
        raise BadSignatureError("the request has no Signature-Input or no Signature; sign it")
    inputs = _parse_dictionary(fields["signature-input"], "Signature-Input", BadSignatureError)
    signatures = _parse_dictionary(fields["signature"], "Signature", BadSignatureError)
    if inputs.keys() != signatures.keys():
        raise BadSignatureError(
            f"Signature-Input has labels {sorted(inputs)} but Signature has "
            f"{sorted(signatures)}; send each signature with its input"
        )
    if len(inputs) != 1:
        raise BadSignatureError(f"the request carries {len(inputs)} signatures; send one")
    [(label, covered)] = inputs.items()
    signature = signatures[label]
    if not isinstance(signature, Item) or not isinstance(signature.value, bytes):
        raise BadSignatureError(f"signature {label} is not a byte sequence; send :<base64>:")
    if not isinstance(covered, InnerList) or not all(
        isinstance(item, Item) and type(item.value) is str and not item.params for item in covered
    ):
        raise BadSignatureError(
            f"Signature-Input {label} is not a list of quoted component names without "
            'parameters; send ("@method" "@target-uri" "content-digest");...'
        )
    return label, covered, signature.value


def _string_param(label: str, covered: InnerList, name: str) -> str:
    value = covered.params.get(name)
    if not isinstance(value, str) or isinstance(value, Token):
        raise BadSignatureError(f'signature {label} has no string {name}; sign with {name}="..."')
    return value


def _parse_dictionary(value: str, field: str, error: type[RequestSignatureError]) -> Dictionary:
    """Parse an RFC 9651 Dictionary; ``error`` is the refusal a malformed one means."""
    parsed = Dictionary()
    try:
        if not value.isascii():
            raise ValueError("a structured field is ASCII")
        parsed.parse(value.encode("ascii"))
    except ValueError as exc:
        raise error(
            f"the request's {field} is not a structured-field dictionary (RFC 9651); "
            "send it as a conforming client writes it"
        ) from exc
    return parsed


def _fields(headers: Mapping[str, str]) -> dict[str, str]:
    """Header fields by lowercase name, each value unfolded and trimmed (RFC 9421 §2.1);
    names that differ only in case are one field, their values joined by ", "."""
    fields: dict[str, str] = {}
    for name, raw in headers.items():
        key, value = name.lower(), _FOLD.sub(" ", raw).strip(" \t")
        fields[key] = f"{fields[key]}, {value}" if key in fields else value
    return fields


def _printable(value: str, what: str) -> str:
    # A line break would let one component forge further lines of the base; outside
    # ASCII, signer and verifier could disagree on the bytes.
    if not value.isascii() or not value.replace("\t", " ").isprintable():
        raise BadSignatureError(
            f"the request's {what} holds characters a signature base cannot carry; "
            "send printable ASCII"
        )
    return value


def _component(name: str, method: str, url: str, fields: Mapping[str, str]) -> str:
    """One covered component's value: a header field (RFC 9421 §2.1) or a derived
    component of the request (§2.2)."""
    if not name.startswith("@"):
        if name not in fields:
            raise BadSignatureError(
                f"the signature covers the {name} header, which the request lacks; "
                "send it or do not cover it"
            )
        return _printable(fields[name], f"{name} header")
    if name == "@method":
        return _printable(method, "method")
    url = _printable(url, "URL").partition("#")[0]  # a fragment is never sent
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise BadSignatureError(f"the request URL {url!r} cannot be parsed; fix it") from exc
    authority = parts.netloc.rpartition("@")[2]  # nor is userinfo
    if not parts.scheme or not authority:
        raise BadSignatureError(f"the request URL {url!r} is not absolute; send scheme://host/")
    host, colon, port = authority.rpartition(":")
    if not colon or "]" in port:  # no port, only the colons of an IPv6 literal
        host, port = authority, ""
    # RFC 9421 §2.2.3 normalises the authority as RFC 9110 §4.2.3 does: lowercase, no
    # default port. @target-uri keeps the URL as sent.
    if port not in ("", _DEFAULT_PORTS.get(parts.scheme)):
        host = f"{host}:{port}"
    path, query = parts.path or "/", f"?{parts.query}" if "?" in url else ""
    derived = {
        "@target-uri": f"{parts.scheme}://{authority}{path}{query}",
        "@authority": host.lower(),
        "@scheme": parts.scheme,
        "@request-target": path + query,
        "@path": path,
        "@query": query or "?",
    }
    if name not in derived:
        raise BadSignatureError(
            f"the signature covers {name}, which the registry does not support; "
            f"cover @method or {' '.join(derived)}"
        )
    return derived[name]
