"""The transparency log of a served registry: it signs itself as it grows (cosigned by
its witnesses), serves its tiles byte for byte as ``consentry log publish`` writes them,
proves entries that verify offline with only its key, and shows each owner where its
own works were used, and no one else.

Parties act from machines of their own: ``served.party`` over HTTP, and the same key
folder over the database directly (``_local``), so that each command is run both ways
and the outputs compared."""

from __future__ import annotations

import json
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from consentry import app
from consentry.api import ServiceOptions
from consentry.api.publishing import THREAD_NAME, Checkpointer
from consentry.api.service import Service
from consentry.crypto import FileKeyStore, KeyPair, Signer
from consentry.crypto.httpsig import sign_request
from consentry.errors import VerificationError
from consentry.log import Checkpoint, NoteVerifier, WitnessKey, WitnessPolicy
from consentry.log.note import signature_lines
from consentry.registry import PartyKind
from consentry.settings import Settings
from consentry.witness import WitnessState, running
from tests.conftest import STDLIB
from tests.e2e.conftest import Cli
from tests.service.conftest import Served, serving

WORK_TEXT = (STDLIB / "textwrap.py").read_text()
IMMUTABLE = "public, max-age=31536000, immutable"


def _local(served: Served, root: Path, name: str) -> Cli:
    """The party of ``served.party(root, name)`` (the same key folder), acting on the
    registry's database directly instead of over HTTP."""
    return Cli(
        root / name / "local-home",
        keys=root / name / "keys",
        env={"CONSENTRY_DATABASE_URL": served.settings.database_url},
    )


def _published(http: httpx.Client, url: str, size: int, *, within: float = 10.0) -> dict[str, Any]:
    """The registry's newest checkpoint, once it covers ``size`` entries."""
    deadline = time.monotonic() + within
    while True:
        answer = http.get(f"{url}/v1/log/checkpoint")
        if answer.status_code == 200 and answer.json()["size"] >= size:
            record: dict[str, Any] = answer.json()
            return record
        assert time.monotonic() < deadline, f"no checkpoint of {size} within {within}s"
        time.sleep(0.05)


def _log_size(http: httpx.Client, url: str) -> int:
    return int(http.get(f"{url}/healthz").json()["log_size"])


def _signed_get(http: httpx.Client, url: str, key: Signer) -> httpx.Response:
    request = http.build_request("GET", url, headers={"accept": "application/json"})
    request.headers.update(
        sign_request(
            method="GET",
            url=str(request.url),
            headers=dict(request.headers),
            body=b"",
            signer=key,
            created=int(time.time()),
            nonce=secrets.token_urlsafe(16),
        )
    )
    return http.send(request)


def _events(served: Served) -> list[int]:
    """The sequence numbers of the registry's events, in order (PostgreSQL spends some
    on the signing rounds' rolled-back runs, so they are not 1, 2, ...)."""
    with app.Workspace(served.settings) as ws, ws.registry.engine.connect() as db:
        return [int(seq) for (seq,) in db.execute(text("SELECT seq FROM events ORDER BY seq"))]


def _owners(served: Served, count: int) -> None:
    """``count`` owners registered straight into the served database (events for the
    log to grow by), each with a key of its own."""
    with app.Workspace(served.settings) as ws:
        for n in range(count):
            ws.registry.parties.create(PartyKind.OWNER, f"Owner {n}", KeyPair.generate())


# -- tiles ----------------------------------------------------------------------------


def test_the_served_tiles_are_the_bytes_log_publish_writes(
    served: Served, http: httpx.Client, tmp_path: Path
) -> None:
    _owners(served, 300)  # a full tile of 256, a partial one of 44, and one at level 1
    _published(http, served.url, 300)
    folder = tmp_path / "published"
    served.operator()("log", "publish", str(folder))
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    names = {str(p.relative_to(folder)) for p in files}
    assert {"checkpoint", "tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1"} <= names
    assert {"tile/entries/000", "tile/entries/001.p/44"} <= names
    for path in files:
        name = str(path.relative_to(folder))
        served_file = http.get(f"{served.url}/log/{name}")
        assert served_file.status_code == 200, name
        assert served_file.content == path.read_bytes(), name
        full = name != "checkpoint" and ".p/" not in name
        cache = served_file.headers["cache-control"]
        assert (cache == IMMUTABLE) is full, (name, cache)
        if not full:
            assert "immutable" not in cache and int(cache.rsplit("max-age=", 1)[1]) <= 60
    assert http.get(f"{served.url}/log/checkpoint").headers["content-type"].startswith("text/plain")

    # What a user checks them with: the served tiles, with only the log's key.
    creator = served.party(tmp_path, "creator")
    checked = creator("log", "verify", "--json").records()[0]
    assert checked == {"verified": True, "entries": 300, "checkpoints": 1}
    local = served.operator()("log", "verify", "--json").records()[0]
    assert local.keys() == checked.keys() and local["entries"] == 300
    assert creator("log", "verify").stdout == "log verified: 300 entries\n"
    offline = creator("log", "verify", "--from-tiles", str(folder), "--json").records()[0]
    assert offline["verified"] and offline["entries"] == 300


# Each a path a static host would not have: another spelling of a tile that exists,
# a tile past the published checkpoint, or no tile path at all.
HOSTILE_TILE_PATHS = [
    "0/x000",  # no such spelling: the last element has no x
    "0/00",
    "00/000",
    "0/000.p/0",
    "0/000.p/256",  # a full tile is never spelled partial
    "0/000.p/0045",
    "0/001.p/45",  # past the published checkpoint
    "0/002",
    "1/000",
    "9/000.p/1",
    "entries/001",
    "entries/001.p/45",
    "0/../../keys/log.key",
    "entries/x/000",
    "0/" + "9" * 5000,
    "0/٠٠٠",  # Arabic-Indic digits are digits to str.isdigit, not to a URL
    "-1/000",
]


def test_a_tile_the_log_does_not_have_is_not_found(served: Served, http: httpx.Client) -> None:
    _owners(served, 300)
    _published(http, served.url, 300)
    for path in HOSTILE_TILE_PATHS:
        answer = http.get(f"{served.url}/log/tile/{path}")
        assert answer.status_code == 404, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert "cache-control" not in answer.headers


def test_log_verify_over_http_refuses_a_rewritten_entry_and_another_log_key(
    served: Served, http: httpx.Client, tmp_path: Path
) -> None:
    _owners(served, 3)
    _published(http, served.url, 3)
    creator = served.party(tmp_path, "creator")
    other = NoteVerifier("consentry.log/other", KeyPair.generate().public).vkey()
    refused = creator("log", "verify", "--log-key", other, expect=1)
    assert refused.stderr.startswith("not verified: note carries no signature by a known key")
    # The registry rewrites an entry behind its log's back: the tiles it serves no
    # longer hash up from the entries it serves.
    with app.Workspace(served.settings) as ws, ws.registry.engine.begin() as db:
        if db.dialect.name == "sqlite":
            db.execute(text("DROP TRIGGER IF EXISTS log_entries_no_update"))
        else:
            db.execute(text("DROP TRIGGER IF EXISTS log_entries_append_only ON log_entries"))
        db.execute(text("UPDATE log_entries SET data = :data WHERE idx = 1"), {"data": b"{}"})
    rewritten = creator("log", "verify", expect=1)
    assert "tile/0/000.p/3 does not match the entries below it" in rewritten.stderr


# -- proofs ---------------------------------------------------------------------------


def test_a_proof_fetched_over_http_verifies_offline_with_only_the_log_key(
    served: Served, http: httpx.Client, tmp_path: Path
) -> None:
    creator = served.party(tmp_path, "creator")
    creator("owner", "create", "Ada")
    _published(http, served.url, _log_size(http, served.url))
    vkey = served.operator()("log", "key").stdout.strip()
    assert http.get(f"{served.url}/v1/log/key").json()["vkey"] == vkey

    (first,) = _events(served)
    answer = http.get(f"{served.url}/v1/log/proof", params={"event": first})
    assert answer.status_code == 200
    fetched = tmp_path / "event-1.tlog-proof"
    fetched.write_text(answer.json()["proof"])
    # A machine with no registry at all, holding only the log's key.
    stranger = Cli(tmp_path / "stranger", keys=tmp_path / "stranger-keys")
    ok = stranger("log", "verify-proof", str(fetched), "--log-key", vkey, "--json")
    assert ok.records() == [{"verified": True, "index": 0, "size": 1}]

    # The CLI over HTTP writes the same proof.
    made = tmp_path / "made.tlog-proof"
    creator("log", "prove", "--event", str(first), "--out", str(made))
    assert made.read_text() == fetched.read_text()
    assert creator("log", "prove", "--index", "0").stdout == fetched.read_text()

    # Another log's key, or a changed entry, does not verify.
    other = NoteVerifier("consentry.log/other", KeyPair.generate().public).vkey()
    refused = stranger("log", "verify-proof", str(fetched), "--log-key", other, expect=1)
    assert refused.stderr.startswith("not verified:")
    lines = fetched.read_text().split("\n")
    extra = next(i for i, line in enumerate(lines) if line.startswith("extra "))
    lines[extra] = lines[extra][:-4] + ("AAAA" if not lines[extra].endswith("AAAA") else "BBBB")
    forged = tmp_path / "forged.tlog-proof"
    forged.write_text("\n".join(lines))
    stranger("log", "verify-proof", str(forged), "--log-key", vkey, expect=1)


@pytest.mark.parametrize(
    ("params", "status"),
    [({}, 400), ({"index": 0, "event": 1}, 400), ({"index": 7}, 404), ({"event": 99}, 404)],
)
def test_a_proof_asked_for_wrongly_is_a_problem(
    served: Served, http: httpx.Client, tmp_path: Path, params: dict[str, int], status: int
) -> None:
    served.party(tmp_path, "creator")("owner", "create", "Ada")
    _published(http, served.url, 1)
    answer = http.get(f"{served.url}/v1/log/proof", params=params)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"


# -- the checkpointer -----------------------------------------------------------------


def _registry(tmp_path: Path) -> Settings:
    home = tmp_path / "operator"
    settings = Settings(
        home=home, database_url=f"sqlite:///{home / 'registry.db'}", keys_dir=home / "keys-own"
    )
    with app.Workspace(settings) as ws:
        app.init(ws)
    return settings


def _carries(policy: WitnessPolicy, note: str) -> bool:
    checkpoint = Checkpoint.parse(signature_lines(note)[0])
    try:
        policy.check(note, checkpoint)
    except VerificationError:
        return False
    return True


def _checkpointers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def test_the_served_log_is_signed_and_cosigned_as_it_grows_and_stops_with_the_server(
    http: httpx.Client, tmp_path: Path
) -> None:
    settings = _registry(tmp_path)
    with app.Workspace(settings) as ws:
        log = app.log_verifier(ws)
    log_vkey = log.vkey()
    witness_home = Settings(tmp_path / "witness", "sqlite://", tmp_path / "witness-keys")
    with app.Workspace(witness_home) as ws:
        witness = app.open_witness(ws, [log_vkey], state_file=tmp_path / "witness.db")
    every = 0.1
    before = len(_checkpointers())
    with running(witness) as server:
        options = ServiceOptions(
            checkpoint_every=every, witnesses=(f"{server.url} {witness.key.vkey()}",)
        )
        with serving(settings, options) as url:
            assert len(_checkpointers()) == before + 1
            creator = Cli(tmp_path / "c", keys=tmp_path / "ck", env={"CONSENTRY_REGISTRY": url})
            policy = WitnessPolicy((witness.key,), 1)
            for name in ("Ada", "Bea"):
                creator("owner", "create", name)
                size, began = _log_size(http, url), time.monotonic()
                signed = _published(http, url, size, within=40 * every)
                # Stored when signed, cosigned a witness round trip later.
                while not _carries(policy, signed["note"]):
                    assert time.monotonic() - began < 40 * every, "not cosigned in time"
                    signed = _published(http, url, size)
            proof = tmp_path / "p.tlog-proof"
            creator("log", "prove", "--index", "1", "--out", str(proof))
            wkey = witness.key.vkey()
            creator("log", "verify-proof", str(proof), "--witness", wkey, "--json")
    assert len(_checkpointers()) == before, "the checkpointer outlived the server"
    witnessed = WitnessState(tmp_path / "witness.db").latest(log.name)
    assert witnessed is not None and witnessed.size == size


def test_checkpoints_signed_by_workers_at_once_are_one_history(
    served: Served, tmp_path: Path
) -> None:
    # Two workers with homes of their own (so no lock file keeps them apart), each
    # holding the log key, signing every 20 ms while the log grows under them.
    second = tmp_path / "second-home"
    (second / "keys").mkdir(parents=True, mode=0o700)
    shutil.copy2(served.home / "keys" / "log.key", second / "keys" / "log.key")
    options = ServiceOptions(checkpoint_every=0.02)
    homes = [served.settings, Settings(second, served.settings.database_url, second / "pk")]
    services = [Service.open(s, options) for s in homes]
    workers = [Checkpointer(s) for s in services]
    for worker in workers:
        worker.start()
    try:
        _owners(served, 40)
        time.sleep(0.2)
    finally:
        for worker in workers:
            worker.stop()
        for service in services:
            service.close()
    audit = served.operator()("log", "verify", "--json").records()[0]
    assert audit["verified"] and audit["entries"] == 40 and audit["checkpoints"] >= 2
    with app.Workspace(served.settings) as ws:
        assert app.current_checkpoint(ws).checkpoint.size == 40


# -- usage and royalties --------------------------------------------------------------


def _a_priced_run(served: Served, root: Path) -> tuple[str, str, str]:
    """Ada's work, licensed to Lab at 0.05 EUR and used in one of Lab's gate runs; Bob,
    another owner. Made on the database directly: (ada, bob, lab)."""
    ada_cli, bob_cli, lab_cli = (_local(served, root, n) for n in ("creator", "bob", "lab"))
    ada = ada_cli("owner", "create", "Ada", "--json").records()[0]["id"]
    bob = bob_cli("owner", "create", "Bob", "--json").records()[0]["id"]
    lab = lab_cli("licensee", "create", "Lab", "--json").records()[0]["id"]
    works = root / "works"
    works.mkdir()
    (works / "textwrap.py").write_text(WORK_TEXT)
    (work,) = ada_cli("work", "register", str(works), "--owner", ada, "--json").records()
    request = lab_cli(
        "license", "request", "--licensee", lab, "--work", work["id"],
        "--purpose", "train-ai", "--offer", "0.05 EUR", "--json",
    ).records()[0]["id"]  # fmt: skip
    ada_cli("license", "grant", request, "--owner", ada)
    corpus = root / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "d1", "text": WORK_TEXT}) + "\n")
    lab_cli(
        "gate", "run", str(corpus), "--licensee", lab, "--purpose", "train-ai",
        "--out", str(root / "run"),
    )  # fmt: skip
    return ada, bob, lab


def test_usage_and_royalties_are_the_owners_alone_and_the_same_over_http(
    served: Served, http: httpx.Client, tmp_path: Path
) -> None:
    ada, bob, lab = _a_priced_run(served, tmp_path)
    signed = _published(http, served.url, _log_size(http, served.url))
    remote, local = served.party(tmp_path, "creator"), _local(served, tmp_path, "creator")

    def both(*args: str) -> tuple[str, str]:
        return remote(*args).stdout, local(*args).stdout

    over_http, on_database = both("usage", "--owner", ada, "--json")
    (used,) = (json.loads(line) for line in over_http.splitlines())
    assert over_http == on_database
    assert used["work_id"].startswith("wrk_") and used["licensee_id"] == lab
    assert used["checkpoint_size"] == signed["size"]
    assert used["billed"]["amount"] is not None
    assert both("usage", "--owner", ada)[0] == both("usage", "--owner", ada)[1]
    for args in (("--json",), ("--format", "csv"), ()):
        statement = both("royalties", "statement", "--owner", ada, *args)
        assert statement[0] == statement[1]
    (line,) = json.loads(both("royalties", "statement", "--owner", ada, "--json")[0])["lines"]
    assert line["currency"] == "EUR" and line["unit_price"] == "0.05"

    # A usage proof from HTTP verifies with the log key the registry names, and with
    # only the key, on a machine with no registry.
    proofs = tmp_path / "proofs"
    remote("usage", "--owner", ada, "--out", str(proofs))
    (proof,) = proofs.iterdir()
    assert remote("usage", "verify", str(proof), "--json").records()[0]["verified"]
    vkey = served.operator()("log", "key").stdout.strip()
    stranger = Cli(tmp_path / "stranger", keys=tmp_path / "stranger-keys")
    stranger("usage", "verify", str(proof), "--log-key", vkey)

    # Signed by Ada: hers, as the CLI showed. By Bob: his own, which is nothing of
    # hers. By the lab, or unsigned: refused, with nothing in the answer.
    keys = {who: FileKeyStore(tmp_path / who / "keys").load(pid) for who, pid in
            (("creator", ada), ("bob", bob), ("lab", lab))}  # fmt: skip
    mine = _signed_get(http, f"{served.url}/v1/usage", keys["creator"]).json()
    assert [i["work_id"] for i in mine["items"]] == [used["work_id"]]
    statement = _signed_get(http, f"{served.url}/v1/royalties", keys["creator"]).json()
    assert statement == json.loads(both("royalties", "statement", "--owner", ada, "--json")[1])
    bobs = _signed_get(http, f"{served.url}/v1/usage", keys["bob"]).json()
    assert bobs["items"] == []
    assert _signed_get(http, f"{served.url}/v1/royalties", keys["bob"]).json()["lines"] == []
    for path in ("/v1/usage", "/v1/royalties"):
        refused = _signed_get(http, f"{served.url}{path}", keys["lab"])
        assert refused.status_code == 403 and used["work_id"] not in refused.text
        unsigned = http.get(f"{served.url}{path}")
        assert unsigned.status_code == 401 and used["work_id"] not in unsigned.text
        stranger_key = _signed_get(http, f"{served.url}{path}", KeyPair.generate())
        assert stranger_key.status_code == 401
    # From the CLI: the lab holds no key of Ada's, and its own is no owner's.
    lab_remote = served.party(tmp_path, "lab")
    assert "holds no key for owner" in lab_remote("usage", "--owner", ada, expect=2).stderr
    lab_remote("royalties", "statement", "--owner", lab, expect=2)


# -- the CLI, the same both ways ------------------------------------------------------


def test_log_key_prove_and_verify_print_the_same_over_http(
    served: Served, http: httpx.Client, tmp_path: Path
) -> None:
    creator = served.party(tmp_path, "creator")
    creator("owner", "create", "Ada")
    creator("licensee", "create", "Lab")
    _published(http, served.url, 2)
    local = _local(served, tmp_path, "creator")
    for args in (
        ("log", "key"),
        ("log", "prove", "--index", "1"),
        ("log", "prove", "--event", str(_events(served)[1])),
        ("log", "verify"),
    ):
        assert creator(*args).stdout == local(*args).stdout, args
    remote_json, local_json = (c("log", "verify", "--json").records()[0] for c in (creator, local))
    assert remote_json.keys() == local_json.keys() and remote_json["entries"] == 2
    far = creator("log", "prove", "--index", "2", expect=2)
    assert "not in the checkpoint of size 2" in far.stderr


def test_log_checkpoint_over_http_prints_the_registrys_newest(
    served: Served, http: httpx.Client, tmp_path: Path
) -> None:
    creator = served.party(tmp_path, "creator")
    creator("owner", "create", "Ada")
    signed = _published(http, served.url, 1)
    assert creator("log", "checkpoint", "--json").records() == [signed]
    assert creator("log", "checkpoint").stdout == signed["note"]
    assert not (tmp_path / "creator" / "home" / "keys" / "log.key").exists()


def test_witness_keys_name_the_witness_in_the_quorum(tmp_path: Path) -> None:
    """What ``serve --witness`` refuses before serving: a quorum it cannot meet."""
    operator = Cli(tmp_path / "op", keys=tmp_path / "op-keys")
    operator("init")
    wkey = WitnessKey("w.example", KeyPair.generate().public).vkey()
    refused = operator(
        "serve", "--witness", f"http://127.0.0.1:9 {wkey}", "--quorum", "2", expect=2
    )
    assert "--quorum 2 needs between 1 and 1 witnesses" in refused.stderr
    bad = operator("serve", "--witness", "not-a-url", expect=2)
    assert "is not 'URL VKEY'" in bad.stderr


def test_an_index_past_any_log_is_refused_as_input(served: Served, http: httpx.Client) -> None:
    # Found by schemathesis: an integer too large for the database was a server error.
    for query in ("index=" + "9" * 30, "event=" + "9" * 30, "index=-1"):
        answer = http.get(f"{served.url}/v1/log/proof?{query}")
        assert answer.status_code == 400, (query, answer.text)
        assert answer.json()["type"] == "/problems/invalid-input"
