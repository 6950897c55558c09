"""``consentry serve`` as its operator runs it: a process of its own with two workers,
on a free loopback port, stopped by the test. A request replayed to it is refused
whichever worker it reaches: the nonces are the database's, not a worker's. The pages
are served beside the API."""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from consentry.crypto import FileKeyStore
from consentry.crypto.httpsig import sign_request
from tests.e2e.conftest import Cli, _entry_point


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_two_workers_serve_and_refuse_a_replay_whichever_gets_it(tmp_path: Path) -> None:
    operator = Cli(tmp_path / "operator", keys=tmp_path / "operator-keys")
    operator("init")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [_entry_point(), "serve", "--port", str(port), "--workers", "2"],
        env={**operator.env, "CONSENTRY_REGISTRY": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lab = Cli(tmp_path / "lab", keys=tmp_path / "lab-keys", env={"CONSENTRY_REGISTRY": url})
        lab("status", "--wait", "60")
        licensee = lab("licensee", "create", "Lab").stdout.split()[0]
        key = FileKeyStore(lab.keys).load(licensee)
        target = f"{url}/v1/grants"
        nonce = secrets.token_urlsafe(12)
        headers = sign_request(method="GET", url=target, headers={}, body=b"", signer=key,
                               created=int(time.time()), nonce=nonce)  # fmt: skip
        with httpx.Client() as first:
            assert first.get(target, headers=headers).status_code == 200
            start = first.get(f"{url}/sign-up", headers={"accept": "text/html"})
            # The pages are served with the API.
            assert start.status_code == 200 and "Create my account" in start.text
        # New connections, so the replays are spread over the workers.
        for _ in range(6):
            with httpx.Client() as again:
                replayed = again.get(target, headers=headers)
            assert replayed.status_code == 401
            assert replayed.json()["type"] == "/problems/replayed-request"
    finally:
        server.send_signal(signal.SIGINT)
        printed, _ = server.communicate(timeout=60)
    assert server.returncode == 0, printed
    assert f"serving the registry on {url} (2 worker(s))" in printed
