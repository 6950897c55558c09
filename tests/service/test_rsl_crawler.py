"""An AI crawler against a creator's own site over loopback (RSL 1.0 §6, CAP), licensed
through the registry as its RSL licence server (§5, OLP): refused without a token and
pointed to the licence, served with a token on a grant its owner signed, refused again
once the grant is revoked; and each way of getting in without a licence, refused.

Everything is real: the registry served by uvicorn, the creator's site (a static site
wrapped in ``CrawlerGate``) served by uvicorn on a port of its own, parties acting from
key folders of their own, requests signed with their keys."""

from __future__ import annotations

import base64
import json
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import defusedxml.ElementTree  # type: ignore[import-untyped]  # defusedxml ships no type hints
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from consentry.api import create_app
from consentry.api.auth_request import AuthRequest
from consentry.api.crawler_gate import CrawlerGate, GateConfig
from consentry.api.routes.olp import OlpOptions
from consentry.crypto import FileKeyStore, KeyPair
from consentry.crypto.httpsig import sign_request
from consentry.signals.rsl import read_rsl
from consentry.terms import Category, Permission
from tests.e2e.conftest import Cli
from tests.service.conftest import Served, serving

GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
RSL = "https://rslstandard.org/rsl"


@contextmanager
def _uvicorn(app: ASGIApp, sock: socket.socket) -> Iterator[None]:
    """Serve ``app`` on the bound ``sock`` until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the site did not start"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _bound() -> tuple[socket.socket, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class Party:
    cli: Cli
    id: str
    key: KeyPair


def _party(served: Served, root: Path, kind: str, name: str) -> Party:
    cli = served.party(root, name.lower())
    party_id = cli(kind, "create", name, "--json").records()[0]["id"]
    return Party(cli, party_id, FileKeyStore(cli.keys).load(party_id))


def _grant(owner: Party, licensee: Party, *purposes: str) -> tuple[str, str]:
    """(request id, grant id) of a licence of all the owner's works, asked and granted."""
    asked = [arg for purpose in purposes for arg in ("--purpose", purpose)]
    request_id = licensee.cli(
        "license", "request", "--licensee", licensee.id, "--owner", owner.id, *asked, "--json"
    ).records()[0]["id"]
    grant = owner.cli("license", "grant", request_id, "--owner", owner.id, "--json").records()[0]
    return request_id, grant["id"]


def _signed(
    http: httpx.Client, url: str, key: KeyPair | None, form: dict[str, str], **headers: str
) -> httpx.Response:
    """A form POST, signed (RFC 9421) with ``key`` unless it is None."""
    content = urlencode(form).encode()
    sent = {"content-type": "application/x-www-form-urlencoded", **headers}
    if key is not None:
        sent.update(
            sign_request(
                method="POST",
                url=url,
                headers=sent,
                body=content,
                signer=key,
                created=int(time.time()),
                nonce=secrets.token_urlsafe(12),
            )
        )
    return http.post(url, content=content, headers=sent)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _credentials(http: httpx.Client, served: Served, party: Party) -> tuple[str, str]:
    url = f"{served.url}/v1/olp/credentials"
    headers = sign_request(
        method="POST", url=url, headers={}, body=b"", signer=party.key,
        created=int(time.time()), nonce=secrets.token_urlsafe(12),
    )  # fmt: skip
    answer = http.post(url, headers=headers)
    assert answer.status_code == 201, answer.text
    assert answer.headers["cache-control"] == "no-store"
    made = answer.json()
    return made["client_id"], made["client_secret"]


def _licence_document(server: str) -> str:
    return (
        f'<rsl xmlns="{RSL}"><content url="/" server="{server}">'
        '<license><permits type="usage">ai-train</permits><payment type="training"/></license>'
        "</content></rsl>"
    )


def _site_files(root: Path, server: str) -> Path:
    site = root / "site"
    (site / "poems").mkdir(parents=True)
    (site / "poems" / "one.html").write_text("<p>the first poem</p>")
    (site / "robots.txt").write_text("User-agent: *\nAllow: /\nLicense: /license.xml\n")
    (site / "license.xml").write_text(_licence_document(server))
    return site


def _challenge(response: httpx.Response) -> dict[str, str]:
    """The auth-params of a ``WWW-Authenticate: License ...`` challenge (§6.3.2)."""
    header = response.headers["www-authenticate"]
    assert header.startswith("License "), header
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', header))


def _points_to_licence(response: httpx.Response, licence: str) -> None:
    # §6.3.3: the Link to the governing licence, of the RSL media type.
    assert response.headers["link"] == f'<{licence}>; rel="license"; type="application/rsl+xml"'


@dataclass
class World:
    served: Served
    http: httpx.Client
    ada: Party
    bea: Party
    lab: Party
    rival: Party
    site: str
    licence: str
    server: str
    config: GateConfig


@pytest.fixture
def world(served: Served, http: httpx.Client, tmp_path: Path) -> Iterator[World]:
    ada = _party(served, tmp_path, "owner", "Ada")
    bea = _party(served, tmp_path, "owner", "Bea")
    lab = _party(served, tmp_path, "licensee", "Lab")
    rival = _party(served, tmp_path, "licensee", "Rival")
    server = f"{served.url}/rsl/{ada.id}"
    client_id, secret = _credentials(http, served, ada)
    sock, site = _bound()
    config = GateConfig(
        site=site,
        licence=f"{site}/license.xml",
        server=server,
        client_id=client_id,
        client_secret=secret,
        paid=True,
        cache_seconds=0.3,
    )
    files = _site_files(tmp_path, server)
    app = CrawlerGate(Starlette(routes=[Mount("/", StaticFiles(directory=files))]), config)
    with _uvicorn(app, sock):
        yield World(served, http, ada, bea, lab, rival, site, config.licence, server, config)


def _token(
    world: World, who: Party, owner: Party, *, licence: str | None = None, **extra: str
) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "license": licence or '<license><permits type="usage">ai-train</permits></license>',
        "resource": "/",
        **extra,
    }
    return _signed(world.http, f"{world.served.url}/rsl/{owner.id}/token", who.key, form)


def _olp_error(response: httpx.Response, status: int, error: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error, body
    return str(body["error_description"])


def test_a_crawler_is_pointed_to_the_licence_licensed_and_refused_after_revocation(
    world: World,
) -> None:
    http, page = world.http, f"{world.site}/poems/one.html"
    # A person's browser is served as ever.
    assert http.get(page, headers={"User-Agent": BROWSER}).text == "<p>the first poem</p>"

    # The crawler without a token: 402 (the licence is paid), the challenge, the pointer.
    refused = http.get(page, headers={"User-Agent": GPTBOT})
    assert refused.status_code == 402
    assert _challenge(refused)["error"] == "invalid_request"
    _points_to_licence(refused, world.licence)
    assert refused.headers["cache-control"] == "no-store"

    # It follows the pointer: the licence (and robots.txt) are open to it.
    assert (
        "License: /license.xml"
        in http.get(f"{world.site}/robots.txt", headers={"User-Agent": GPTBOT}).text
    )
    document = defusedxml.ElementTree.fromstring(
        http.get(world.licence, headers={"User-Agent": GPTBOT}).text
    )
    content = document.find(f"{{{RSL}}}content")
    assert content is not None and content.get("server") == world.server
    licence = ElementTree.tostring(content.find(f"{{{RSL}}}license"), encoding="unicode")

    # No grant yet: the licence server refuses the token.
    _olp_error(_token(world, world.lab, world.ada, licence=licence), 400, "invalid_license")

    # The owner grants; the crawler gets a token on that grant, signed with its key.
    _, grant_id = _grant(world.ada, world.lab, "train-ai", "train-other")
    answer = _token(world, world.lab, world.ada, licence=licence)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    issued = answer.json()
    assert issued["token_type"] == "License"
    assert 3500 < issued["expires_in"] <= 3600
    assert issued["grant_id"] == grant_id and issued["scope"] == "train-ai train-other"
    token = issued["access_token"]

    served = http.get(page, headers={"User-Agent": GPTBOT, "Authorization": f"License {token}"})
    assert served.status_code == 200 and served.text == "<p>the first poem</p>"
    _points_to_licence(served, world.licence)

    # The owner's site asks the licence server itself (introspection).
    client = (world.config.client_id, world.config.client_secret)
    looked = http.post(
        f"{world.server}/introspect", data={"token": token, "resource": page}, auth=client
    )
    seen = looked.json()
    assert (seen["active"], seen["permitted"], seen["grant_id"], seen["client_id"]) == (
        True, True, grant_id, world.lab.id,
    )  # fmt: skip
    assert seen["token_type"] == "License" and seen["exp"] > time.time()

    # The owner revokes: the crawler is refused again, within the gate's few seconds.
    world.ada.cli("license", "revoke", grant_id, "--owner", world.ada.id)
    looked = http.post(
        f"{world.server}/introspect", data={"token": token, "resource": page}, auth=client
    )
    assert looked.json() == {"active": False}
    time.sleep(0.4)
    again = http.get(page, headers={"User-Agent": GPTBOT, "Authorization": f"License {token}"})
    assert again.status_code == 401
    assert _challenge(again)["error"] == "invalid_token"
    _points_to_licence(again, world.licence)
    _olp_error(_token(world, world.lab, world.ada, licence=licence), 400, "invalid_license")


def test_a_spec_client_authenticates_with_basic_credentials_minted_by_a_signed_request(
    world: World,
) -> None:
    _grant(world.ada, world.lab, "search")
    client_id, secret = _credentials(world.http, world.served, world.lab)
    form = {
        "grant_type": "client_credentials",
        "license": '<license><permits type="usage">search</permits></license>',
        "resource": f"{world.site}/",
    }
    url = f"{world.server}/token"
    answer = world.http.post(url, data=form, headers={"Authorization": _basic(client_id, secret)})
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    # A search crawler is served on a search licence; a training crawler is not.
    page = f"{world.site}/poems/one.html"
    searching = {"User-Agent": "PerplexityBot/1.0", "Authorization": f"License {token}"}
    assert world.http.get(page, headers=searching).status_code == 200
    training = world.http.get(page, headers={**searching, "User-Agent": GPTBOT})
    assert training.status_code == 403
    assert _challenge(training)["error"] == "insufficient_scope"
    # The JSON form of the same request (§5.2), and an old secret after a new one.
    json_headers = {"Authorization": _basic(client_id, secret), "Content-Type": "application/json"}
    as_json = world.http.post(url, content=json.dumps(form), headers=json_headers)
    assert as_json.status_code == 200, as_json.text
    _credentials(world.http, world.served, world.lab)
    stale = world.http.post(url, data=form, headers={"Authorization": _basic(client_id, secret)})
    assert _olp_error(stale, 401, "invalid_client")
    assert stale.headers["www-authenticate"].startswith("Basic ")


def test_every_way_in_without_a_licence_of_ones_own_is_refused(world: World) -> None:
    http, page = world.http, f"{world.site}/poems/one.html"
    _, lab_grant = _grant(world.ada, world.lab, "train-ai", "train-other")
    _, rival_at_bea = _grant(world.bea, world.rival, "train-ai", "train-other")

    def crawl(token: str) -> httpx.Response:
        return http.get(page, headers={"User-Agent": GPTBOT, "Authorization": f"License {token}"})

    # A forged, random token; a malformed one.
    forged = crawl("rsl_" + secrets.token_urlsafe(32))
    assert forged.status_code == 401 and _challenge(forged)["error"] == "invalid_token"
    assert crawl('"><script>').status_code == 401

    # A token on another licensee's grant, from another owner's licence server: Ada's
    # site is not licensed by it.
    at_bea = _token(world, world.rival, world.bea)
    assert at_bea.status_code == 200, at_bea.text
    elsewhere = crawl(at_bea.json()["access_token"])
    assert elsewhere.status_code == 401 and _challenge(elsewhere)["error"] == "invalid_token"
    assert rival_at_bea != lab_grant

    # A token request naming someone else's grant; one with only a request, never
    # granted; one with no grant from this owner at all.
    named = _token(world, world.rival, world.ada, grant_id=lab_grant)
    assert f"no grant {lab_grant}" in _olp_error(named, 400, "invalid_license")
    pending = world.rival.cli(
        "license", "request", "--licensee", world.rival.id, "--owner", world.ada.id,
        "--purpose", "train-ai", "--json",
    ).records()[0]["id"]  # fmt: skip
    _olp_error(_token(world, world.rival, world.ada, grant_id=pending), 400, "invalid_license")
    _olp_error(_token(world, world.rival, world.ada), 400, "invalid_license")

    # Requests not signed, signed by a key no party holds, or with both methods.
    unsigned = _signed(http, f"{world.server}/token", None, {"grant_type": "client_credentials"})
    _olp_error(unsigned, 401, "invalid_client")
    stranger = _token(world, Party(world.lab.cli, world.lab.id, KeyPair.generate()), world.ada)
    _olp_error(stranger, 401, "invalid_client")
    both = _signed(http, f"{world.server}/token", world.lab.key, {}, Authorization=_basic("a", "b"))
    _olp_error(both, 400, "invalid_request")

    # An owner is no licensee; a grant type of RSL's drafts; a licence asking nothing known.
    _olp_error(_token(world, world.ada, world.ada), 403, "unauthorized_client")
    _olp_error(_token(world, world.lab, world.ada, grant_type="rsl"), 400, "unsupported_grant_type")
    unknown = '<license><permits type="usage">everything</permits></license>'
    _olp_error(_token(world, world.lab, world.ada, licence=unknown), 400, "invalid_license")

    # Introspection is the owner's: not a licensee's, not another owner's, not anyone's.
    token = _token(world, world.lab, world.ada).json()["access_token"]
    asked = {"token": token, "resource": page}
    lab_id, lab_secret = _credentials(http, world.served, world.lab)
    _olp_error(http.post(f"{world.server}/introspect", data=asked, auth=(lab_id, lab_secret)), 403,
               "unauthorized_client")  # fmt: skip
    bea_id, bea_secret = _credentials(http, world.served, world.bea)
    _olp_error(http.post(f"{world.server}/introspect", data=asked, auth=(bea_id, bea_secret)), 403,
               "unauthorized_client")  # fmt: skip
    at_bea_server = http.post(
        f"{world.served.url}/rsl/{world.bea.id}/introspect", data=asked, auth=(bea_id, bea_secret)
    )
    assert at_bea_server.json() == {"active": False}
    _olp_error(http.post(f"{world.server}/introspect", data=asked), 401, "invalid_client")
    # No encrypted assets here (§7).
    keyed = http.post(f"{world.server}/key", data=asked, auth=(lab_id, lab_secret))
    _olp_error(keyed, 400, "invalid_request")
    # The good token still works: none of the above spent or spoiled it.
    assert crawl(token).status_code == 200


def test_an_expired_token_replayed_is_refused(world: World, tmp_path: Path) -> None:
    _grant(world.ada, world.lab, "train-ai", "train-other")

    def briefly(settings: Any, options: Any) -> Any:
        return create_app(settings, options, licence_server=OlpOptions(timedelta(seconds=3)))

    page = f"{world.site}/poems/one.html"
    with serving(world.served.settings, factory=briefly) as short:
        asked = time.monotonic()
        answer = _signed(world.http, f"{short}/rsl/{world.ada.id}/token", world.lab.key, {
            "grant_type": "client_credentials", "resource": "/",
            "license": '<license><permits type="usage">ai-train</permits></license>',
        })  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.json()["expires_in"] == 3
        headers = {
            "User-Agent": GPTBOT,
            "Authorization": f"License {answer.json()['access_token']}",
        }
        assert world.http.get(page, headers=headers).status_code == 200
    time.sleep(max(0.0, asked + 3.5 - time.monotonic()))
    replayed = world.http.get(page, headers=headers)
    assert replayed.status_code == 401 and _challenge(replayed)["error"] == "invalid_token"


def test_the_registry_serves_each_owners_terms_as_the_rsl_licence_its_tokens_honour(
    world: World, tmp_path: Path
) -> None:
    terms = tmp_path / "terms.json"
    terms.write_text(
        json.dumps(
            {
                "version": 1,
                "categories": {"train-ai": "license", "train-other": "license", "search": "deny"},
                "price": {"per": "work", "amount": "0.05", "currency": "EUR"},
            }
        )
    )
    world.ada.cli("terms", "set", world.ada.id, "--owner", world.ada.id, "--file", str(terms))
    answer = world.http.get(f"{world.server}/license.xml")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/rsl+xml")
    document = read_rsl(answer.text, place=f"{world.server}/license.xml")
    assert not document.problems
    # The document names this registry as its licence server, and reads back as the
    # terms: training for a licence at the owner's price, search refused.
    content = document.content_for(f"{world.site}/poems/one.html")
    assert content is not None and content.server == world.server
    said = document.reservation(f"{world.site}/poems/one.html")
    assert said.permission(Category.TRAIN_AI) is Permission.LICENSE
    assert said.permission(Category.SEARCH) is Permission.DENY
    assert "0.05" in answer.text and "EUR" in answer.text

    # A crawler takes the paid training licence it offers, on its grant from the owner.
    root = defusedxml.ElementTree.fromstring(answer.text)
    offered = [
        ElementTree.tostring(element, encoding="unicode")
        for element in root.iter(f"{{{RSL}}}license")
        if "ai-train" in ElementTree.tostring(element, encoding="unicode")
    ]
    assert offered
    _olp_error(_token(world, world.lab, world.ada, licence=offered[0]), 400, "invalid_license")
    _grant(world.ada, world.lab, "train-ai", "train-other")
    issued = _token(world, world.lab, world.ada, licence=offered[0])
    assert issued.status_code == 200, issued.text

    # An owner the registry does not know has no licence to serve.
    unknown = world.http.get(f"{world.served.url}/rsl/own_unknown0000000/license.xml")
    assert unknown.status_code == 404


def test_the_proxy_endpoint_answers_as_the_gate_does(world: World) -> None:
    _grant(world.ada, world.lab, "train-ai", "train-other")
    token = _token(world, world.lab, world.ada).json()["access_token"]
    free = GateConfig(
        site=world.site,
        licence=world.licence,
        server=world.server,
        client_id=world.config.client_id,
        client_secret=world.config.client_secret,
        cache_seconds=0,
    )
    for nginx in (False, True):
        sock, auth = _bound()
        with _uvicorn(AuthRequest(free, refusals_as_401=nginx), sock):

            def ask(uri: str, at: str = auth, **headers: str) -> httpx.Response:
                return world.http.get(f"{at}/auth", headers={"X-Original-URI": uri, **headers})

            assert ask("/poems/one.html", **{"User-Agent": BROWSER}).status_code == 204
            unlicensed = ask("/poems/one.html", **{"User-Agent": GPTBOT})
            assert unlicensed.status_code == 401 and unlicensed.headers["x-rsl-status"] == "401"
            assert _challenge(unlicensed)["error"] == "invalid_request"
            _points_to_licence(unlicensed, world.licence)
            licensed = ask(
                "/poems/one.html", **{"User-Agent": GPTBOT, "Authorization": f"License {token}"}
            )
            assert licensed.status_code == 204
            _points_to_licence(licensed, world.licence)
            assert ask("/license.xml", **{"User-Agent": GPTBOT}).status_code == 204
            assert world.http.get(f"{auth}/auth", headers={"User-Agent": GPTBOT}).status_code == 500
        # The paid site's 402 travels to nginx as a 401 whose X-RSL-Status says 402.
        sock, auth = _bound()
        with _uvicorn(AuthRequest(world.config, refusals_as_401=nginx), sock):
            paid = world.http.get(
                f"{auth}/auth", headers={"X-Original-URI": "/poems/one.html", "User-Agent": GPTBOT}
            )
            assert paid.status_code == (401 if nginx else 402)
            assert paid.headers["x-rsl-status"] == "402"


_NGINX_BLOCK = re.compile(r"```nginx\n(.*?)```", re.DOTALL)


def _nginx_conf(prefix: Path, port: int, site: str, auth: str) -> Path:
    """docs/rsl.md's nginx configuration, listening on ``port``, in front of ``site``
    with the authorisation endpoint at ``auth``: the page's snippet, as written."""
    docs = Path(__file__).parents[2] / "docs" / "rsl.md"
    server = _NGINX_BLOCK.findall(docs.read_text("utf-8"))[0]
    server = server.replace("listen 80;", f"listen 127.0.0.1:{port};")
    server = server.replace("http://127.0.0.1:8080", site).replace("http://127.0.0.1:8766", auth)
    for folder in ("logs", "temp"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"daemon off;\nmaster_process off;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/logs/error.log warn;\nevents {{}}\n"
        f"http {{\naccess_log off;\nclient_body_temp_path {prefix}/temp/body;\n"
        f"proxy_temp_path {prefix}/temp/proxy;\n{server}}}\n"
    )
    return conf


def test_the_nginx_configuration_of_the_docs_answers_crawlers_as_cap_asks(
    world: World, tmp_path: Path
) -> None:
    _grant(world.ada, world.lab, "train-ai", "train-other")
    token = _token(world, world.lab, world.ada).json()["access_token"]
    upstream_sock, upstream = _bound()
    auth_sock, auth = _bound()
    files = _site_files(tmp_path / "plain", world.server)
    plain = Starlette(routes=[Mount("/", StaticFiles(directory=files))])
    with (
        _uvicorn(plain, upstream_sock),
        _uvicorn(AuthRequest(world.config, refusals_as_401=True), auth_sock),
    ):
        probe, _ = _bound()
        port = probe.getsockname()[1]
        probe.close()
        conf = _nginx_conf(tmp_path / "nginx", port, upstream, auth)
        nginx = subprocess.Popen(
            [
                shutil.which("nginx") or "/usr/sbin/nginx",
                "-p",
                str(tmp_path / "nginx"),
                "-c",
                str(conf),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            front = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    world.http.get(f"{front}/robots.txt")
                    break
                except httpx.TransportError:
                    assert nginx.poll() is None and time.monotonic() < deadline, (
                        tmp_path / "nginx" / "logs" / "error.log"
                    ).read_text()
                    time.sleep(0.05)
            page = f"{front}/poems/one.html"
            assert world.http.get(page, headers={"User-Agent": BROWSER}).status_code == 200
            paid = world.http.get(page, headers={"User-Agent": GPTBOT})
            assert paid.status_code == 402, paid.text
            assert paid.headers.get_list("www-authenticate") == [paid.headers["www-authenticate"]]
            assert _challenge(paid)["error"] == "invalid_request"
            _points_to_licence(paid, world.licence)
            forged = world.http.get(
                page, headers={"User-Agent": GPTBOT, "Authorization": "License rsl_forged"}
            )
            assert forged.status_code == 401 and _challenge(forged)["error"] == "invalid_token"
            assert forged.headers.get_list("www-authenticate") == [
                forged.headers["www-authenticate"]
            ]
            _points_to_licence(forged, world.licence)
            served = world.http.get(
                page, headers={"User-Agent": GPTBOT, "Authorization": f"License {token}"}
            )
            assert served.status_code == 200 and served.text == "<p>the first poem</p>"
            _points_to_licence(served, world.licence)
            # A training licence for a search crawler: 403 with its challenge.
            searching = {"User-Agent": "PerplexityBot/1.0", "Authorization": f"License {token}"}
            scoped = world.http.get(page, headers=searching)
            assert scoped.status_code == 403 and _challenge(scoped)["error"] == "insufficient_scope"
            _points_to_licence(scoped, world.licence)
        finally:
            nginx.terminate()
            nginx.wait(timeout=20)
