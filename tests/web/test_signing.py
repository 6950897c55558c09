"""Signing in the browser: its RFC 9421 requests are byte for byte the CLI's and verify
in Python; what its client signs in a change is what the Python client signs (and a
registry asking for anything else gets nothing); and a change made from a page asks
the person first, in words, signs nothing when they cancel, and commits signed by
their own key when they sign, as Python verifies."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from consentry import app
from consentry.client.http import _Expected, _signable
from consentry.client.registry import (
    _asks,
    _counter_expected,
    _grant_expected,
    _grants,
    _revokes,
)
from consentry.clock import format_time, parse_time
from consentry.crypto import KeyPair, PublicKey, canonical_json
from consentry.crypto.httpsig import signature_base, verify_request
from consentry.crypto.signing import SignedEnvelope, verify_document
from consentry.errors import BadSignatureError, RequestSignatureError
from consentry.registry import EventKind, LicenseRequest, PartyKind
from consentry.store.models import TermsRow
from tests.web.conftest import Site, inspect_page
from tests.web.test_keys import signed_up_with_key

HTTPSIG = "/static/js/httpsig.js"


def _js(page: Page, module: str, body: str, arg: Any = None) -> Any:
    """Run ``body`` (an async function body with the module as ``m`` and ``arg``) in
    the page, the module imported as the page imports it."""
    return page.evaluate(f"async (arg) => {{ const m = await import('{module}'); {body} }}", arg)


BASES: list[dict[str, Any]] = [
    {"method": "POST", "url": "http://127.0.0.1:8765/v1/owners",
     "headers": {"Content-Digest": "sha-256=:x:"}},
    {"method": "GET", "url": "https://Registry.Example:443/v1/works?owner=own_a&limit=5#top",
     "headers": {"content-digest": "sha-256=:y:"}},
    {"method": "PUT", "url": "http://user:pw@[::1]:80/v1/terms/own_a?",
     "headers": {"Content-Digest": " a \r\n  b ", "CONTENT-DIGEST": "c"}},
    {"method": "POST", "url": "HTTP://host:8080", "headers": {"content-digest": "d"}},
    {"method": "POST", "url": "http://h/p", "headers": {"content-digest": "line\nbreak"}},
    {"method": "POST", "url": "/relative", "headers": {"content-digest": "d"}},
    {"method": "POST", "url": "http://h/p", "headers": {}},
    {"method": "POST", "url": "http://h/p", "headers": {"content-digest": "d"},
     "components": ["@method", "@method"]},
    {"method": "POST", "url": "http://h/p", "headers": {"content-digest": "d"},
     "components": ["@authority", "@scheme", "@request-target", "@path", "@query"]},
    {"method": "POST", "url": "http://h/p", "headers": {"content-digest": "d"},
     "components": ["@status"]},
]  # fmt: skip


def test_the_browsers_signature_base_is_pythons(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/sign-in")
    params = '("@method" "@target-uri" "content-digest");created=1;nonce="n";keyid="k"'
    for case in BASES:
        components = case.get("components", ["@method", "@target-uri", "content-digest"])
        given = {**case, "components": components, "params": params}
        try:
            expected: str | None = signature_base(**given).decode("ascii")
        except BadSignatureError:
            expected = None
        found = _js(
            page,
            HTTPSIG,
            "try { return new TextDecoder().decode(m.signatureBase(arg)); }"
            " catch (e) { if (e instanceof m.SignatureError) return null; throw e; }",
            given,
        )
        assert found == expected, case


def test_a_request_signed_in_the_browser_is_the_clis_and_verifies(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/sign-in")
    key = KeyPair.generate()
    url = f"{site.url}/v1/terms/own_aaaaaaaaaaaaaaaa"
    body = json.dumps({"terms": {"version": 1, "note": "é"}}, ensure_ascii=False).encode()
    from consentry.crypto.httpsig import sign_request

    python = sign_request(method="PUT", url=url, headers={"content-type": "application/json"},
                          body=body, signer=key, created=1_900_000_000, nonce='a"b\\c')  # fmt: skip
    browser = _js(
        page,
        HTTPSIG,
        "const k = await import('/static/js/keys.js');"
        " const key = await k.importPem(arg.pem);"
        " return {keyId: key.keyId, headers: await m.signRequest({method: 'PUT', url: arg.url,"
        " headers: {'content-type': 'application/json'}, body: new TextEncoder().encode(arg.body),"
        " key, created: 1900000000, nonce: 'a\"b\\\\c'})};",
        {"pem": key.to_pem().decode(), "url": url, "body": body.decode()},
    )
    assert browser["keyId"] == key.public.key_id
    assert browser["headers"] == python  # Ed25519 is deterministic: the same bytes

    # A key made by WebCrypto signs a request Python's verifier accepts, now.
    made = _js(
        page,
        HTTPSIG,
        "const k = await import('/static/js/keys.js'); const key = await k.generateKey();"
        " const headers = await m.signRequest({method: 'POST', url: arg, body: '{}', key});"
        " return {headers, hex: key.publicKeyHex, keyId: key.keyId,"
        " created: Math.floor(Date.now() / 1000)};",
        url,
    )
    public = PublicKey.from_hex(made["hex"])
    assert public.key_id == made["keyId"]
    signed = verify_request(method="POST", url=url, headers=made["headers"], body=b"{}",
                            key_for={public.key_id: public}.get, now=made["created"])  # fmt: skip
    assert signed.key == public and len(signed.nonce) == 22
    for tampered in (b'{"a":1}', b""):
        try:
            verify_request(method="POST", url=url, headers=made["headers"], body=tampered,
                           key_for={public.key_id: public}.get, now=made["created"])  # fmt: skip
        except RequestSignatureError:
            pass
        else:
            raise AssertionError(f"a body changed to {tampered!r} verified")


# -- what the client signs, in both languages ------------------------------------------

ADA = "own_aaaaaaaaaaaaaaaa"
MALLORY = "own_bbbbbbbbbbbbbbbb"
DIGEST = "a" * 64
KEY = KeyPair.generate()
WORK = {"type": "consentry.work", "id": "wrk_cccccccccccccccc", "owner": ADA,
        "collection": None, "path": "poems/river.txt", "digest": DIGEST}  # fmt: skip


def _document(kind: str, body: dict[str, Any]) -> bytes:
    return f"consentry/{kind}/v1\n".encode() + canonical_json(body)


def _event(
    kind: EventKind, actor: str, payload: dict[str, Any], subject: str = "wrk_cccccccccccccccc"
) -> bytes:
    at = "2026-12-02T00:00:00.000000Z"
    body = {"type": "consentry.event", "version": 1, "event": kind.value, "actor": actor,
            "subject": subject, "at": at, "payload": payload}  # fmt: skip
    return _document("event", body)


def _leaf(kind: EventKind) -> bytes:
    return b"consentry/log-leaf/v1\n" + canonical_json(
        {"type": "consentry.log-leaf", "version": 1, "event": kind.value, "actor": "00" * 32,
         "at": "2026-12-02T00:00:00.000000Z", "subject": "11" * 32, "content": "22" * 32}
    )  # fmt: skip


def _cases() -> list[dict[str, Any]]:
    """Rounds as a registry might ask them: each with what the change expects (the
    documents by the fields they must hold) and the documents signed before."""
    document = _document("work", WORK)
    signature = base64.b64encode(KEY.sign(document)).decode()
    signed = {signature: canonical_json(WORK)}
    ready = _event(EventKind.WORK_REGISTERED, ADA, {"work": WORK, "signature": signature})
    waiting = _event(EventKind.WORK_REGISTERED, ADA, {"work": WORK, "signature": "AAAA"})
    swapped = _event(EventKind.WORK_REGISTERED, ADA,
                     {"work": {**WORK, "path": "elsewhere"}, "signature": signature})  # fmt: skip
    works = {"party": ADA, "events": ["work.registered"],
             "documents": {"work": {"owner": ADA, "digest": DIGEST}}}  # fmt: skip
    deny = {"party": ADA, "events": ["request.denied"], "documents": {},
            "subjects": ["req_eeeeeeeeeeeeeeee"]}  # fmt: skip
    leaf = _leaf(EventKind.WORK_REGISTERED)
    rounds: list[tuple[list[bytes], dict[str, bytes], dict[str, Any]]] = [
        ([document, waiting, leaf], {}, works),
        ([ready, leaf], signed, works),
        ([swapped, leaf], signed, works),
        ([_event(EventKind.REQUEST_DENIED, ADA, {"request": "r"}, "req_eeeeeeeeeeeeeeee")], {},
         deny),
        ([_event(EventKind.REQUEST_DENIED, ADA, {"request": "r"}, "req_ffffffffffffffff")], {},
         deny),
        ([document, _document("work", {**WORK, "digest": "b" * 64})], {}, works),
        ([document, _document("grant", {"owner": ADA})], {}, works),
        ([_event(EventKind.WORK_REGISTERED, MALLORY, {})], {}, works),
        ([_event(EventKind.GRANT_ISSUED, ADA, {})], {}, works),
        ([_leaf(EventKind.GRANT_REVOKED)], {}, works),
        ([b"consentry/log-leaf/v1\nnot json"], {}, works),
        ([b"anything else at all"], {}, works),
        ([document[:-1]], {}, works),
        ([b"consentry/work/v1\n[1, 2]"], {}, works),
        ([b"consentry/event/v1\n\xff\xfe"], {}, works),
        ([_event(EventKind.WORK_REGISTERED, ADA, {"work": WORK, "signature": 7})], {}, works),
    ]  # fmt: skip
    return [
        {"messages": [base64.b64encode(m).decode() for m in messages],
         "made": {sig: base64.b64encode(body).decode() for sig, body in made.items()},
         "expected": expected}
        for messages, made, expected in rounds
    ]  # fmt: skip


def _python_signs(case: dict[str, Any]) -> list[int]:
    config = case["expected"]
    documents = {
        kind: (lambda d, fields=fields: all(d.get(k) == v for k, v in fields.items()))
        for kind, fields in config["documents"].items()
    }
    subjects = config.get("subjects")
    expected = _Expected(
        config["party"],
        frozenset(EventKind(e) for e in config["events"]),
        documents,
        None if subjects is None else frozenset(subjects),
    )
    messages = [base64.b64decode(m) for m in case["messages"]]
    made = {sig: base64.b64decode(body) for sig, body in case["made"].items()}
    chosen = _signable(messages, made, expected)
    return [messages.index(m) for m in chosen]


def test_the_browser_signs_exactly_what_the_python_client_signs(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/sign-in")
    cases = _cases()
    browser = _js(
        page,
        "/static/js/changes.js",
        "const h = await import('/static/js/httpsig.js');"
        " return arg.map((c) => {"
        "  const x = c.expected;"
        "  const documents = Object.fromEntries(Object.entries(x.documents).map(([kind, fields]) =>"
        "   [kind, (d) => Object.entries(fields).every(([k, v]) => d[k] === v)]));"
        "  const expected = new m.Expected(x.party, x.events, documents, x.subjects ?? null);"
        "  const messages = c.messages.map(h.base64ToBytes);"
        "  const made = new Map(Object.entries(c.made).map(([s, b]) => [s, h.base64ToBytes(b)]));"
        "  return m.signable(messages, made, expected).map((s) => messages.indexOf(s));"
        " });",
        cases,
    )
    python = [_python_signs(case) for case in cases]
    assert browser == python
    # The rounds above sign something in four cases, and nothing in the rest.
    assert [bool(chosen) for chosen in python] == [True, True] + [False] + [True] + [False] * 12


# -- what a grant, a request, a counter-offer and a revocation must say, in both languages

LAB = "lic_dddddddddddddddd"
LAB_KEY = KeyPair.generate().public.hex
REQUEST = "req_eeeeeeeeeeeeeeee"
PRICE = {"per": "work", "amount": "0.05", "currency": "EUR"}


def _asked(now: datetime, **changed: Any) -> dict[str, Any]:
    """A pending request as the owner reads it (``LicenseRequest.to_json``), made an hour ago."""
    hour_ago = format_time(now - timedelta(hours=1))
    return {"id": REQUEST, "state": "pending", "licensee_id": LAB, "owner_id": ADA,
            "scope": {"kind": "owner", "ids": [ADA]}, "purposes": ["train-ai"],
            "not_before": hour_ago, "not_after": None, "offer": PRICE, "commercial": True,
            "counter": None, "note": None, "created_at": hour_ago, **changed}  # fmt: skip


def _grant_cases(now: datetime) -> list[dict[str, Any]]:
    """Grant documents a registry might ask the owner to sign, each with the request
    the owner reads and the owner's published price."""
    asked = _asked(now)
    good = {"type": "consentry.grant", "version": 1, "id": "grt_gggggggggggggggg",
            "request": REQUEST, "owner": ADA, "licensee": LAB, "licensee_key": LAB_KEY,
            "scope": {"kind": "owner", "ids": [ADA]}, "purposes": ["train-ai"],
            "not_before": asked["not_before"], "not_after": None, "price": PRICE,
            "issued_at": format_time(now)}  # fmt: skip
    countered = _asked(now, state="accepted", counter={
        "purposes": ["search"], "not_after": "2027-12-01T00:00:00.000000Z",
        "price": {"per": "work", "amount": "1", "currency": "EUR"}})  # fmt: skip
    published = {"per": "work", "amount": "0.10", "currency": "EUR"}
    said_earlier = _asked(now, not_before=format_time(now - timedelta(days=400)))
    rows: list[tuple[dict[str, Any], dict[str, Any], Any]] = [
        (good, asked, None),
        ({**good, "not_before": format_time(now - timedelta(days=365))}, asked, None),
        ({**good, "not_before": "2020-01-01T00:00:00Z"}, asked, None),
        ({**good, "licensee_key": KeyPair.generate().public.hex}, asked, None),
        ({**good, "licensee_key": LAB_KEY.upper()}, asked, None),
        ({**good, "licensee": "lic_ffffffffffffffff"}, asked, None),
        ({**good, "issued_at": format_time(now - timedelta(minutes=6))}, asked, None),
        ({**good, "issued_at": format_time(now + timedelta(minutes=6))}, asked, None),
        ({**good, "id": "grt_GGGGGGGGGGGGGGGG"}, asked, None),
        ({**good, "version": True}, asked, None),
        ({**good, "type": "consentry.terms"}, asked, None),
        ({**good, "commercial": False}, asked, None),
        ({k: v for k, v in good.items() if k != "not_before"}, asked, None),
        ({**good, "price": None}, asked, None),
        ({**good, "price": published}, _asked(now, offer=None), published),
        ({**good, "price": PRICE}, _asked(now, offer=None), published),
        ({**good, "price": None}, _asked(now, offer=None), None),
        ({**good, "purposes": ["search"], "not_after": countered["counter"]["not_after"],
          "price": countered["counter"]["price"]}, countered, None),
        (good, countered, None),
        (good, _asked(now, state="countered"), None),
        (good, _asked(now, owner_id=MALLORY), None),
        ({**good, "not_before": said_earlier["not_before"]}, said_earlier, None),
    ]  # fmt: skip
    return [{"grant": g, "asked": a, "published": p} for g, a, p in rows]


def _python_grants(case: dict[str, Any], now: datetime) -> bool:
    expected = _grant_expected(LicenseRequest.from_json(case["asked"]), ADA,
                               licensee_key=LAB_KEY, published_price=case["published"])  # fmt: skip
    check = _Expected(ADA, frozenset({EventKind.GRANT_ISSUED}),
                      {"grant": lambda d: _grants(d, expected, now)})  # fmt: skip
    return bool(_signable([_document("grant", case["grant"])], {}, check))


def test_the_browser_signs_a_grant_exactly_when_the_python_client_does(
    page: Page, site: Site
) -> None:
    page.goto(f"{site.url}/sign-in")
    now = datetime.now(UTC)
    cases = _grant_cases(now)
    browser = _js(
        page,
        "/static/js/changes.js",
        "return arg.cases.map((c) => {"
        "  const expected = m.grantExpected(c.asked, arg.owner, arg.key, c.published);"
        "  const check = new m.Expected(arg.owner, ['grant.issued'],"
        "   {grant: (d) => m.grants(d, expected, arg.now)});"
        "  const message = new TextEncoder().encode('consentry/grant/v1\\n' +"
        "   m.canonicalJson(c.grant));"
        "  return m.signable([message], new Map(), check).length === 1;"
        " });",
        {"cases": cases, "owner": ADA, "key": LAB_KEY, "now": now.timestamp() * 1000},
    )
    python = [_python_grants(case, now) for case in cases]
    assert browser == python
    # The good grant, at the published price, free, and as countered; nothing else.
    signed = [i for i, yes in enumerate(python) if yes]
    assert signed == [0, 14, 16, 17]

    # The page's own grant change reads the request, the licensee's key and the terms
    # from the registry, and signs nothing backdated or bound to another key.
    answers = {f"/v1/requests/{REQUEST}": cases[0]["asked"],
               f"/v1/licensees/{LAB}": {"id": LAB, "public_key": LAB_KEY}}  # fmt: skip
    wired = _js(
        page,
        "/static/js/changes.js",
        "const expected = await m.OPERATIONS.grant.expect({params: {request_id: arg.id},"
        " partyId: arg.owner, read: async (path) => arg.answers[path]});"
        " return arg.grants.map((g) => m.signable([new TextEncoder().encode("
        "'consentry/grant/v1\\n' + m.canonicalJson(g))], new Map(), expected).length);",
        {
            "id": REQUEST,
            "owner": ADA,
            "answers": answers,
            "grants": [cases[0]["grant"], cases[1]["grant"], cases[3]["grant"]],
        },
    )
    assert wired == [1, 0, 0]
    # A registry answering another request than the one asked for gets nothing signed.
    other = {**answers, f"/v1/requests/{REQUEST}": _asked(now, id="req_ffffffffffffffff")}
    refused = _js(
        page,
        "/static/js/changes.js",
        "try { await m.OPERATIONS.grant.expect({params: {request_id: arg.id},"
        " partyId: arg.owner, read: async (path) => arg.answers[path]}); return null; }"
        " catch (e) { return e.message; }",
        {"id": REQUEST, "owner": ADA, "answers": other},
    )
    assert refused == (f"the registry answered another request than {REQUEST}; nothing was signed")


def test_the_browser_checks_requests_counters_and_revocations_as_python_does(
    page: Page, site: Site
) -> None:
    page.goto(f"{site.url}/sign-in")
    now = datetime.now(UTC)
    at = format_time(now)
    asked = {"type": "consentry.license-request", "version": 1, "licensee": LAB, "owner": ADA,
             "scope": {"kind": "owner", "ids": [ADA]}, "purposes": ["train-ai"],
             "not_after": None, "offer": PRICE, "commercial": True}  # fmt: skip
    made = {**asked, "id": REQUEST, "not_before": at, "created_at": at}
    earlier = format_time(now - timedelta(days=1))
    requests = [made, {**made, "owner": MALLORY}, {**made, "not_before": earlier},
                {**made, "not_before": earlier, "created_at": earlier},
                {**made, "id": "grt_gggggggggggggggg"}, {**made, "extra": 1}]  # fmt: skip
    revocation = {"type": "consentry.revocation", "version": 1, "id": "rev_hhhhhhhhhhhhhhhh",
                  "grant": "grt_gggggggggggggggg", "owner": ADA, "effective_at": at,
                  "reason": "ended"}  # fmt: skip
    later = "2027-12-01T00:00:00.000000Z"
    revocations = [(revocation, None), (revocation, later), ({**revocation, "effective_at": later},
                   later), ({**revocation, "effective_at": earlier}, None),
                   ({**revocation, "reason": None}, None), ({**revocation, "id": "rev_x"}, None),
                   ({**revocation, "grant": "grt_ffffffffffffffff"}, None)]  # fmt: skip
    givens = [{"purposes": None, "not_after": later, "price": None},
              {"purposes": ["search"], "not_after": None, "price": PRICE},
              {"purposes": [], "not_after": None, "price": None}]  # fmt: skip
    browser = _js(
        page,
        "/static/js/changes.js",
        "return {"
        " requests: arg.requests.map((d) => m.asks(d, arg.asked, arg.now)),"
        " revocations: arg.revocations.map(([d, when]) =>"
        "  m.revokes(d, 'grt_gggggggggggggggg', arg.owner, when, 'ended', arg.now)),"
        " counters: arg.givens.map((g) => m.counterExpected(g, arg.read)),"
        "};",
        {
            "requests": requests,
            "asked": asked,
            "revocations": revocations,
            "givens": givens,
            "owner": ADA,
            "now": now.timestamp() * 1000,
            "read": _asked(now),
        },
    )
    read = LicenseRequest.from_json(_asked(now))
    python = {
        "requests": [_asks(d, asked, now) for d in requests],
        "revocations": [
            _revokes(d, "grt_gggggggggggggggg", ADA, when, "ended", now) for d, when in revocations
        ],
        "counters": [_counter_expected(g, read) for g in givens],
    }
    assert browser == python
    assert python["requests"] == [True] + [False] * 5
    assert python["revocations"] == [True, False, True] + [False] * 4


def test_a_form_says_its_body_as_the_api_reads_it(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/sign-in")
    body = _js(
        page,
        "/static/js/changes.js",
        "const form = document.createElement('form');"
        " form.innerHTML = `<input name=csrf value=t><input name='offer.amount' value=' 0.05 '>"
        "<input name='offer.currency' value=EUR><input type=number name=n value=3>"
        "<input name=empty value=''><input name=doc data-json value='{\"a\":[1]}'>"
        "<input type=checkbox name=purposes data-list value=search checked>"
        "<input type=checkbox name=purposes data-list value=train-ai>"
        "<input type=checkbox name=purposes data-list value=data-mining checked>"
        "<input type=checkbox name=commercial><input type=checkbox name=flag checked>"
        "<input type=radio name=kind value=works><input type=radio name=kind value=owner checked>"
        "<select name=per><option value=work selected>w</option></select>"
        "<button type=submit name=go value=1>Go</button>`;"
        " return m.formBody(form);",
    )
    assert body == {
        "offer": {"amount": "0.05", "currency": "EUR"},
        "n": 3,
        "doc": {"a": [1]},
        "purposes": ["search", "data-mining"],
        "commercial": False,
        "flag": True,
        "kind": "owner",
        "per": "work",
    }


# -- a change made from a page -------------------------------------------------------------

TERMS = {
    "version": 1,
    "categories": {"train-ai": "deny", "search": "allow", "data-mining": "license"},
    "price": {"per": "work", "amount": "0.05", "currency": "EUR"},
    "conditions": {"attribution": "Ada Writer", "share_alike": True},
}


def _terms_form(page: Page, party: str, terms: dict[str, Any]) -> None:
    """A form as a terms page writes one, added to the page the person is on."""
    page.evaluate(
        "([party, terms]) => { const form = document.createElement('form');"
        " form.dataset.operation = 'put-terms'; form.setAttribute('data-param-target_id', party);"
        " form.innerHTML = `<input type=hidden name=terms data-json>"
        "<p class=error data-error role=alert></p><button type=submit>Publish my terms</button>`;"
        " form.querySelector('input').value = JSON.stringify(terms);"
        " document.querySelector('main').append(form); }",
        [party, terms],
    )


def _stored_terms(site: Site, party: str) -> list[SignedEnvelope]:
    engine = create_engine(site.settings.database_url)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(TermsRow).where(TermsRow.target_id == party)).all()
            return [
                SignedEnvelope.from_stored(
                    kind="terms", body=r.body, key_id=r.key_id, signature_b64=r.signature
                )
                for r in rows
            ]
    finally:
        engine.dispose()


def test_terms_published_from_a_page_are_signed_by_the_browsers_key(
    page: Page, site: Site, tmp_path: Path
) -> None:
    party = signed_up_with_key(page, site, tmp_path)
    _terms_form(page, party, TERMS)
    publish = page.get_by_role("button", name="Publish my terms")
    publish.click()
    dialog = page.get_by_role("dialog", name="Sign with your key?")
    expect(dialog).to_contain_text(
        "Publish your terms for all your works: training generative AI not allowed; search "
        "indexing allowed; data mining needs a licence; licence price 0.05 EUR per work; "
        "credit “Ada Writer”; share-alike."
    )
    expect(dialog).to_contain_text("public log saying terms published")
    # Terms are public: the dialog does not promise the log hides whose they are.
    expect(dialog).to_contain_text("the registry's log page shows this line as yours")
    inspect_page(page, "signing dialog for terms")
    # Escape cancels, as the Cancel button does: nothing is signed.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-error]")).to_have_text(
        "You cancelled: nothing was signed and nothing changed."
    )
    expect(publish).to_be_focused()
    publish.click()
    dialog.get_by_role("button", name="Cancel").click()
    assert _stored_terms(site, party) == []
    with app.Workspace(site.settings) as ws:
        assert app.show_terms(ws, party).layers == ()

    publish.click()
    with page.expect_navigation():  # the form reloads the page once the change is made
        dialog.get_by_role("button", name="Sign").click()
    expect(page.get_by_role("heading", name="Your signing key")).to_be_visible()
    with app.Workspace(site.settings) as ws:
        owner = {p.id: p for p in app.list_parties(ws, PartyKind.OWNER)}[party]
        # The registry verifies the owner's signature as it loads the terms.
        [layer] = app.show_terms(ws, party).layers
    assert layer.terms.to_json() == TERMS
    [envelope] = _stored_terms(site, party)
    signed = verify_document(envelope, PublicKey.from_hex(owner.public_key))
    assert (signed["owner"], signed["target"], signed["terms"]) == (party, party, TERMS)


def test_a_registry_asking_to_sign_another_change_gets_nothing(
    page: Page, site: Site, tmp_path: Path
) -> None:
    party = signed_up_with_key(page, site, tmp_path)
    # The page asks for terms on this owner; a registry that answers with a document
    # saying other terms, or terms for another owner, is refused before any dialog.
    other = {**TERMS, "categories": {"train-ai": "allow"}}
    for asked in (
        {"owner": party, "target": party, "terms": other},
        {"owner": MALLORY, "target": MALLORY, "terms": TERMS},
    ):
        refused = _js(
            page,
            "/static/js/changes.js",
            "const expected = await m.OPERATIONS['put-terms'].expect({body: {terms: arg.terms},"
            " params: {target_id: arg.party}, partyId: arg.party});"
            " const message = new TextEncoder().encode('consentry/terms/v1\\n' +"
            " m.canonicalJson(arg.asked));"
            " return m.signable([message], new Map(), expected).length;",
            {"party": party, "terms": TERMS, "asked": {"type": "consentry.terms", **asked}},
        )
        assert refused == 0
    assert _stored_terms(site, party) == []


def test_a_creator_grants_a_labs_request_from_a_page_and_the_lab_holds_it(
    page: Page, site: Site, tmp_path: Path
) -> None:
    party = signed_up_with_key(page, site, tmp_path)
    lab = site.party(tmp_path, "lab")
    lab_id = str(lab("licensee", "create", "Lab X", "--json").records()[0]["id"])
    asked = lab("license", "request", "--licensee", lab_id, "--owner", party, "--purpose",
                "train-ai", "--offer", "40.00 EUR", "--until", "2027-12-01", "--json")  # fmt: skip
    request_id = str(asked.records()[0]["id"])
    page.evaluate(
        "(id) => { const form = document.createElement('form');"
        " form.dataset.operation = 'grant'; form.setAttribute('data-param-request_id', id);"
        " form.dataset.done = '/account/key?granted={id}';"
        " form.innerHTML = `<p class=error data-error role=alert></p>"
        "<button type=submit>Grant this licence</button>`;"
        " document.querySelector('main').append(form); }",
        request_id,
    )
    page.get_by_role("button", name="Grant this licence").click()
    dialog = page.get_by_role("dialog", name="Sign with your key?")
    # The start in words: the day the lab asked, as the licence's first day.
    start = parse_time(str(asked.records()[0]["not_before"]), what="start")
    expect(dialog).to_contain_text(
        f"Grant Lab X ({lab_id}) a licence to train generative AI on all your works from "
        f"{start.day} {start:%b %Y} until 1 Dec 2027, for 40.00 EUR per work."
    )
    expect(dialog).to_contain_text("The log does not say who or what")  # grants are private
    with page.expect_navigation(url="**/account/key?granted=grt_*"):
        dialog.get_by_role("button", name="Sign").click()
    grant_id = page.url.rsplit("=", 1)[1]
    # The lab's own client reads the grant, its owner's signature verified on load.
    [listed] = [r for r in lab("license", "list", "--licensee", lab_id, "--json").records()
                if r.get("id") == grant_id]  # fmt: skip
    assert listed["owner_id"] == party and listed["licensee_id"] == lab_id
    assert listed["price"] == {"per": "work", "amount": "40.00", "currency": "EUR"}

    # Granted once: the registry refuses a second grant, and the page says why.
    page.evaluate(
        "(id) => { const form = document.createElement('form');"
        " form.dataset.operation = 'deny'; form.setAttribute('data-param-request_id', id);"
        " form.innerHTML = `<input name=reason value='Changed my mind'>"
        "<p class=error data-error role=alert></p><button type=submit>Deny it</button>`;"
        " document.querySelector('main').append(form); }",
        request_id,
    )
    page.get_by_role("button", name="Deny it").click()
    expect(page.locator("form[data-operation=deny] [data-error]")).to_contain_text("granted")
