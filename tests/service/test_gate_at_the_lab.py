"""The lab's gate at the lab: a snapshot signed with the log's key, brought up to date
with only what changed, refused when it is not the registry's word, and a run made with
no connection whose manifest is sent later."""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path

import httpx
import pytest

from consentry.api import ServiceOptions
from consentry.app.log import log_origin
from consentry.crypto import FileKeyStore, KeyPair
from consentry.crypto.httpsig import sign_request
from consentry.log.note import NoteVerifier
from tests.conftest import LICENSES
from tests.e2e.conftest import Cli
from tests.service.conftest import Served, serving, until_published


def _signed_get(url: str, key: KeyPair) -> httpx.Response:
    headers = sign_request(method="GET", url=url, headers={}, body=b"", signer=key,
                           created=int(time.time()), nonce=secrets.token_urlsafe(12))  # fmt: skip
    return httpx.get(url, headers=headers, timeout=30)


def _unreachable(cli: Cli) -> Cli:
    """The same party with its registry out of reach (a port nothing listens on)."""
    return Cli(
        cli.home, keys=cli.keys, env={**cli.overrides, "CONSENTRY_REGISTRY": "http://127.0.0.1:9"}
    )


class Lab:
    """A creator with one registered licence text under a grant, and a lab."""

    def __init__(self, served: Served, root: Path) -> None:
        self.creator = served.party(root, "creator")
        self.lab = served.party(root, "lab")
        self.root = root
        self.owner = self.creator("owner", "create", "Ada").stdout.split()[0]
        self.licensee = self.lab("licensee", "create", "Lab").stdout.split()[0]
        works = root / "works"
        works.mkdir()
        (works / "GPL-3").write_text((LICENSES / "GPL-3").read_text())
        self.creator("work", "register", str(works), "--owner", self.owner, "--workers", "1")
        asked = self.lab("license", "request", "--licensee", self.licensee, "--owner",
                         self.owner, "--purpose", "train-ai").stdout.split()[0]  # fmt: skip
        self.grant = self.creator("license", "grant", asked, "--owner", self.owner).stdout.split()[
            0
        ]
        self.corpus = root / "corpus.jsonl"
        text = (LICENSES / "GPL-3").read_text()
        self.corpus.write_text(json.dumps({"id": "gpl", "text": text}) + "\n")

    def run(self, out: str, *more: str, cli: Cli | None = None) -> dict[str, object]:
        done = (cli or self.lab)("gate", "run", str(self.corpus), "--licensee", self.licensee,
                                 "--purpose", "train-ai", "--out", str(self.root / out),
                                 "--workers", "1", "--json", *more)  # fmt: skip
        return done.records()[0]


@pytest.fixture
def setup(served: Served, tmp_path: Path) -> Lab:
    return Lab(served, tmp_path)


def test_a_snapshot_is_fetched_whole_once_then_only_what_changed(setup: Lab) -> None:
    snapshot = setup.root / "lab.snapshot"
    first = setup.lab("gate", "snapshot", str(snapshot), "--licensee", setup.licensee)
    assert "snapshot up to log entry" in first.stdout
    size = snapshot.stat().st_size
    setup.creator("license", "revoke", setup.grant, "--owner", setup.owner)
    again = setup.lab("gate", "snapshot", str(snapshot), "--licensee", setup.licensee)
    assert "update from log entry" in again.stdout
    # Read offline, the update is there: the revocation rejects the copy.
    summary = setup.run("offline", "--snapshot", str(snapshot),
                        cli=_unreachable(setup.lab))  # fmt: skip
    assert summary["decisions"] == {"admitted": 0, "rejected": 1}
    assert snapshot.stat().st_size >= size


def test_an_offline_run_decides_as_of_its_snapshot_and_its_manifest_is_sent_later(
    setup: Lab, served: Served
) -> None:
    snapshot = setup.root / "lab.snapshot"
    setup.lab("gate", "snapshot", str(snapshot), "--licensee", setup.licensee)
    nowhere = _unreachable(setup.lab)
    summary = setup.run("offline", "--snapshot", str(snapshot), cli=nowhere)
    assert summary["decisions"] == {"admitted": 1, "rejected": 0}
    assert (setup.root / "offline" / "snapshot.note").is_file()
    assert setup.creator("usage", "--owner", setup.owner, "--json").records() == []
    sent = setup.lab(
        "manifest", "submit", str(setup.root / "offline"), "--licensee", setup.licensee
    )
    assert "recorded on the registry's log" in sent.stdout
    used = until_published(
        lambda: setup.creator("usage", "--owner", setup.owner, "--json").records(), bool
    )
    assert [u["run_id"] for u in used] == [summary["run_id"]]
    # Sent twice: the registry takes the same manifest as recorded, never a second run.
    again = setup.lab("manifest", "submit", str(setup.root / "offline"), "--licensee",
                      setup.licensee, expect=None)  # fmt: skip
    assert again.code != 0 and "started already" in again.stderr
    assert len(setup.creator("usage", "--owner", setup.owner, "--json").records()) == 1


def test_a_snapshot_is_only_for_its_licensee(setup: Lab, served: Served) -> None:
    owner_key = FileKeyStore(setup.creator.keys).load(setup.owner)
    refused = _signed_get(f"{served.url}/v1/snapshot", owner_key)
    assert refused.status_code == 403, refused.text
    assert _signed_get(f"{served.url}/v1/snapshot", KeyPair.generate()).status_code == 401
    assert httpx.get(f"{served.url}/v1/snapshot").status_code == 401
    lab_key = FileKeyStore(setup.lab.keys).load(setup.licensee)
    answer = _signed_get(f"{served.url}/v1/snapshot", lab_key)
    note = base64.b64decode(answer.headers["consentry-snapshot-note"]).decode()
    assert f"licensee {setup.licensee}\n" in note


def test_a_snapshot_not_signed_by_the_pinned_log_key_is_refused(setup: Lab) -> None:
    snapshot = setup.root / "lab.snapshot"
    setup.lab("gate", "snapshot", str(snapshot), "--licensee", setup.licensee)
    pinned = snapshot.with_name(snapshot.name + ".logkey")
    another = KeyPair.generate().public
    other = NoteVerifier(log_origin(another), another).vkey()
    pinned.write_text(other + "\n")
    refused = setup.lab("gate", "snapshot", str(snapshot), "--licensee", setup.licensee,
                        expect=2)  # fmt: skip
    assert "pinned" in refused.stderr
    # And offline, the snapshot no longer opens: its note is not that key's.
    nowhere = _unreachable(setup.lab)
    offline = nowhere("gate", "run", str(setup.corpus), "--licensee", setup.licensee,
                      "--purpose", "train-ai", "--out", str(setup.root / "run"),
                      "--workers", "1", "--snapshot", str(snapshot), expect=2)  # fmt: skip
    assert "pinned" in offline.stderr


def test_an_edited_snapshot_note_is_refused_before_anything_is_read(setup: Lab) -> None:
    snapshot = setup.root / "lab.snapshot"
    setup.lab("gate", "snapshot", str(snapshot), "--licensee", setup.licensee)
    note = snapshot.with_name(snapshot.name + ".note")
    note.write_text(note.read_text().replace("since 0", "since 1"))
    nowhere = _unreachable(setup.lab)
    refused = nowhere("gate", "run", str(setup.corpus), "--licensee", setup.licensee,
                      "--purpose", "train-ai", "--out", str(setup.root / "run"),
                      "--workers", "1", "--snapshot", str(snapshot), expect=2)  # fmt: skip
    assert "signature" in refused.stderr or "verif" in refused.stderr
    assert not (setup.root / "run" / "manifest.json").exists()


def test_snapshots_are_limited_to_a_few_a_minute_per_key(served: Served, tmp_path: Path) -> None:
    lab = served.party(tmp_path, "lab")
    licensee = lab("licensee", "create", "Lab").stdout.split()[0]
    key = FileKeyStore(lab.keys).load(licensee)
    options = ServiceOptions(snapshots_per_minute=1, burst_of_snapshots=2)
    with serving(served.settings, options) as url:
        answers = [_signed_get(f"{url}/v1/snapshot", key) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["type"] == "/problems/rate-limited"
    assert int(answers[2].headers["retry-after"]) >= 1
