"""Every request is its party's: each refusal of a signed request, met by a real signed
request over loopback, and what one party may not do to or see of another's."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import http_message_signatures as hms
import httpx
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from consentry import app
from consentry.api import ServiceOptions
from consentry.crypto import FileKeyStore, KeyPair
from consentry.crypto.httpsig import COVERED, sign_request
from consentry.registry import PartyKind
from consentry.store import open_engine
from tests.service.conftest import Served, serving

PROBLEM = "application/problem+json"


def send(
    http: httpx.Client,
    method: str,
    url: str,
    key: KeyPair | None,
    body: dict[str, Any] | None = None,
    *,
    created: int | None = None,
    nonce: str | None = None,
    tamper: Any = None,
) -> httpx.Response:
    """A request signed with ``key`` (unsigned with None); ``tamper(headers, content)``
    changes it after signing and returns what is sent instead."""
    content = b"" if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json"} if body is not None else {}
    if key is not None:
        headers.update(
            sign_request(
                method=method,
                url=url,
                headers=headers,
                body=content,
                signer=key,
                created=int(time.time()) if created is None else created,
                nonce=nonce or secrets.token_urlsafe(12),
            )
        )
    if tamper is not None:
        headers, content = tamper(headers, content)
    return http.request(method, url, headers=headers, content=content)


def problem(response: httpx.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    document = response.json()
    assert document["type"] == f"/problems/{kind}"
    assert document["status"] == status
    return str(document["detail"])


def _party(served: Served, root: Path, kind: str, name: str) -> tuple[str, KeyPair]:
    cli = served.party(root, name.lower())
    party_id = cli(kind, "create", name, "--json").records()[0]["id"]
    return party_id, FileKeyStore(cli.keys).load(party_id)


@pytest.fixture
def parties(served: Served, tmp_path: Path) -> dict[str, tuple[str, KeyPair]]:
    return {
        "ada": _party(served, tmp_path, "owner", "Ada"),
        "bea": _party(served, tmp_path, "owner", "Bea"),
        "lab": _party(served, tmp_path, "licensee", "Lab"),
        "rival": _party(served, tmp_path, "licensee", "Rival"),
    }


def _request(served: Served, who: tuple[str, KeyPair], owner: str) -> str:
    """A licence request made through its signing rounds, as the client makes it."""
    from consentry.client.http import RegistryClient
    from consentry.registry import EventKind

    client = RegistryClient(served.url)
    try:
        made = client.change(
            "POST",
            "/v1/requests",
            {"scope": {"kind": "owner", "ids": [owner]}, "purposes": ["train-ai"]},
            signer=who[1],
            party_id=who[0],
            events=frozenset({EventKind.REQUEST_CREATED}),
            documents={"license-request": lambda d: d.get("licensee") == who[0]},
        )
    finally:
        client.close()
    return str(made["id"])


def test_a_signed_read_answers_and_an_unsigned_one_is_refused(
    served: Served, http: httpx.Client, parties: dict[str, tuple[str, KeyPair]]
) -> None:
    url = f"{served.url}/v1/requests"
    assert send(http, "GET", url, parties["lab"][1]).json() == {"items": [], "next": None}
    detail = problem(send(http, "GET", url, None), 401, "bad-signature")
    assert "must be signed" in detail


def test_an_unknown_key_is_refused(served: Served, http: httpx.Client) -> None:
    stranger = KeyPair.generate()
    detail = problem(send(http, "GET", f"{served.url}/v1/requests", stranger), 401, "unknown-key")
    assert stranger.public.key_id in detail


def test_a_signature_over_something_else_is_refused(
    served: Served, http: httpx.Client, parties: dict[str, tuple[str, KeyPair]]
) -> None:
    url = f"{served.url}/v1/requests"
    lab = parties["lab"][1]
    # Signed for /v1/grants, sent to /v1/requests: the target URI is covered.
    signed_for = sign_request(
        method="GET", url=f"{served.url}/v1/grants", headers={}, body=b"", signer=lab,
        created=int(time.time()), nonce="n-other-path",
    )  # fmt: skip
    response = http.get(url, headers=signed_for)
    problem(response, 401, "bad-signature")

    # Another party's key id on this signature.
    rival = parties["rival"][1]

    def swap_key(headers: dict[str, str], content: bytes) -> tuple[dict[str, str], bytes]:
        changed = dict(headers)
        changed["Signature-Input"] = headers["Signature-Input"].replace(
            lab.public.key_id, rival.public.key_id
        )
        return changed, content

    problem(send(http, "GET", url, lab, tamper=swap_key), 401, "bad-signature")


def test_a_missing_or_wrong_content_digest_is_refused(
    served: Served, http: httpx.Client, parties: dict[str, tuple[str, KeyPair]]
) -> None:
    url = f"{served.url}/v1/requests"
    body = {"scope": {"kind": "owner", "ids": [parties["ada"][0]]}, "purposes": ["train-ai"]}
    lab = parties["lab"][1]

    def drop_digest(headers: dict[str, str], content: bytes) -> tuple[dict[str, str], bytes]:
        return {k: v for k, v in headers.items() if k.lower() != "content-digest"}, content

    def change_body(headers: dict[str, str], content: bytes) -> tuple[dict[str, str], bytes]:
        return headers, content.replace(b"train-ai", b"train-genai")

    problem(send(http, "POST", url, lab, body, tamper=drop_digest), 400, "bad-digest")
    problem(send(http, "POST", url, lab, body, tamper=change_body), 400, "bad-digest")
    # Nothing was asked of anyone.
    assert send(http, "GET", url, lab).json()["items"] == []


def test_a_signature_made_outside_five_minutes_is_refused(
    served: Served, http: httpx.Client, parties: dict[str, tuple[str, KeyPair]]
) -> None:
    url = f"{served.url}/v1/requests"
    lab = parties["lab"][1]
    problem(send(http, "GET", url, lab, created=int(time.time()) - 301), 401, "stale-signature")
    problem(send(http, "GET", url, lab, created=int(time.time()) + 301), 401, "stale-signature")
    assert send(http, "GET", url, lab, created=int(time.time()) - 250).status_code == 200


def test_the_same_request_sent_twice_is_a_replay(
    served: Served, http: httpx.Client, parties: dict[str, tuple[str, KeyPair]]
) -> None:
    url = f"{served.url}/v1/requests"
    lab = parties["lab"][1]
    captured: dict[str, Any] = {}

    def keep(headers: dict[str, str], content: bytes) -> tuple[dict[str, str], bytes]:
        captured.update(headers=headers, content=content)
        return headers, content

    assert send(http, "GET", url, lab, tamper=keep).status_code == 200
    again = http.get(url, headers=captured["headers"])
    detail = problem(again, 401, "replayed-request")
    assert "replay" in detail


def test_a_request_signed_by_an_independent_rfc_9421_implementation_is_accepted(
    served: Served,
) -> None:
    private = Ed25519PrivateKey.generate()
    pair = KeyPair(private)
    with app.Workspace(served.settings) as ws:
        party = ws.registry.parties.create(PartyKind.LICENSEE, "Theirs", pair)
    resolver = hms.MappingKeyResolver(public_keys={}, private_keys={pair.public.key_id: private})
    signer = hms.HTTPMessageSigner(
        signature_algorithm=hms.algorithms.ED25519, key_resolver=resolver
    )
    prepared = requests.Request(
        "GET", f"{served.url}/v1/grants", headers={"Content-Type": "application/json"}
    ).prepare()
    signer.sign(
        prepared,
        key_id=pair.public.key_id,
        created=datetime.now(UTC),
        nonce=secrets.token_urlsafe(12),
        covered_component_ids=COVERED,
        body=b"",
    )
    with requests.Session() as session:
        answer = session.send(prepared, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"items": [], "next": None}
    # And the registry took the signature as the party's: it reads that party's grants.
    assert party.key_id == pair.public.key_id


def test_a_party_sees_only_its_own_requests_and_cannot_act_for_another(
    served: Served, http: httpx.Client, parties: dict[str, tuple[str, KeyPair]]
) -> None:
    ada, bea, lab, rival = (parties[n] for n in ("ada", "bea", "lab", "rival"))
    mine = _request(served, lab, ada[0])
    theirs = _request(served, rival, ada[0])
    base = served.url

    listed = send(http, "GET", f"{base}/v1/requests", lab[1]).json()["items"]
    assert [r["id"] for r in listed] == [mine]
    # Another licensee's request, and a request to another owner: 404, never data.
    detail = problem(send(http, "GET", f"{base}/v1/requests/{theirs}", lab[1]), 404, "not-found")
    assert theirs in detail and "train-ai" not in detail
    problem(send(http, "GET", f"{base}/v1/requests/{mine}", bea[1]), 404, "not-found")
    owner_sees = send(http, "GET", f"{base}/v1/requests", ada[1]).json()["items"]
    assert {r["id"] for r in owner_sees} == {mine, theirs}

    # The lab signs a grant of its own request with its own key: only owners grant.
    grant = send(http, "POST", f"{base}/v1/requests/{mine}/grant", lab[1], {})
    problem(grant, 403, "forbidden")
    # Another owner cannot grant what was asked of Ada.
    problem(send(http, "POST", f"{base}/v1/requests/{mine}/grant", bea[1], {}), 404, "not-found")
    # Nothing was granted by any of it.
    assert send(http, "GET", f"{base}/v1/grants", lab[1]).json()["items"] == []


def test_registering_needs_the_key_it_registers(served: Served, http: httpx.Client) -> None:
    key, other = KeyPair.generate(), KeyPair.generate()
    body = {"id": "own_aaaaaaaaaaaaaaaa", "name": "Mallory", "public_key": key.public.hex}
    response = send(http, "POST", f"{served.url}/v1/owners", other, body)
    problem(response, 401, "unknown-key")
    response = send(http, "POST", f"{served.url}/v1/owners", None, body)
    problem(response, 401, "bad-signature")
    round_one = send(http, "POST", f"{served.url}/v1/owners", key, body)
    assert round_one.status_code == 202
    assert {"token", "messages", "expires_at"} <= set(round_one.json())
    # A round asks; nothing is registered until every message is signed.
    problem(send(http, "GET", f"{served.url}/v1/owners/{body['id']}", None), 404, "not-found")


def test_an_invite_only_registry_registers_only_with_an_unused_invitation(
    served: Served, tmp_path: Path
) -> None:
    with app.Workspace(served.settings) as ws:
        invitation = app.invite(ws, "Ada's studio", valid_for=timedelta(days=1))
    with serving(served.settings, ServiceOptions(invite_only=True)) as url:
        ada = served.party(tmp_path, "ada")
        ada.overrides["CONSENTRY_REGISTRY"] = url
        refused = ada("owner", "create", "Ada", expect=None)
        assert refused.code != 0 and "invited parties only" in refused.stderr
        ada.overrides["CONSENTRY_INVITATION"] = invitation.token
        ada("owner", "create", "Ada")
        again = served.party(tmp_path, "bea")
        again.overrides.update(CONSENTRY_REGISTRY=url, CONSENTRY_INVITATION=invitation.token)
        reused = again("owner", "create", "Bea", expect=None)
        assert reused.code != 0 and "invited parties only" in reused.stderr
    # The token is a secret: only its digest is stored.
    engine = open_engine(served.settings.database_url)
    try:
        with engine.connect() as connection:
            rows = [tuple(r) for r in connection.execute(text("SELECT * FROM invitations"))]
    finally:
        engine.dispose()
    assert rows and not any(invitation.token in str(value) for row in rows for value in row)


def test_too_many_requests_from_one_key_are_refused_with_retry_after(
    served: Served, http: httpx.Client, parties: dict[str, tuple[str, KeyPair]]
) -> None:
    options = ServiceOptions(rate_per_key=1, burst_per_key=3)
    with serving(served.settings, options) as url:
        answers = [send(http, "GET", f"{url}/v1/requests", parties["lab"][1]) for _ in range(6)]
    codes = [a.status_code for a in answers]
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
    limited = next(a for a in answers if a.status_code == 429)
    problem(limited, 429, "rate-limited")
    assert int(limited.headers["retry-after"]) >= 1


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    served: Served, http: httpx.Client, parties: dict[str, tuple[str, KeyPair]]
) -> None:
    with serving(served.settings, ServiceOptions(max_body=1000)) as url:
        body = {"scope": {"kind": "owner", "ids": ["own_x"]}, "purposes": ["x" * 2000]}
        response = send(http, "POST", f"{url}/v1/requests", parties["lab"][1], body)
    problem(response, 413, "too-large")


def test_a_nonce_too_long_to_keep_is_refused_as_a_bad_signature(
    served: Served, http: httpx.Client, parties: dict[str, tuple[str, KeyPair]]
) -> None:
    url = f"{served.url}/v1/requests"
    detail = problem(
        send(http, "GET", url, parties["lab"][1], nonce="n" * 101), 401, "bad-signature"
    )
    assert "nonce" in detail
    # Registering brings its own key: the same bound holds before the key is known.
    key = KeyPair.generate()
    body = {"id": "own_aaaaaaaaaaaaaaaa", "name": "Mallory", "public_key": key.public.hex}
    answer = send(http, "POST", f"{served.url}/v1/owners", key, body, nonce="x" * 5000)
    problem(answer, 401, "bad-signature")


def test_a_hostile_manifest_is_refused_as_input(
    served: Served, http: httpx.Client, parties: dict[str, tuple[str, KeyPair]]
) -> None:
    url = f"{served.url}/v1/manifests"
    lab = parties["lab"][1]
    for body in (
        {"manifest": {"run_id": "run_x", "works": []}, "signature": "abc"},
        {"manifest": {"run_id": "run_x", "works": [{"grant_id": None}]}, "signature": "A" * 88},
    ):
        answer = send(http, "POST", url, lab, body)
        assert answer.status_code in (400, 422), answer.text
        assert answer.json()["status"] < 500
