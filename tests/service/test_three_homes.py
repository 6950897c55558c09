"""Done means this: three parties on three machines (an operator, a creator, a lab),
each with a home and a key folder of its own, sharing nothing but the served registry's
URL. The creator registers a folder and sets terms; the lab asks; the creator counters
and grants; the lab gates a corpus from its snapshot and the manifest is recorded; the
creator sees the run and its proof verifies offline with only the log key; after a
revocation the next run rejects; the lab, with only its own key, can neither grant,
set terms nor read the creator's other requests. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import httpx

from consentry.crypto import FileKeyStore
from consentry.crypto.httpsig import sign_request
from tests.conftest import LICENSES
from tests.e2e.conftest import Cli
from tests.service.conftest import Served, until_published

TERMS = {
    "version": 1,
    "categories": {"train-ai": "license", "search": "allow", "data-mining": "deny"},
    "price": {"per": "work", "amount": "0.05", "currency": "EUR"},
}


def _catalogue(root: Path) -> tuple[Path, dict[str, str]]:
    folder = root / "catalogue"
    folder.mkdir(parents=True)
    texts = {}
    for name in ("GPL-3", "Apache-2.0", "MPL-2.0"):
        texts[name] = (LICENSES / name).read_text("utf-8")
        (folder / name).write_text(texts[name], "utf-8")
    return folder, texts


def _corpus(path: Path, items: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in items.items()))
    return path


def _one(cli: Cli, *args: str) -> dict[str, object]:
    return cli(*args, "--json").records()[0]


def test_three_parties_on_three_machines(served: Served, tmp_path: Path) -> None:
    creator = served.party(tmp_path, "creator")
    lab = served.party(tmp_path, "lab")
    rival = served.party(tmp_path, "rival")
    folder, texts = _catalogue(tmp_path / "creator")

    # The creator: an owner, a catalogue fingerprinted on its own machine, its terms.
    ada = str(_one(creator, "owner", "create", "Ada")["id"])
    registered = creator("work", "register", str(folder), "--owner", ada, "--workers", "1")
    assert "3 file(s): 3 registered" in registered.stdout
    works = {str(w["path"]).rsplit("/", 1)[-1]: str(w["id"]) for w in
             creator("work", "list", "--owner", ada, "--json").records()}  # fmt: skip
    assert set(works) == set(texts)
    terms_file = tmp_path / "creator" / "terms.json"
    terms_file.write_text(json.dumps(TERMS))
    creator("terms", "set", ada, "--owner", ada, "--file", str(terms_file))

    # The lab asks; the creator counters; the lab accepts; the creator grants.
    lab_id = str(_one(lab, "licensee", "create", "Lab")["id"])
    asked = _one(lab, "license", "request", "--licensee", lab_id, "--owner", ada,
                 "--purpose", "train-ai", "--offer", "0.03 EUR")  # fmt: skip
    creator("license", "counter", str(asked["id"]), "--owner", ada, "--price", "0.04 EUR")
    lab("license", "accept", str(asked["id"]), "--licensee", lab_id)
    grant = _one(creator, "license", "grant", str(asked["id"]), "--owner", ada)
    assert grant["price"] == {"per": "work", "amount": "0.04", "currency": "EUR"}

    # A rival asks the creator too: the lab never sees that request.
    rival_id = str(_one(rival, "licensee", "create", "Rival")["id"])
    theirs = _one(rival, "license", "request", "--licensee", rival_id, "--owner", ada,
                  "--purpose", "train-ai")  # fmt: skip

    # The lab gates at the lab, from its snapshot; the manifest goes to the registry.
    corpus = _corpus(tmp_path / "lab" / "corpus.jsonl", {
        "copied": texts["GPL-3"],
        "own": "A paragraph the lab wrote itself about its own models. " * 30,
    })  # fmt: skip
    first = lab("gate", "run", str(corpus), "--licensee", lab_id, "--purpose", "train-ai",
                "--out", str(tmp_path / "lab" / "run1"), "--workers", "1",
                "--json").records()[0]  # fmt: skip
    # The copy is licensed; the lab's own unregistered text has no basis it declared.
    assert first["decisions"] == {"admitted": 1, "rejected": 1}
    admitted = (tmp_path / "lab" / "run1" / "admitted.jsonl").read_text()
    assert '"copied"' in admitted
    assert (tmp_path / "lab" / "home" / "snapshots").is_dir()
    assert not (tmp_path / "lab" / "home" / "registry.db").exists()

    # The creator sees where its work went; the proof verifies with only the log key.
    proofs = str(tmp_path / "creator" / "proofs")
    used = until_published(
        lambda: creator("usage", "--owner", ada, "--out", proofs, "--json").records(), bool
    )
    assert [(u["work_id"], u["run_id"]) for u in used] == [(works["GPL-3"], first["run_id"])]
    vkey = creator("log", "key").stdout.strip()
    auditor = Cli(tmp_path / "auditor" / "home", keys=tmp_path / "auditor" / "keys")
    proof = next((tmp_path / "creator" / "proofs").iterdir())
    verified = auditor("usage", "verify", str(proof), "--log-key", vkey)
    assert f"verified: work {works['GPL-3']}" in verified.stdout

    # After a revocation, the next run rejects the copy.
    creator("license", "revoke", str(grant["id"]), "--owner", ada)
    second = lab("gate", "run", str(corpus), "--licensee", lab_id, "--purpose", "train-ai",
                 "--out", str(tmp_path / "lab" / "run2"), "--workers", "1",
                 "--json").records()[0]  # fmt: skip
    assert second["decisions"] == {"admitted": 0, "rejected": 2}
    rejected = (tmp_path / "lab" / "run2" / "rejected.jsonl").read_text()
    assert '"copied"' in rejected

    # The lab, holding only its own key: no grant, no terms, no one else's request.
    no_grant = lab("license", "grant", str(theirs["id"]), "--owner", ada, expect=2)
    assert "this machine holds no key for owner" in no_grant.stderr
    no_terms = lab("terms", "set", works["GPL-3"], "--owner", ada, "--file", str(terms_file),
                   expect=2)  # fmt: skip
    assert "this machine holds no key for owner" in no_terms.stderr
    seen = {r["id"] for r in lab("license", "list", "--licensee", lab_id, "--json").records()}
    assert theirs["id"] not in seen and asked["id"] in seen
    lab_key = FileKeyStore(lab.keys).load(lab_id)
    url = f"{served.url}/v1/requests/{theirs['id']}"
    headers = sign_request(method="GET", url=url, headers={}, body=b"", signer=lab_key,
                           created=int(time.time()), nonce=secrets.token_urlsafe(12))  # fmt: skip
    answer = httpx.get(url, headers=headers)
    assert answer.status_code == 404 and rival_id not in answer.text
    # And a grant or terms sent with the lab's own key is refused by the registry.
    for path, body in ((f"/v1/requests/{theirs['id']}/grant", {}),
                       (f"/v1/terms/{works['GPL-3']}", {"terms": TERMS})):  # fmt: skip
        content = json.dumps(body).encode()
        method = "PUT" if path.startswith("/v1/terms") else "POST"
        target = f"{served.url}{path}"
        signed = sign_request(method=method, url=target, headers={}, body=content,
                              signer=lab_key, created=int(time.time()),
                              nonce=secrets.token_urlsafe(12))  # fmt: skip
        refused = httpx.request(method, target, content=content,
                                headers={**signed, "content-type": "application/json"})  # fmt: skip
        assert refused.status_code in (403, 404), (path, refused.text)

    # The operator's log holds it all, every signature its party's.
    assert "log verified" in served.operator()("log", "verify").stdout
