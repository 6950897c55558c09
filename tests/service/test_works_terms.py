"""Works and terms on a served registry: a creator registers a catalogue from a machine
of its own, sending fingerprints and never content; the registry takes nothing it has
not checked; ``work list`` and ``terms set|show`` read the same over HTTP as locally."""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from consentry import app
from consentry.client import RemoteWorkspace
from consentry.client.http import RegistryClient
from consentry.client.works import upload_batches
from consentry.crypto import FileKeyStore, Signer
from consentry.crypto.httpsig import sign_request
from consentry.errors import WorkInterruptedError
from consentry.fingerprint import fingerprint_bytes
from consentry.registry import EventKind, FileFingerprint
from consentry.settings import Settings
from consentry.store import Base, open_engine
from tests.conftest import LICENSES, STDLIB
from tests.e2e.conftest import Cli
from tests.service.conftest import Served

_IDS = re.compile(r"\b(own|lic|wrk|col|dsp|trm)_[a-z2-7]+\b")
# What two registries give the same file differently: the ids they make, and the time.
_MADE_HERE = {"id", "owner_id", "collection_id", "registered_at", "dispute_id"}


def _catalogue(folder: Path, sentence: str) -> Path:
    """Real text files (licences), a module of the standard library, and a file holding
    a sentence nothing else holds."""
    folder.mkdir(parents=True)
    for name in ("GPL-3", "Apache-2.0", "MPL-2.0", "BSD"):
        if (LICENSES / name).is_file():
            shutil.copyfile(LICENSES / name, folder / name)
    shutil.copyfile(STDLIB / "textwrap.py", folder / "textwrap.py")
    prose = " ".join(f"Paragraph {k} of a letter nobody else has written." for k in range(12))
    (folder / "letter.txt").write_text(f"{prose}\n{sentence}\n{prose}\n")
    return folder


def _owner(cli: Cli, name: str = "Ada") -> str:
    return str(cli("owner", "create", name, "--json").records()[0]["id"])


def _local(tmp_path: Path) -> Cli:
    local = Cli(tmp_path / "local" / "home", keys=tmp_path / "local" / "keys")
    local("init")
    return local


def _agreeing(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in _MADE_HERE}


def _by_path(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((_agreeing(r) for r in records), key=lambda r: str(r["path"]))


def _shape(output: str) -> str:
    return _IDS.sub(lambda m: f"{m.group(1)}_…", output)


def test_a_catalogue_registered_over_http_reads_as_a_local_one(
    served: Served, tmp_path: Path
) -> None:
    folder = _catalogue(tmp_path / "catalogue", "The heron counts the reeds at dawn.")
    creator, local = served.party(tmp_path, "creator"), _local(tmp_path)
    remote_owner, local_owner = _owner(creator), _owner(local)
    register = ("work", "register", str(folder), "--collection", "Licences", "--workers", "1")

    over_http = creator(*register, "--owner", remote_owner, "--json").records()
    here = local(*register, "--owner", local_owner, "--json").records()
    assert [_agreeing(r) for r in over_http] == [_agreeing(r) for r in here]
    assert {r["status"] for r in over_http} == {"registered"}
    assert {r["kind"] for r in over_http} == {"text", "code"}
    assert {r["owner_id"] for r in over_http} == {remote_owner}

    # Listed, as JSON and as the table, as the local registry lists its own. (Works
    # of one batch share the moment its change is fixed at, so a served registry lists
    # them among themselves by id, not in the order they were read.)
    listed = creator("work", "list", "--owner", remote_owner, "--json").records()
    assert _by_path(listed) == _by_path(
        local("work", "list", "--owner", local_owner, "--json").records()
    )
    assert {w["id"] for w in listed} == {r["id"] for r in over_http}
    table = _shape(creator("work", "list", "--owner", remote_owner).stdout).splitlines()
    shown = _shape(local("work", "list", "--owner", local_owner).stdout).splitlines()
    assert table[:3] == shown[:3] and table[-2:] == shown[-2:]
    assert sorted(table) == sorted(shown)
    assert creator("work", "list", "--limit", "2", "--json").records() == listed[:2]

    # The same content again, in a batch of its own: the works it already is.
    again = creator(*register, "--owner", remote_owner, "--json").records()
    assert {r["status"] for r in again} == {"existing"}
    assert [r["id"] for r in again] == [r["id"] for r in over_http]
    assert "0 registered, 6 existing" in creator(*register, "--owner", remote_owner).stdout


def _machine(served: Served, party: Cli) -> Settings:
    """The party's machine, as ``app`` use cases in this process see it."""
    keys, home = party.keys, party.home
    return Settings(home=home, database_url="sqlite://", keys_dir=keys, registry_url=served.url)


def _rows(served: Served) -> str:
    """Every row of every table of the served database, as text."""
    engine = open_engine(served.settings.database_url)
    try:
        with engine.connect() as connection:
            return "\n".join(
                repr(row)
                for table in Base.metadata.sorted_tables
                for row in connection.execute(table.select())
            )
    finally:
        engine.dispose()


def _blobs(sent: bytes) -> bytes:
    """Every base64 value of every uploaded fingerprint, decoded."""
    out = b""
    for file in json.loads(sent).get("files", []):
        prints = file["fingerprint"]
        for value in (*prints.values(), *(prints["text_view"] or {}).values()):
            if isinstance(value, str) and len(value) > 64:
                out += base64.b64decode(value)
    return out


def test_only_fingerprints_leave_the_creators_machine(served: Served, tmp_path: Path) -> None:
    token = secrets.token_hex(12)
    sentence = f"The heron counts {token} reeds at dawn."
    folder = _catalogue(tmp_path / "catalogue", sentence)
    creator = served.party(tmp_path, "creator")
    owner = _owner(creator)
    sent: list[bytes] = []
    with RemoteWorkspace(_machine(served, creator)) as ws:
        # Every request the client sends, each signing round of each batch included.
        ws.client._http.event_hooks["request"].append(lambda r: sent.append(r.read()))
        done = app.register_works(ws, [folder], owner_id=owner)
    assert done.tally["registered"] == 6
    batches = [body for body in sent if body.startswith(b'{"collection"')]
    assert batches and all(b'"fingerprint"' in body for body in batches)
    letter = (folder / "letter.txt").read_bytes()
    for body in sent:
        decoded = _blobs(body) if body in batches else b""
        for secret in (token.encode(), sentence.encode(), letter[:60], letter[-60:]):
            assert secret not in body and secret not in decoded
    # Nor what the client would build for the letter alone, nor anything stored.
    printed = FileFingerprint("letter.txt", fingerprint_bytes("letter.txt", letter))
    (built,) = upload_batches([printed])
    assert token not in json.dumps(built)
    assert token not in _rows(served)
    assert "reeds at dawn" not in _rows(served)
    if served.settings.database_url.startswith("sqlite"):
        for stored in served.home.glob("registry.db*"):
            assert token.encode() not in stored.read_bytes()


def test_an_interrupted_registration_keeps_each_batch_the_registry_answered(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("consentry.client.works.BATCH_FILES", 2)
    folder = _catalogue(tmp_path / "catalogue", "A line of its own.")
    creator = served.party(tmp_path, "creator")
    owner = _owner(creator)

    def stop_at_the_second(result: object) -> None:
        if len(seen) == 1:
            raise KeyboardInterrupt
        seen.append(result)

    seen: list[object] = []
    with (
        RemoteWorkspace(_machine(served, creator)) as ws,
        pytest.raises(WorkInterruptedError) as stopped,
    ):
        app.register_works(ws, [folder], owner_id=owner, on_file=stop_at_the_second)
    assert "2 of 6 files registered and saved" in str(stopped.value)
    assert len(creator("work", "list", "--json").records()) == 2
    rerun = creator("work", "register", str(folder), "--owner", owner, "--json").records()
    assert [r["status"] for r in rerun] == ["existing"] * 2 + ["registered"] * 4


def _signed(
    http: httpx.Client, served: Served, method: str, path: str, body: Any, signer: Signer
) -> httpx.Response:
    """A request as a client of the party's own making sends it, signed with its key."""
    content = json.dumps(body).encode()
    url = f"{served.url}{path}"
    headers = {"content-type": "application/json"}
    headers |= sign_request(
        method=method,
        url=url,
        headers=headers,
        body=content,
        signer=signer,
        created=int(time.time()),
        nonce=secrets.token_urlsafe(16),
    )
    return http.request(method, url, content=content, headers=headers)


def _png() -> bytes:
    noise = np.random.default_rng(7).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, "PNG")
    return out.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _fp(**changes: Any) -> Any:
    return lambda file: file["fingerprint"].update(changes)


def _file(**changes: Any) -> Any:
    return lambda file: file.update(changes)


_PAST_THE_STREAM = bytes(8) + (2**31).to_bytes(4, "little")
_VIEW = {"digest": "0" * 64, "minhash": "", "excerpts": ""}
# (what is wrong, the change to one file's JSON, what the problem names)
_HOSTILE: list[tuple[str, Any, str]] = [
    ("short minhash", _fp(minhash=_b64(bytes(1000))), "fingerprint.minhash"),
    ("ragged excerpts", _fp(excerpts=_b64(bytes(20))), "fingerprint.excerpts"),
    ("excerpts past the stream", _fp(excerpts=_b64(_PAST_THE_STREAM)), "fingerprint.excerpts"),
    ("bad base64", _fp(minhash="!!not base64!!"), "fingerprint.minhash"),
    ("base64 of no ASCII", _fp(excerpts="é" * 8), "fingerprint.excerpts"),
    ("huge path", _file(path="a/" * 100_000), "path"),
    ("escape in path", _file(path="\x1b[2Jowned"), "path"),
    ("lone surrogate", _file(path="a\ud800"), "path"),
    ("path a number", _file(path=7), "files[1].path"),
    ("NUL in title", _fp(title="a\x00b"), "fingerprint.title"),
    ("huge title", _fp(title="t" * 10_000), "fingerprint.title"),
    ("unknown field", _fp(content="the whole text"), "fingerprint.content"),
    ("old parameters", _fp(params_version="fp4"), "fingerprint.params_version"),
    ("binary", _fp(kind="binary"), "fingerprint.kind"),
    ("unknown kind", _fp(kind="video"), "fingerprint.kind"),
    ("negative size", _fp(size=-1), "fingerprint.size"),
    ("size as a float", _fp(size=1e300), "fingerprint.size"),
    ("size a boolean", _fp(size=True), "fingerprint.size"),
    ("not a digest", _fp(digest="ab" * 40), "fingerprint.digest"),
    ("pdq on text", _fp(pdq=_b64(bytes(32)), pdq_quality=90), "fingerprint: pdq"),
    ("text_view on text", _fp(text_view=_VIEW), "fingerprint.text_view"),
    ("too little content", _fp(content_length=3), "fingerprint.content_length"),
    ("media type", _fp(media_type="text/plain\r\nX-Evil: 1"), "fingerprint.media_type"),
    ("spdx", _fp(spdx="MIT; rm -rf /"), "fingerprint.spdx"),
    ("fingerprint not an object", _file(fingerprint=[1, 2]), "files[1].fingerprint"),
    ("no fingerprint", lambda file: file.pop("fingerprint"), "files[1]"),
]
_HOSTILE_CODE: list[tuple[str, Any, str]] = [
    ("no text view", _fp(text_view=None), "fingerprint.text_view"),
    (
        "short text view",
        lambda file: file["fingerprint"]["text_view"].update(minhash=_b64(bytes(8))),
        "fingerprint.text_view.minhash",
    ),
]
_HOSTILE_IMAGE: list[tuple[str, Any, str]] = [
    ("short pdq", _fp(pdq=_b64(bytes(31))), "fingerprint.pdq"),
    ("pdq quality", _fp(pdq_quality=101), "fingerprint.pdq_quality"),
    ("ragged keypoints", _fp(crop_segments=_b64(b"orb1\x00\x02" + bytes(40))), "crop_segments"),
    ("too many keypoints", _fp(crop_segments=_b64(b"orb1\xff\xff")), "crop_segments"),
    ("minhash on an image", _fp(minhash=_b64(bytes(1024))), "fingerprint"),
]


def test_a_hostile_fingerprint_is_refused_by_file_and_field_and_stores_nothing(
    served: Served, tmp_path: Path, http: httpx.Client
) -> None:
    creator = served.party(tmp_path, "creator")
    owner = _owner(creator)
    signer = FileKeyStore(creator.keys).load(owner)
    good = FileFingerprint(
        "ok/GPL-3", fingerprint_bytes("GPL-3", (LICENSES / "GPL-3").read_bytes())
    )
    samples = {
        "text": FileFingerprint(
            "ok/BSD", fingerprint_bytes("BSD", (LICENSES / "BSD").read_bytes())
        ),
        "code": FileFingerprint(
            "ok/textwrap.py",
            fingerprint_bytes("textwrap.py", (STDLIB / "textwrap.py").read_bytes()),
        ),
        "image": FileFingerprint("ok/noise.png", fingerprint_bytes("noise.png", _png())),
    }
    size = httpx.get(f"{served.url}/healthz").json()["log_size"]
    cases = [("text", *c) for c in _HOSTILE]
    cases += [("code", *c) for c in _HOSTILE_CODE] + [("image", *c) for c in _HOSTILE_IMAGE]
    for kind, why, spoil, field in cases:
        hostile = samples[kind].to_json()
        spoil(hostile)
        body = {"collection": None, "files": [good.to_json(), hostile]}
        answer = _signed(http, served, "POST", "/v1/works", body, signer)
        assert answer.status_code == 400, (why, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["type"] == "/problems/invalid-input"
        assert field in problem["detail"] and "files[1]" in problem["detail"], (why, problem)
        assert len(problem["detail"]) < 400, why
    too_many = {"collection": None, "files": [good.to_json()] * 501}
    assert _signed(http, served, "POST", "/v1/works", too_many, signer).status_code == 400

    # Nothing of any of those batches was stored, not even their good file.
    assert http.get(f"{served.url}/v1/works").json() == {"items": [], "next": None}
    assert httpx.get(f"{served.url}/healthz").json()["log_size"] == size
    # The same files, untouched, register: it was the spoiled field that was refused.
    body = {"collection": None, "files": [good.to_json(), *(s.to_json() for s in samples.values())]}
    client = RegistryClient(served.url)
    events = frozenset({EventKind.WORK_REGISTERED})
    works = {"work": lambda d: d.get("owner") == owner}
    made = client.change(
        "POST", "/v1/works", body, signer=signer, party_id=owner, events=events, documents=works
    )
    client.close()
    assert [r["status"] for r in made["items"]] == ["registered"] * 4
    assert [r["path"] for r in made["items"]] == [f["path"] for f in body["files"]]


def _terms_file(folder: Path, name: str, document: dict[str, Any]) -> str:
    path = folder / name
    path.write_text(json.dumps({"version": 1, **document}))
    return str(path)


def test_terms_set_and_shown_over_http_read_as_local_ones(served: Served, tmp_path: Path) -> None:
    folder = _catalogue(tmp_path / "catalogue", "Terms are read from the owner down.")
    deny = _terms_file(tmp_path, "deny.json", {"categories": {"train-ai": "deny"}})
    search = _terms_file(tmp_path, "search.json", {"categories": {"search": "allow"}})
    price = {"per": "work", "amount": "0.05", "currency": "EUR"}
    priced = _terms_file(
        tmp_path, "priced.json", {"price": price, "conditions": {"attribution": "Ada, licences"}}
    )
    creator, local = served.party(tmp_path, "creator"), _local(tmp_path)
    outputs: list[list[str]] = []
    for cli in (creator, local):
        owner = _owner(cli)
        # A collection whose name is no URL path segment, terms set on it as it is made.
        register = ("work", "register", str(folder), "--owner", owner, "--workers", "1")
        works = cli(*register, "--collection", "Licences/2024 ..", "--terms", deny, "--json")
        works = works.records()
        work = works[0]["id"]
        shown = [
            cli("terms", "set", owner, "--owner", owner, "--file", search, "--json").stdout,
            cli("terms", "set", "Licences/2024 ..", "--owner", owner, "--file", priced).stdout,
            cli("terms", "set", work, "--owner", owner, "--file", search, "--json").stdout,
            cli("terms", "show", work, "--json").stdout,
            cli("terms", "show", work).stdout,
            cli("terms", "show", owner).stdout,
            cli("terms", "show", works[0]["collection_id"], "--json").stdout,
        ]
        outputs.append([_shape(out) for out in shown])
    over_http, here = outputs
    assert over_http == here
    effective = json.loads(over_http[3])
    # The collection's second version replaced its first (which denied training).
    assert effective["effective"]["categories"]["train-ai"] == "license"
    assert effective["effective"]["categories"]["search"] == "allow"
    assert effective["effective"]["price"]["amount"] == "0.05"
    assert [layer["kind"] for layer in effective["layers"]] == ["owner", "collection", "work"]
    assert [layer["version"] for layer in effective["layers"]] == [1, 2, 1]


def test_works_and_collections_read_in_pages_by_anyone(
    served: Served, tmp_path: Path, http: httpx.Client
) -> None:
    folder = _catalogue(tmp_path / "catalogue", "Pages of six.")
    creator = served.party(tmp_path, "creator")
    owner = _owner(creator)
    register = ("work", "register", str(folder), "--owner", owner, "--collection", "Essays")
    made = creator(*register, "--json").records()

    first = http.get(f"{served.url}/v1/works", params={"owner": owner, "limit": 4}).json()
    rest = http.get(
        f"{served.url}/v1/works", params={"owner": owner, "limit": 4, "cursor": first["next"]}
    ).json()
    assert len(first["items"]) == 4 and rest["next"] is None
    assert {w["id"] for w in first["items"] + rest["items"]} == {r["id"] for r in made}
    assert http.get(f"{served.url}/v1/works", params={"owner": "own_none"}).json()["items"] == []
    one = http.get(f"{served.url}/v1/works/{made[0]['id']}").json()
    assert one == {
        k: v for k, v in made[0].items() if k not in {"status", "work_path", "dispute_id"}
    }
    missing = http.get(f"{served.url}/v1/works/wrk_none")
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"
    found = http.get(f"{served.url}/v1/collections/Essays", params={"owner": owner}).json()
    assert found == {"id": made[0]["collection_id"], "owner_id": owner, "name": "Essays"}
    assert (
        http.get(f"{served.url}/v1/collections/{found['id']}", params={"owner": owner}).json()
        == found
    )


def test_another_party_cannot_set_terms_or_register_into_anothers_collection(
    served: Served, tmp_path: Path, http: httpx.Client
) -> None:
    folder = _catalogue(tmp_path / "catalogue", "Only Ada sets these terms.")
    creator, rival, lab = (served.party(tmp_path, n) for n in ("creator", "rival", "lab"))
    ada, bob = _owner(creator, "Ada"), _owner(rival, "Bob")
    licensee = lab("licensee", "create", "Lab", "--json").records()[0]["id"]
    register = ("work", "register", str(folder), "--collection", "Ada's", "--json")
    works = creator(*register, "--owner", ada).records()
    work, collection = works[0]["id"], works[0]["collection_id"]
    before = creator("terms", "show", work, "--json").stdout
    size = http.get(f"{served.url}/healthz").json()["log_size"]
    deny = {"version": 1, "categories": {"train-ai": "allow"}}

    # The lab's key, as a client of its own making would send it: refused, 403.
    lab_key = FileKeyStore(lab.keys).load(licensee)
    for target in (work, collection, ada):
        answer = _signed(http, served, "PUT", f"/v1/terms/{target}", {"terms": deny}, lab_key)
        assert answer.status_code == 403, answer.text
        assert answer.json()["type"] == "/problems/forbidden"
    # The lab's CLI holds no key of Ada's to sign with.
    refused = lab(
        "terms",
        "set",
        work,
        "--owner",
        ada,
        "--file",
        _terms_file(tmp_path, "t.json", deny),
        expect=2,
    )
    assert "this machine holds no key for owner" in refused.stderr
    # Another owner's key on Ada's work, collection and owner: refused, 403.
    bob_key = FileKeyStore(rival.keys).load(bob)
    for target in (work, collection, ada):
        answer = _signed(http, served, "PUT", f"/v1/terms/{target}", {"terms": deny}, bob_key)
        assert answer.status_code in (403, 404), answer.text
    # Nor can Bob put works in Ada's collection, by its id.
    letter = FileFingerprint(
        "b/letter", fingerprint_bytes("letter", (LICENSES / "MPL-2.0").read_bytes())
    )
    body = {"collection": collection, "files": [letter.to_json()]}
    answer = _signed(http, served, "POST", "/v1/works", body, bob_key)
    assert answer.status_code == 404, answer.text

    assert creator("terms", "show", work, "--json").stdout == before
    assert http.get(f"{served.url}/healthz").json()["log_size"] == size
    # Bob registering Ada's content over HTTP opens a dispute; Ada's work stays hers.
    disputed = rival("work", "register", str(folder / "GPL-3"), "--owner", bob, "--json").records()
    assert disputed[0]["status"] == "disputed"
    assert disputed[0]["owner_id"] == ada and disputed[0]["dispute_id"]
