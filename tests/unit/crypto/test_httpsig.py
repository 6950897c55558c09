from __future__ import annotations

import base64
import dataclasses
import hashlib
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import http_message_signatures as hms
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from http_sfv.dictionary import Dictionary
from hypothesis import given
from hypothesis import strategies as st

from consentry.crypto import KeyPair, PublicKey
from consentry.crypto.httpsig import (
    COVERED,
    WINDOW_SECONDS,
    SignedBy,
    check_content_digest,
    content_digest,
    sign_request,
    signature_base,
    verify_request,
)
from consentry.errors import (
    BadSignatureError,
    ContentDigestError,
    InputError,
    RequestSignatureError,
    StaleRequestError,
    UnknownKeyError,
)

# Fixed keys: their ids name test cases, which every xdist worker must collect alike.
KEY = KeyPair(Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32))
OTHER = KeyPair(Ed25519PrivateKey.from_private_bytes(bytes([2]) * 32))
STRANGER = KeyPair(Ed25519PrivateKey.from_private_bytes(bytes([3]) * 32))
KEYS = {pair.public.key_id: pair.public for pair in (KEY, OTHER)}
NOW = 1_800_000_000
URL = "https://registry.example:8443/v1/grants?owner=own_1&page=2"
BODY = b'{"work": "wrk_1", "purposes": ["train-ai"]}'


def _signed(
    *,
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    key: KeyPair = KEY,
    created: int = NOW,
    nonce: str = "n-0001",
) -> dict[str, str]:
    sent = {"Content-Type": "application/json"}
    return sent | sign_request(
        method=method, url=url, headers=sent, body=body, signer=key, created=created, nonce=nonce
    )


def _verify(
    headers: Mapping[str, str],
    *,
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    now: int = NOW,
) -> SignedBy:
    return verify_request(
        method=method, url=url, headers=headers, body=body, key_for=KEYS.get, now=now
    )


def _forged(components: tuple[str, ...], params: str, *, key: KeyPair = KEY) -> dict[str, str]:
    """Headers whose signature genuinely verifies over ``components`` with ``params``:
    whatever refuses them is the profile, not the cryptography."""
    headers = {"Content-Type": "application/json", "Content-Digest": content_digest(BODY)}
    inner = "(" + " ".join(f'"{name}"' for name in components) + ")" + params
    base = signature_base(
        method="POST", url=URL, headers=headers, components=components, params=inner
    )
    signature = base64.b64encode(key.sign(base)).decode()
    return headers | {"Signature-Input": f"sig={inner}", "Signature": f"sig=:{signature}:"}


# --- RFC 9421 Appendix B.2.6: Ed25519 over the B.2 example request, key B.1.4 -----------

RFC_PUBLIC = base64.urlsafe_b64decode("JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs=")
RFC_PRIVATE = base64.urlsafe_b64decode("n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU=")
RFC_URL = "https://example.com/foo?param=Value&Pet=dog"
RFC_BODY = b'{"hello": "world"}'
RFC_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": (
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
    ),
    "Content-Length": "18",
}
RFC_COMPONENTS = ("date", "@method", "@path", "@authority", "content-type", "content-length")
RFC_PARAMS = (
    '("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
RFC_SIGNATURE = base64.b64decode(
    "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
)
RFC_BASE = (
    b'"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    b'"@method": POST\n'
    b'"@path": /foo\n'
    b'"@authority": example.com\n'
    b'"content-type": application/json\n'
    b'"content-length": 18\n'
    b'"@signature-params": ("date" "@method" "@path" "@authority" "content-type" '
    b'"content-length");created=1618884473;keyid="test-key-ed25519"'
)


def test_rfc9421_b26_signature_base_is_reproduced_byte_for_byte() -> None:
    base = signature_base(
        method="POST",
        url=RFC_URL,
        headers=RFC_HEADERS,
        components=RFC_COMPONENTS,
        params=RFC_PARAMS,
    )
    assert base == RFC_BASE


def test_rfc9421_b26_signature_input_reserialises_to_the_signed_parameters() -> None:
    # A verifier rebuilds @signature-params by serialising what it parsed (§3.2).
    parsed = Dictionary()
    parsed.parse(f"sig-b26={RFC_PARAMS}".encode())
    assert str(parsed["sig-b26"]) == RFC_PARAMS


def test_rfc9421_b26_signature_verifies_with_the_rfc_public_key() -> None:
    PublicKey(RFC_PUBLIC).verify(RFC_SIGNATURE, RFC_BASE)


def test_rfc9421_b26_signing_with_the_rfc_private_key_gives_the_rfc_signature() -> None:
    # Ed25519 is deterministic (RFC 8032), so the private key must reproduce it exactly.
    pair = KeyPair(Ed25519PrivateKey.from_private_bytes(RFC_PRIVATE))
    assert pair.public.raw == RFC_PUBLIC
    assert pair.sign(RFC_BASE) == RFC_SIGNATURE


def test_rfc9421_b2_request_content_digest_sha512_is_accepted() -> None:
    check_content_digest(RFC_HEADERS["Content-Digest"], RFC_BODY)
    with pytest.raises(ContentDigestError, match="SHA-512 of its body"):
        check_content_digest(RFC_HEADERS["Content-Digest"], RFC_BODY + b"\n")


# --- Content-Digest ------------------------------------------------------------------------


def test_content_digest_is_sha256_as_a_structured_byte_sequence() -> None:
    expected = base64.b64encode(hashlib.sha256(RFC_BODY).digest()).decode()
    assert content_digest(RFC_BODY) == f"sha-256=:{expected}:"
    assert content_digest(RFC_BODY) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    check_content_digest(content_digest(b""), b"")


@pytest.mark.parametrize(
    ("header", "match"),
    [
        (None, "no Content-Digest"),
        ("", "not a structured-field dictionary"),
        ("sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=", "not a structured"),
        ("sha-256=:not base64!:", "not a structured"),
        ('sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="', "not a byte sequence"),
        ("md5=:XrY7u+Ae7tCTyyK7j1rNww==:", "no sha-256 or sha-512 member"),
        ("SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", "not a structured"),
        ("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:AAAA:", "SHA-512"),
        ("sha-256=:AAAA:, unixsum=:AAAA:", "SHA-256 of its body; sign the body you send"),
        ("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:x", "not a structured"),
        ("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:é", "not a structured"),
    ],
)
def test_a_bad_content_digest_is_refused(header: str | None, match: str) -> None:
    with pytest.raises(ContentDigestError, match=match):
        check_content_digest(header, RFC_BODY)


def test_a_digest_of_another_algorithm_beside_a_right_one_is_ignored() -> None:
    check_content_digest(f"unixsum=:AAAA:, {content_digest(RFC_BODY)}", RFC_BODY)


# --- The signature base: components and normalisation ---------------------------------------


def _base_line(component: str, url: str, headers: Mapping[str, str] | None = None) -> str:
    base = signature_base(
        method="GET", url=url, headers=headers or {}, components=(component,), params="()"
    )
    return base.decode().split("\n")[0].partition(": ")[2]


@pytest.mark.parametrize(
    ("component", "url", "value"),
    [
        (
            "@target-uri",
            "https://Example.COM:443/a/b?x=1&y=%20#frag",
            "https://Example.COM:443/a/b?x=1&y=%20",
        ),
        ("@target-uri", "https://example.com", "https://example.com/"),
        ("@target-uri", "https://example.com/p#not?a=query", "https://example.com/p"),
        ("@target-uri", "https://example.com?q", "https://example.com/?q"),
        ("@target-uri", "https://user:pw@example.com/p", "https://example.com/p"),
        ("@authority", "https://Example.COM:443/", "example.com"),
        ("@authority", "http://example.com:80/", "example.com"),
        ("@authority", "http://example.com:443/", "example.com:443"),
        ("@authority", "https://[2001:DB8::1]:8443/", "[2001:db8::1]:8443"),
        ("@authority", "https://[2001:db8::1]/", "[2001:db8::1]"),
        ("@scheme", "HTTPS://example.com/", "https"),
        ("@scheme", "http://example.com/", "http"),
        ("@request-target", "https://example.com/p/q?a=b", "/p/q?a=b"),
        ("@request-target", "https://example.com", "/"),
        ("@path", "https://example.com/p/%2F/q?a=b", "/p/%2F/q"),
        ("@path", "https://example.com?a=b", "/"),
        ("@query", "https://example.com/p?param=Value&Pet=dog", "?param=Value&Pet=dog"),
        ("@query", "https://example.com/p", "?"),
        ("@query", "https://example.com/p?", "?"),
    ],
)
def test_derived_components_follow_rfc9421_section_2_2(
    component: str, url: str, value: str
) -> None:
    assert _base_line(component, url) == value


def test_header_fields_are_case_insensitive_trimmed_unfolded_and_combined() -> None:
    headers = {"X-Thing": "  a,  b \t", "x-thing": "c", "X-Folded": "one\r\n  two"}
    assert _base_line("x-thing", URL, headers) == "a,  b, c"
    assert _base_line("x-folded", URL, headers) == "one two"


@pytest.mark.parametrize(
    ("component", "headers", "match"),
    [
        ("x-missing", {}, "lacks"),
        ("X-Upper", {"X-Upper": "v"}, "not a lowercase component name"),
        ('"quoted"', {}, "not a lowercase component name"),
        ("@query-param", {}, "does not support"),
        ("@status", {}, "does not support"),
        ("@signature-params", {}, "does not support"),
        ("x-inject", {"X-Inject": 'v\n"@method": GET'}, "cannot carry"),
        ("x-inject", {"X-Inject": "v\rw"}, "cannot carry"),
        ("x-latin", {"X-Latin": "caf\u00e9"}, "cannot carry"),
    ],
)
def test_components_a_base_cannot_carry_are_refused(
    component: str, headers: dict[str, str], match: str
) -> None:
    with pytest.raises(BadSignatureError, match=match):
        signature_base(method="GET", url=URL, headers=headers, components=(component,), params="()")


@pytest.mark.parametrize(
    ("method", "url", "match"),
    [
        ("GET\nX", URL, "method holds characters"),
        ("GET", "https://example.com/a\nb", "URL holds characters"),
        ("GET", "https://exämple.com/", "URL holds characters"),
        ("GET", "/relative/path", "not absolute"),
        ("GET", "//example.com/no/scheme", "not absolute"),
        ("GET", "mailto:someone@example.com", "not absolute"),
        ("GET", "https://[::1/", "cannot be parsed"),
    ],
)
def test_methods_and_urls_a_base_cannot_carry_are_refused(
    method: str, url: str, match: str
) -> None:
    with pytest.raises(BadSignatureError, match=match):
        signature_base(method=method, url=url, headers={}, components=COVERED[:2], params="()")


def test_a_component_covered_twice_is_refused() -> None:
    with pytest.raises(BadSignatureError, match="covers @method twice"):
        signature_base(
            method="GET", url=URL, headers={}, components=("@method", "@method"), params="()"
        )


# --- Our profile: what verifies ------------------------------------------------------------


def test_a_signed_request_verifies_and_says_who_signed_when_with_which_nonce() -> None:
    headers = _signed()
    assert set(headers) == {"Content-Type", "Content-Digest", "Signature-Input", "Signature"}
    assert headers["Content-Digest"] == content_digest(BODY)
    assert headers["Signature-Input"] == (
        'sig=("@method" "@target-uri" "content-digest");created=1800000000;nonce="n-0001"'
        f';keyid="{KEY.public.key_id}";alg="ed25519"'
    )
    assert _verify(headers) == SignedBy(KEY.public, KEY.public.key_id, NOW, "n-0001")


def test_header_names_may_come_in_any_case() -> None:
    headers = _signed()
    assert _verify({name.upper(): value for name, value in headers.items()}).key == KEY.public
    assert _verify({name.lower(): value for name, value in headers.items()}).key == KEY.public


def test_a_signature_covering_more_than_the_profile_in_any_order_verifies() -> None:
    components = ("content-type", "content-digest", "@target-uri", "@method", "@authority")
    params = f';created={NOW};keyid="{KEY.public.key_id}";nonce="n"'
    assert _verify(_forged(components, params)).nonce == "n"


@pytest.mark.parametrize("skew", [-WINDOW_SECONDS, 0, WINDOW_SECONDS])
def test_created_at_the_edges_of_the_window_verifies(skew: int) -> None:
    assert _verify(_signed(), now=NOW - skew).created == NOW


_METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]) | st.from_regex(
    r"[A-Z][A-Z-]{0,11}", fullmatch=True
)
_PATH_CHARS = st.sampled_from([*"abcXYZ019-._~!$&'()*+,;=:@", "%2F", "%20", "/"])
_URLS = st.builds(
    lambda scheme, host, port, path, query: f"{scheme}://{host}{port}{path}{query}",
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,12}(\.[a-z]{2,6}){0,2}", fullmatch=True)
    | st.sampled_from(["127.0.0.1", "[::1]", "[2001:DB8::1]"]),
    st.sampled_from(["", ":80", ":443", ":8443", ":1"]),
    st.lists(_PATH_CHARS, max_size=12).map(lambda chars: ("/" + "".join(chars)) if chars else ""),
    st.none().map(lambda _: "")
    | st.lists(st.sampled_from([*"abc=&+", "%3D", "/", "?"]), max_size=10).map(
        lambda chars: "?" + "".join(chars)
    ),
)


@given(
    method=_METHODS,
    url=_URLS,
    body=st.binary(max_size=512),
    skew=st.integers(-WINDOW_SECONDS, WINDOW_SECONDS),
    nonce=st.from_regex(r"[ -~]{1,40}", fullmatch=True),
)
def test_any_signed_request_verifies_within_the_window(
    method: str, url: str, body: bytes, skew: int, nonce: str
) -> None:
    headers = _signed(method=method, url=url, body=body, nonce=nonce)
    signed = _verify(headers, method=method, url=url, body=body, now=NOW + skew)
    assert (signed.key_id, signed.created, signed.nonce) == (KEY.public.key_id, NOW, nonce)


# --- Our profile: what is refused ----------------------------------------------------------


def test_a_changed_body_is_refused_by_its_digest() -> None:
    with pytest.raises(ContentDigestError, match="not the SHA-256 of its body"):
        _verify(_signed(), body=BODY + b" ")


def test_a_removed_digest_is_refused() -> None:
    headers = _signed()
    del headers["Content-Digest"]
    with pytest.raises(ContentDigestError, match="has no Content-Digest"):
        _verify(headers)


def test_a_digest_recomputed_for_a_changed_body_breaks_the_signature() -> None:
    changed = b'{"work": "wrk_2", "purposes": ["train-ai"]}'
    headers = _signed() | {"Content-Digest": content_digest(changed)}
    with pytest.raises(BadSignatureError, match=f"signature by key {KEY.public.key_id}"):
        _verify(headers, body=changed)


@pytest.mark.parametrize("method", ["PUT", "GET", "post", "POST "])
def test_a_changed_method_is_refused(method: str) -> None:
    with pytest.raises(BadSignatureError):
        _verify(_signed(), method=method)


@pytest.mark.parametrize(
    "url",
    [
        "https://registry.example:8443/v1/grants/x?owner=own_1&page=2",  # path
        "https://registry.example:8443/V1/grants?owner=own_1&page=2",  # path case
        "https://registry.example:8443/v1/grants?owner=own_2&page=2",  # query value
        "https://registry.example:8443/v1/grants?page=2&owner=own_1",  # query order
        "https://registry.example:8443/v1/grants",  # query dropped
        "https://registry.example:8443/v1/grants?owner=own_1&page=2&",  # query extended
        "https://evil.example:8443/v1/grants?owner=own_1&page=2",  # host
        "https://registry.example:9443/v1/grants?owner=own_1&page=2",  # port
        "https://registry.example/v1/grants?owner=own_1&page=2",  # port dropped
        "http://registry.example:8443/v1/grants?owner=own_1&page=2",  # scheme
    ],
)
def test_a_changed_url_is_refused(url: str) -> None:
    with pytest.raises(BadSignatureError, match="not over the method, URL and body"):
        _verify(_signed(), url=url)


def test_a_request_signed_too_long_ago_is_stale() -> None:
    with pytest.raises(StaleRequestError, match="signed 301 s ago, outside the 300 s allowed"):
        _verify(_signed(), now=NOW + WINDOW_SECONDS + 1)


def test_a_request_dated_too_far_ahead_is_stale() -> None:
    with pytest.raises(StaleRequestError, match="signed 301 s in the future, outside"):
        _verify(_signed(), now=NOW - WINDOW_SECONDS - 1)


def test_the_window_is_the_callers() -> None:
    with pytest.raises(StaleRequestError, match="outside the 10 s allowed"):
        verify_request(
            method="POST",
            url=URL,
            headers=_signed(),
            body=BODY,
            key_for=KEYS.get,
            now=NOW + 11,
            window=10,
        )


def test_an_unregistered_key_is_unknown() -> None:
    with pytest.raises(UnknownKeyError, match=STRANGER.public.key_id):
        _verify(_signed(key=STRANGER))


def test_a_keyid_swapped_to_another_registered_key_does_not_verify() -> None:
    headers = _signed()
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        KEY.public.key_id, OTHER.public.key_id
    )
    with pytest.raises(BadSignatureError, match=f"by key {OTHER.public.key_id}") as raised:
        _verify(headers)
    assert KEY.public.hex not in str(raised.value)
    assert OTHER.public.hex not in str(raised.value)


def test_a_signature_by_another_registered_key_under_our_keyid_does_not_verify() -> None:
    mine, theirs = _signed(), _signed(key=OTHER)
    with pytest.raises(BadSignatureError):
        _verify(mine | {"Signature": theirs["Signature"]})


@pytest.mark.parametrize("header", ["Signature", "Signature-Input"])
def test_a_missing_signature_header_is_refused(header: str) -> None:
    headers = _signed()
    del headers[header]
    with pytest.raises(BadSignatureError, match="no Signature-Input or no Signature"):
        _verify(headers)


def test_an_unsigned_request_is_refused() -> None:
    with pytest.raises(BadSignatureError, match="no Signature-Input"):
        _verify({"Content-Digest": content_digest(BODY)})


@pytest.mark.parametrize(
    "components",
    [
        ("@method", "@target-uri"),
        ("@method", "content-digest"),
        ("@target-uri", "content-digest"),
        ("@method", "@authority", "@path", "@query", "content-digest"),
    ],
)
def test_a_signature_not_covering_the_profile_is_refused(components: tuple[str, ...]) -> None:
    params = f';created={NOW};nonce="n";keyid="{KEY.public.key_id}";alg="ed25519"'
    with pytest.raises(BadSignatureError, match="does not cover"):
        _verify(_forged(components, params))


_KEYID = f'keyid="{KEY.public.key_id}"'


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (f';nonce="n";{_KEYID}', "no integer created"),
        (f';created="{NOW}";nonce="n";{_KEYID}', "no integer created"),
        (f';created=?1;nonce="n";{_KEYID}', "no integer created"),
        (f';created={NOW}.0;nonce="n";{_KEYID}', "no integer created"),
        (f";created={NOW};{_KEYID}", "no string nonce"),
        (f";created={NOW};nonce=n;{_KEYID}", "no string nonce"),
        (f';created={NOW};nonce="n"', "no string keyid"),
        (f';created={NOW};nonce="n";keyid=x', "no string keyid"),
        (f';created={NOW};nonce="n";{_KEYID};alg="rsa-pss-sha512"', "not ed25519"),
        (f';created={NOW};nonce="n";{_KEYID};alg="hmac-sha256"', "not ed25519"),
        (f';created={NOW};nonce="n";{_KEYID};alg=ed25519', "not ed25519"),
    ],
)
def test_signature_parameters_outside_the_profile_are_refused(params: str, match: str) -> None:
    with pytest.raises(BadSignatureError, match=match):
        _verify(_forged(COVERED, params))


def test_two_signatures_are_refused() -> None:
    mine, theirs = _signed(), _signed(key=OTHER, nonce="n-0002")
    headers = mine | {
        "Signature-Input": mine["Signature-Input"]
        + ", "
        + theirs["Signature-Input"].replace("sig=", "two=", 1),
        "Signature": mine["Signature"] + ", " + theirs["Signature"].replace("sig=", "two=", 1),
    }
    with pytest.raises(BadSignatureError, match="carries 2 signatures; send one"):
        _verify(headers)


def test_two_signatures_in_repeated_fields_are_refused() -> None:
    mine, theirs = _signed(), _signed(key=OTHER, nonce="n-0002")
    headers = mine | {
        "signature-input": theirs["Signature-Input"].replace("sig=", "two=", 1),
        "signature": theirs["Signature"].replace("sig=", "two=", 1),
    }
    with pytest.raises(BadSignatureError, match="carries 2 signatures"):
        _verify(headers)


def test_a_label_in_one_header_and_not_the_other_is_refused() -> None:
    headers = _signed()
    headers["Signature"] = headers["Signature"].replace("sig=", "other=", 1)
    with pytest.raises(BadSignatureError, match=r"labels \['sig'\] but Signature has \['other'\]"):
        _verify(headers)


@pytest.mark.parametrize(
    ("header", "value", "match"),
    [
        ("Signature", 'sig="not bytes"', "not a byte sequence"),
        ("Signature", "sig=(:AAAA:)", "not a byte sequence"),
        ("Signature-Input", 'sig="@method"', "not a list of quoted component names"),
        ("Signature-Input", "sig=(@method)", "not a structured"),
        ("Signature-Input", "sig=(method target)", "not a list of quoted component names"),
        ("Signature-Input", 'sig=("@method" "@target-uri" "content-digest";sf)', "not a list"),
        ("Signature-Input", 'sig=("@method" "@target-uri" ("content-digest"))', "not a struct"),
        ("Signature-Input", "Sig=()", "not a structured"),
        ("Signature", "sig=:AAAA", "not a structured"),
    ],
)
def test_malformed_signature_headers_are_refused(header: str, value: str, match: str) -> None:
    with pytest.raises(BadSignatureError, match=match):
        _verify(_signed() | {header: value})


@given(st.data())
def test_any_flipped_bit_in_the_signature_is_refused(data: st.DataObject) -> None:
    headers = _signed()
    raw = bytearray(base64.b64decode(headers["Signature"].removeprefix("sig=:").removesuffix(":")))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    headers["Signature"] = f"sig=:{base64.b64encode(raw).decode()}:"
    with pytest.raises(BadSignatureError):
        _verify(headers)


def test_the_order_of_refusals_is_profile_digest_key_time_signature() -> None:
    stale_stranger = _signed(key=STRANGER)
    # Bad coverage outranks a bad digest; a bad digest outranks an unknown key; an
    # unknown key outranks a stale time; a stale time outranks a bad signature.
    uncovered = _forged(("@method", "@target-uri"), f';created={NOW};nonce="n";{_KEYID}')
    with pytest.raises(BadSignatureError, match="does not cover"):
        _verify(uncovered, body=b"other")
    with pytest.raises(ContentDigestError):
        _verify(stale_stranger, body=b"other")
    with pytest.raises(UnknownKeyError):
        _verify(stale_stranger, now=NOW + 10 * WINDOW_SECONDS)
    with pytest.raises(StaleRequestError):
        _verify(_signed(), url=URL + "x", now=NOW + 10 * WINDOW_SECONDS)


_HEADERS_UNDER_ATTACK = st.sampled_from(["Signature-Input", "Signature", "Content-Digest"])


@given(header=_HEADERS_UNDER_ATTACK, garbage=st.text())
def test_garbage_in_a_signature_header_raises_only_a_signature_refusal(
    header: str, garbage: str
) -> None:
    with pytest.raises(RequestSignatureError):
        _verify(_signed() | {header: garbage})


@given(header=_HEADERS_UNDER_ATTACK, data=st.data())
def test_any_edit_of_a_signature_header_raises_only_a_signature_refusal(
    header: str, data: st.DataObject
) -> None:
    headers = _signed()
    text = headers[header]
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 8)))
    insert = data.draw(st.text(st.sampled_from('();=:,"@ -*?0123456789abc\\%'), max_size=6))
    edited = text[:start] + insert + text[end:]
    if edited == text:
        return
    try:
        _verify(headers | {header: edited})
    except RequestSignatureError:
        pass
    else:
        # Only an edit that leaves the same structured value may pass: added spaces, or
        # base64 that decodes to the same bytes (RFC 9651 §4.2.7 lets parsers accept it).
        assert _reserialised(edited) == _reserialised(text)


def _reserialised(field: str) -> str:
    parsed = Dictionary()
    parsed.parse(field.encode("ascii"))
    return str(parsed)


def test_signing_refuses_a_label_or_nonce_no_structured_field_can_carry() -> None:
    for label, nonce in [("Sig", "n"), ("a b", "n"), ("sig", "caf\u00e9"), ("sig", "a\nb")]:
        with pytest.raises(InputError):
            sign_request(
                method="POST",
                url=URL,
                headers={},
                body=BODY,
                signer=KEY,
                created=NOW,
                nonce=nonce,
                label=label,
            )


# --- Interoperability with the independent http-message-signatures package ----------------


@dataclasses.dataclass
class _Message:
    """The request shape http-message-signatures reads: method, encoded URL, headers."""

    method: str
    url: str
    headers: dict[str, str]


def _their_signer(pair: KeyPair, private: Ed25519PrivateKey) -> hms.HTTPMessageSigner:
    resolver = hms.MappingKeyResolver(public_keys={}, private_keys={pair.public.key_id: private})
    return hms.HTTPMessageSigner(signature_algorithm=hms.algorithms.ED25519, key_resolver=resolver)


def _their_verifier(public: PublicKey) -> hms.HTTPMessageVerifier:
    resolver = hms.MappingKeyResolver(
        public_keys={public.key_id: Ed25519PublicKey.from_public_bytes(public.raw)},
        private_keys={},
    )
    return hms.HTTPMessageVerifier(
        signature_algorithm=hms.algorithms.ED25519, key_resolver=resolver
    )


_THEIR_PRIVATE = Ed25519PrivateKey.generate()
THEIRS = KeyPair(_THEIR_PRIVATE)


def _signed_by_them(method: str, url: str, body: bytes, *, created: int = NOW) -> _Message:
    message = _Message(method, url, {"Content-Type": "application/json"})
    _their_signer(THEIRS, _THEIR_PRIVATE).sign(
        message,
        key_id=THEIRS.public.key_id,
        created=datetime.fromtimestamp(created, tz=UTC),
        nonce="their-nonce",
        label="pyhms",
        covered_component_ids=COVERED,
        body=body,
    )
    return message


def test_a_request_signed_by_http_message_signatures_verifies_here() -> None:
    prepared = requests.Request(
        "POST", URL, data=BODY, headers={"Content-Type": "application/json"}
    ).prepare()
    _their_signer(THEIRS, _THEIR_PRIVATE).sign(
        prepared,
        key_id=THEIRS.public.key_id,
        created=datetime.fromtimestamp(NOW, tz=UTC),
        nonce="their-nonce",
        covered_component_ids=COVERED,
        body=BODY,
    )
    assert isinstance(prepared.method, str) and isinstance(prepared.url, str)
    signed = verify_request(
        method=prepared.method,
        url=prepared.url,
        headers=dict(prepared.headers),
        body=BODY,
        key_for={THEIRS.public.key_id: THEIRS.public}.get,
        now=NOW,
    )
    assert signed == SignedBy(THEIRS.public, THEIRS.public.key_id, NOW, "their-nonce")
    with pytest.raises(ContentDigestError):
        verify_request(
            method=prepared.method,
            url=prepared.url,
            headers=dict(prepared.headers),
            body=BODY + b"x",
            key_for={THEIRS.public.key_id: THEIRS.public}.get,
            now=NOW,
        )


def test_a_request_signed_here_verifies_with_http_message_signatures() -> None:
    created = int(time.time())  # their verifier checks created against the real clock
    prepared = requests.Request(
        "POST", URL, data=BODY, headers={"Content-Type": "application/json"}
    ).prepare()
    assert isinstance(prepared.method, str) and isinstance(prepared.url, str)
    prepared.headers.update(
        sign_request(
            method=prepared.method,
            url=prepared.url,
            headers=dict(prepared.headers),
            body=BODY,
            signer=KEY,
            created=created,
            nonce="our-nonce",
        )
    )
    [result] = _their_verifier(KEY.public).verify(prepared, require_components=COVERED, body=BODY)
    assert result.parameters == {
        "created": created,
        "nonce": "our-nonce",
        "keyid": KEY.public.key_id,
        "alg": "ed25519",
    }
    assert result.body == BODY
    prepared.headers["Content-Digest"] = content_digest(b"tampered")
    with pytest.raises(hms.InvalidSignature):
        _their_verifier(KEY.public).verify(prepared, require_components=COVERED, body=b"tampered")


@given(method=_METHODS, url=_URLS, body=st.binary(max_size=256))
def test_their_signatures_and_ours_agree_on_any_request(method: str, url: str, body: bytes) -> None:
    theirs = _signed_by_them(method, url, body)
    signed = verify_request(
        method=method,
        url=url,
        headers=theirs.headers,
        body=body,
        key_for={THEIRS.public.key_id: THEIRS.public}.get,
        now=NOW,
    )
    assert signed.nonce == "their-nonce"
    created = int(time.time())
    ours = _Message(method, url, {})
    ours.headers.update(
        sign_request(
            method=method, url=url, headers={}, body=body, signer=KEY, created=created, nonce="n"
        )
    )
    _their_verifier(KEY.public).verify(ours, require_components=COVERED, body=body)
