"""Witnesses over real HTTP on loopback: the protocol's answers on the wire, no
rollback under concurrent submissions, the log's client, and a registry's checkpoints
cosigned by a quorum that proofs then require."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from consentry.crypto import KeyPair
from consentry.errors import VerificationError, WitnessError
from consentry.log import (
    Checkpoint,
    MerkleTree,
    NoteVerifier,
    WitnessPolicy,
    leaf_hash,
    sign_checkpoint,
)
from consentry.registry import Registry
from consentry.witness import (
    Witness,
    WitnessEndpoint,
    WitnessRequest,
    WitnessServer,
    WitnessState,
    request_cosignature,
    running,
)
from tests.conftest import Actor

ORIGIN = "consentry.test/log"
LOG_KEY = KeyPair.generate()
TREE = MerkleTree([leaf_hash(f"entry {i}".encode()) for i in range(200)])


def _note(size: int, root: bytes | None = None) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root or TREE.root(size)), LOG_KEY)


def _post(url: str, body: bytes, method: str = "POST") -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers["Content-Type"], exc.read()


def _post_through_resets(url: str, body: bytes) -> int:
    """The status of a POST, sent again when the connection is reset before an answer.

    Sixteen clients at once overflow the server's listen queue (socketserver's default
    of 5) on a loaded machine, and the kernel resets a connection the witness never
    accepted. Sending again cannot hide a rollback: a request the witness had already
    applied would come back 409, leaving the round without its one winner."""
    for _ in range(4):
        try:
            return _post(url, body)[0]
        except (ConnectionResetError, urllib.error.URLError) as exc:
            reason = getattr(exc, "reason", exc)
            if not isinstance(reason, ConnectionResetError):
                raise
    return _post(url, body)[0]


def _witness(tmp_path: Path, name: str, origin: str = ORIGIN, key: KeyPair = LOG_KEY) -> Witness:
    return Witness(
        name,
        KeyPair.generate(),
        [NoteVerifier(origin, key.public)],
        WitnessState(tmp_path / f"{name.replace('/', '_')}.db"),
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[WitnessServer]:
    with running(_witness(tmp_path, "witness.test/w1")) as server:
        yield server


def _endpoint(server: WitnessServer) -> WitnessEndpoint:
    return WitnessEndpoint(server.url, server.witness.key)


def test_the_protocol_on_the_wire(served: WitnessServer) -> None:
    add = served.url + "/add-checkpoint"
    status, kind, body = _post(add, WitnessRequest(0, (), _note(10)).to_body())
    assert status == 200 and body.startswith("\u2014 witness.test/w1 ".encode())
    status, kind, body = _post(add, WitnessRequest(0, (), _note(20)).to_body())
    assert (status, kind, body) == (409, "text/x.tlog.size", b"10\n")
    proof = tuple(TREE.consistency_proof(10, 20))
    assert _post(add, WitnessRequest(10, proof, _note(20)).to_body())[0] == 200
    assert _post(add, WitnessRequest(20, proof[:-1], _note(30)).to_body())[0] == 422
    assert _post(served.url + "/elsewhere", b"")[0] == 404
    assert _post(add, None, method="GET")[0] == 405  # type: ignore[arg-type]


def test_concurrent_submissions_never_roll_the_witness_back(
    served: WitnessServer, tmp_path: Path
) -> None:
    add = served.url + "/add-checkpoint"
    assert _post(add, WitnessRequest(0, (), _note(10)).to_body())[0] == 200
    known = 10
    for _ in range(5):
        sizes = range(known + 1, known + 17)
        results: dict[int, int] = {}

        def submit(size: int, old: int = known, results: dict[int, int] = results) -> None:
            body = WitnessRequest(old, tuple(TREE.consistency_proof(old, size)), _note(size))
            results[size] = _post_through_resets(add, body.to_body())

        threads = [threading.Thread(target=submit, args=(size,)) for size in sizes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [size for size, status in results.items() if status == 200]
        assert len(winners) == 1, results
        assert all(status == 409 for size, status in results.items() if size not in winners)
        (known,) = winners
        stored = WitnessState(tmp_path / "witness.test_w1.db").latest(ORIGIN)
        assert stored is not None and stored.size == known


def test_the_client_learns_the_witness_size_and_reports_forks(served: WitnessServer) -> None:
    endpoint = _endpoint(served)
    proof_from = TREE.consistency_proof
    assert request_cosignature(
        endpoint, _note(50), Checkpoint(ORIGIN, 50, TREE.root(50)), lambda m: proof_from(m, 50)
    )
    # The client believes the witness is new; a 409 teaches it size 50, then it proves.
    lines = request_cosignature(
        endpoint, _note(80), Checkpoint(ORIGIN, 80, TREE.root(80)), lambda m: proof_from(m, 80)
    )
    assert len(lines) == 1 and lines[0].startswith("\u2014 witness.test/w1 ")
    with pytest.raises(VerificationError, match="past this checkpoint"):
        request_cosignature(
            endpoint, _note(60), Checkpoint(ORIGIN, 60, TREE.root(60)), lambda m: proof_from(m, 60)
        )
    forked = bytes(32)
    with pytest.raises(VerificationError, match="forked"):
        request_cosignature(
            endpoint, _note(80, forked), Checkpoint(ORIGIN, 80, forked), lambda m: [], old_size=80
        )


def test_a_witness_with_another_key_or_no_server_is_refused(
    served: WitnessServer, tmp_path: Path
) -> None:
    checkpoint = Checkpoint(ORIGIN, 5, TREE.root(5))
    other = _witness(tmp_path, "witness.test/other")
    with pytest.raises(WitnessError, match="without a cosignature by its key"):
        request_cosignature(
            WitnessEndpoint(served.url, other.key), _note(5), checkpoint, lambda m: []
        )
    with WitnessServer(other) as unused:
        closed = unused.url
    with pytest.raises(WitnessError, match="cannot reach witness"):
        request_cosignature(WitnessEndpoint(closed, other.key), _note(5), checkpoint, lambda m: [])


def test_registry_checkpoints_are_cosigned_by_a_quorum_that_proofs_require(
    registry: Registry, make_owner, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    log_key = KeyPair.generate()
    log = NoteVerifier(ORIGIN, log_key.public)
    owners: list[Actor] = [make_owner(f"Owner {i}") for i in range(3)]
    with ExitStack() as stack:
        servers = [
            stack.enter_context(running(_witness(tmp_path, f"witness.test/w{i}", key=log_key)))
            for i in range(3)
        ]
        endpoints = [_endpoint(s) for s in servers]
        first = registry.log.checkpoint(log_key, ORIGIN)
        first, refused = registry.log.witness(first, endpoints[:2])
        assert refused == {}
        owners.append(make_owner("Late owner"))
        second = registry.log.checkpoint(log_key, ORIGIN)
        assert second.checkpoint.size > first.checkpoint.size
        second, refused = registry.log.witness(second, endpoints)
        assert refused == {}
        servers[2].shutdown()
        servers[2].server_close()
        owners.append(make_owner("Later owner"))
        third, refused = registry.log.witness(registry.log.checkpoint(log_key, ORIGIN), endpoints)
        assert list(refused) == ["witness.test/w2"] and "cannot reach" in refused["witness.test/w2"]
    keys = tuple(s.witness.key for s in servers)
    bundle = registry.log.prove(0, second)
    assert (
        bundle.verify(log, bundle.extra or b"", witnesses=WitnessPolicy(keys, 3)).size
        == second.checkpoint.size
    )
    late = registry.log.prove(0, third)
    assert late.verify(log, late.extra or b"", witnesses=WitnessPolicy(keys, 2))
    with pytest.raises(VerificationError, match="2 of the 3 witness cosignatures"):
        late.verify(log, late.extra or b"", witnesses=WitnessPolicy(keys, 3))
