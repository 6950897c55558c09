"""The registry as a service on loopback, against the same calls in-process.

    python bench/service.py [--requests N] [--works N] [--postgres URL] [--workers 1 2]
                            [--only served|pages]

For each backend (SQLite; PostgreSQL with --postgres or CONSENTRY_TEST_DATABASE_URL)
and each number of server workers, ``consentry serve`` runs as its own processes and
this process is the client. One JSON line per figure:

  signed_read      GET /v1/grants signed by a licensee
  signed_write     a licence request, through its signing rounds (3 round trips)
  check_4k         POST /v1/check of a 4 KB text
  list_page        GET /v1/works, a page of 100
  register         10,000 works' fingerprints uploaded in batches (works/s)
  page_render      GET /creator, the dashboard of a creator with 10,000 works, rendered
                   in-process with the creator's session (p50/p99 over --requests
                   renders), against GET /v1/works (a page of 100) and /healthz in the
                   same client: ``vs_list_page`` and ``vs_healthz`` are p50 ratios

Each line has requests a second from 4 client threads, p50 and p99 in ms from one,
the same call through the application layer in-process (``in_process_p50_ms``), and
``http_overhead`` = HTTP p50 / in-process p50.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import text

from _measure import emit
from consentry import app
from consentry.client.http import RegistryClient
from consentry.client.registry import Keyring, RemoteRegistry
from consentry.fingerprint import fingerprint_bytes
from consentry.registry import Actor, EventKind, FileFingerprint, PartyKind, Scope, ScopeKind
from consentry.settings import Settings
from consentry.store import open_engine
from consentry.terms import Category

THREADS = 4
GPL = Path("/usr/share/common-licenses/GPL-3")


def _words() -> list[str]:
    source = GPL.read_text() if GPL.exists() else Path(os.__file__).read_text()
    return source.split()


def _texts(count: int, seed: int) -> list[str]:
    import random

    words = _words()
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(400)) for _ in range(count)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _served(settings: Settings, workers: int) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "CONSENTRY_HOME": str(settings.home),
        "CONSENTRY_DATABASE_URL": settings.database_url,
    }
    env.pop("CONSENTRY_REGISTRY", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "consentry", "serve", "--port", str(port), "--workers",
         str(workers), "--rate", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        client = RegistryClient(url)
        deadline = time.monotonic() + 60
        while True:
            try:
                client.get("/healthz")
                break
            except Exception:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        client.close()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _timed(call: Callable[[], Any], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _rate(call: Callable[[], Any], count: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda _: call(), range(count)))
    return count / (time.perf_counter() - started)


def _p(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _figure(
    name: str,
    backend: str,
    workers: int,
    http: Callable[[], Any],
    local: Callable[[], Any],
    count: int,
) -> None:
    _timed(http, 3)
    _timed(local, 3)
    over = _timed(http, count)
    inside = _timed(local, count)
    emit(
        name,
        backend=backend,
        workers=workers,
        requests=count,
        rps=round(_rate(http, count), 1),
        p50_ms=round(statistics.median(over), 2),
        p99_ms=round(_p(over, 0.99), 2),
        in_process_p50_ms=round(statistics.median(inside), 3),
        http_overhead=round(statistics.median(over) / max(statistics.median(inside), 1e-6), 1),
    )


def _fingerprints(texts: list[str], prefix: str) -> list[FileFingerprint]:
    return [
        FileFingerprint(f"{prefix}/{n}.txt", fingerprint_bytes(f"{n}.txt", t.encode()))
        for n, t in enumerate(texts)
    ]


@dataclass
class _Parties:
    ws: Any
    owner_id: str
    owner_key: Any
    lab_id: str
    lab_key: Any


def _bench_backend(backend: str, url: str, workers_list: list[int], args: Any) -> None:
    home = Path(tempfile.mkdtemp(prefix="consentry-bench-service-"))
    settings = Settings(home=home, database_url=url, keys_dir=home / "keys")
    with app.Workspace(settings) as ws:
        app.init(ws)
        owner = app.create_party(ws, PartyKind.OWNER, "Ada")
        lab = app.create_party(ws, PartyKind.LICENSEE, "Lab")
        parties = _Parties(
            ws,
            owner.party.id,
            ws.party_keys.load(owner.party.id),
            lab.party.id,
            ws.party_keys.load(lab.party.id),
        )
        seed = _fingerprints(_texts(200, 1), "seed")
        list(ws.registry.works.register(parties.owner_id, parties.owner_key, seed))
        for workers in workers_list:
            with _served(settings, workers) as served:
                _bench_served(parties, served, backend, workers, args)


def _bench_served(p: _Parties, served: str, backend: str, workers: int, args: Any) -> None:
    client = RegistryClient(served)
    keyring = Keyring()
    keyring.add(p.lab_key)
    remote = RemoteRegistry(client, keyring)
    ws = p.ws
    lab = Actor(p.lab_id, PartyKind.LICENSEE, p.lab_key.public)
    scope = Scope(ScopeKind.OWNER, (p.owner_id,))
    check_text = " ".join(_words()[:700])[:4096]
    _figure(
        "signed_read", backend, workers,
        lambda: client.get("/v1/grants", signer=p.lab_key),
        lambda: ws.registry.licensing.grants(lab),
        args.requests,
    )  # fmt: skip
    _figure(
        "signed_write", backend, workers,
        lambda: client.change(
            "POST", "/v1/requests", {"scope": scope.to_json(), "purposes": ["train-ai"]},
            signer=p.lab_key, party_id=p.lab_id, events=frozenset({EventKind.REQUEST_CREATED}),
            documents={"license-request": lambda d: d.get("licensee") == p.lab_id},
        ),
        lambda: ws.registry.licensing.request(
            p.lab_id, p.lab_key, scope=scope, purposes=[Category.TRAIN_AI]
        ),
        max(10, args.requests // 4),
    )  # fmt: skip
    _figure(
        "check_4k", backend, workers,
        lambda: client.post("/v1/check", {"text": check_text}, signer=None),
        lambda: app.check_served(ws, [("output.txt", check_text)]),
        args.requests,
    )  # fmt: skip
    _figure(
        "list_page", backend, workers,
        lambda: client.get("/v1/works", params={"limit": 100}),
        lambda: ws.registry.works.all(limit=100),
        args.requests,
    )  # fmt: skip
    over_http = _fingerprints(_texts(args.works, 10 + workers), f"http{workers}")
    in_process = _fingerprints(_texts(args.works, 20 + workers), f"local{workers}")
    started = time.perf_counter()
    list(remote.works.register(p.owner_id, p.owner_key, over_http))
    over = time.perf_counter() - started
    started = time.perf_counter()
    list(ws.registry.works.register(p.owner_id, p.owner_key, in_process))
    inside = time.perf_counter() - started
    emit(
        "register", backend=backend, workers=workers, works=args.works,
        works_per_s=round(args.works / over, 1),
        in_process_works_per_s=round(args.works / inside, 1),
        http_overhead=round(over / inside, 2),
    )  # fmt: skip
    client.close()


def _bench_pages(backend: str, url: str, args: Any) -> None:
    """The creator's dashboard for an owner of ``args.works`` works, through the pages'
    own application (routes, session, templates), without a socket in between."""
    from fastapi.testclient import TestClient

    from consentry.api import ServiceOptions
    from consentry.crypto import PublicKey
    from consentry.web import create_site

    home = Path(tempfile.mkdtemp(prefix="consentry-bench-pages-"))
    settings = Settings(home=home, database_url=url, keys_dir=home / "keys")
    with app.Workspace(settings) as ws:
        app.init(ws)
        owner = app.create_party(ws, PartyKind.OWNER, "Ada").party
        key = ws.party_keys.load(owner.id)
        for first in range(0, args.works, 1000):
            texts = _texts(min(1000, args.works - first), 100 + first)
            list(ws.registry.works.register(owner.id, key, _fingerprints(texts, f"p{first}")))
        signed = app.sign_up(ws, "ada@example.org", "Ada", PartyKind.OWNER, "bench password 1")
        actor = Actor(owner.id, PartyKind.OWNER, PublicKey.from_hex(owner.public_key))
        app.link_party(ws, signed.account, actor)
    options = ServiceOptions(rate_per_key=0, rate_per_address=0, checkpoint_every=0)
    with TestClient(create_site(settings, options), base_url="https://testserver") as client:
        client.cookies.set("consentry_session", signed.token)

        def get(path: str, **params: Any) -> None:
            answer = client.get(path, params=params, headers={"accept": "text/html"})
            assert answer.status_code == 200, (path, answer.status_code)

        dashboard = lambda: get("/creator")  # noqa: E731
        listing = lambda: get("/v1/works", limit=100)  # noqa: E731
        healthz = lambda: get("/healthz")  # noqa: E731
        for call in (dashboard, listing, healthz):
            _timed(call, 5)
        rendered = _timed(dashboard, args.requests)
        listed = _timed(listing, args.requests)
        alive = _timed(healthz, args.requests)
    p50 = statistics.median(rendered)
    emit(
        "page_render", backend=backend, page="/creator", works=args.works,
        renders=args.requests, p50_ms=round(p50, 2), p99_ms=round(_p(rendered, 0.99), 2),
        list_page_p50_ms=round(statistics.median(listed), 2),
        healthz_p50_ms=round(statistics.median(alive), 3),
        vs_list_page=round(p50 / statistics.median(listed), 2),
        vs_healthz=round(p50 / statistics.median(alive), 1),
    )  # fmt: skip


def _postgres_database(base: str) -> tuple[str, Callable[[], None]]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = open_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options={quote(f'-csearch_path={schema}')}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--works", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--postgres", default=os.environ.get("CONSENTRY_TEST_DATABASE_URL"))
    parser.add_argument(
        "--only", choices=["served", "pages"], help="Only the served figures, or only pages."
    )
    args = parser.parse_args()
    sqlite_home = Path(tempfile.mkdtemp(prefix="consentry-bench-db-"))
    if args.only != "pages":
        _bench_backend("sqlite", f"sqlite:///{sqlite_home / 'registry.db'}", args.workers, args)
    if args.only != "served":
        _bench_pages("sqlite", f"sqlite:///{sqlite_home / 'pages.db'}", args)
    if args.postgres:
        for bench in ("served", "pages"):
            if args.only not in (None, bench):
                continue
            url, drop = _postgres_database(args.postgres)
            try:
                if bench == "served":
                    _bench_backend("postgresql", url, args.workers, args)
                else:
                    _bench_pages("postgresql", url, args)
            finally:
                drop()


if __name__ == "__main__":
    main()
