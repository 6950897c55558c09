"""Parties on different machines over one registry: each holds only its own keys.

Two key folders (an owner's, a licensee's) and two homes (the operator's, a second
machine's) over the same database, SQLite and PostgreSQL. The licensee tries every
owner act with every ``--owner`` it can name; none goes through, and none leaves a
trace in the registry. Regression: with every key in one registry folder a licensee
granted itself a use the owner's terms reserved.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from consentry.crypto import FileKeyStore, KeyPair
from consentry.store import open_engine
from tests.conftest import BACKENDS, POSTGRES_URL, real_text
from tests.e2e.conftest import Cli


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'operator' / 'registry.db'}"
        return
    assert POSTGRES_URL is not None
    name = f"consentry_apart_{uuid.uuid4().hex[:10]}"
    admin = open_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _party(tmp_path: Path, url: str, home: str, keys: str) -> Cli:
    return Cli(tmp_path / home, keys=tmp_path / keys, env={"CONSENTRY_DATABASE_URL": url})


def test_a_licensee_cannot_act_for_an_owner_from_its_own_key_folder(
    tmp_path: Path, database_url: str
) -> None:
    operator = _party(tmp_path, database_url, "operator", "operator-keys")
    made = operator("init", "--json").records()[0]
    assert made["created"] and made["log_key_file"] is not None
    owner_cli = _party(tmp_path, database_url, "owner-machine", "owner-keys")
    lab_cli = _party(tmp_path, database_url, "lab-machine", "lab-keys")
    owner = owner_cli("owner", "create", "Ada", "--json").records()[0]
    lab = lab_cli("licensee", "create", "Lab", "--json").records()[0]["id"]
    assert Path(owner["key_file"]).parent == tmp_path / "owner-keys"
    assert not (tmp_path / "operator" / "keys" / f"{owner['id']}.key").exists()
    owner_id = owner["id"]
    works = tmp_path / "works"
    works.mkdir()
    (works / "gpl.txt").write_text(real_text("GPL-3"))
    (work,) = owner_cli("work", "register", str(works), "--owner", owner_id, "--json").records()
    terms = tmp_path / "terms.json"
    terms.write_text(json.dumps({"version": 1, "categories": {"train-ai": "license"}}))
    owner_cli("terms", "set", owner_id, "--owner", owner_id, "--file", str(terms))
    request = lab_cli(
        "license", "request", "--licensee", lab, "--work", work["id"], "--purpose", "train-ai"
    ).stdout.split()[0]

    # Every owner act, from the licensee's shell, naming the owner (or itself).
    for acting_as in (owner_id, lab):
        attempts = [
            ["license", "grant", request, "--owner", acting_as],
            ["license", "deny", request, "--owner", acting_as],
            ["license", "counter", request, "--owner", acting_as, "--price", "0 EUR"],
            ["terms", "set", owner_id, "--owner", acting_as, "--file", str(terms)],
            ["terms", "set", work["id"], "--owner", acting_as, "--file", str(terms)],
            ["work", "register", str(works), "--owner", acting_as],
            ["license", "list", "--owner", acting_as],
            ["usage", "--owner", acting_as],
        ]
        for args in attempts:
            refused = lab_cli(*args, expect=2)
            assert "Traceback" not in refused.stderr
            assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    missing = lab_cli("license", "grant", request, "--owner", owner_id, expect=2)
    assert f"this machine holds no key for owner {owner_id} ('Ada')" in missing.stderr
    assert str(tmp_path / "lab-keys" / f"{owner_id}.key") in missing.stderr
    nobody = lab_cli("license", "grant", request, "--owner", "own_nobody", expect=2)
    assert "no such owner 'own_nobody'" in nobody.stderr
    # A licensee's own key, given as an owner's: the registry refuses it.
    Path(tmp_path / "lab-keys" / f"{owner_id}.key").write_bytes(
        (tmp_path / "lab-keys" / f"{lab}.key").read_bytes()
    )
    (tmp_path / "lab-keys" / f"{owner_id}.key").chmod(0o600)
    forged = lab_cli("license", "grant", request, "--owner", owner_id, expect=2)
    assert f"does not belong to owner {owner_id}" in forged.stderr

    # Nothing the licensee tried went through.
    assert lab_cli(
        "license", "check", work["id"], "--licensee", lab, "--purpose", "train-ai", expect=1
    )
    (pending,) = lab_cli("license", "list", "--licensee", lab, "--json").records()
    assert pending["record"] == "request" and pending["state"] == "pending"

    # The owner, from the owner's own folder, grants; then it holds.
    owner_cli("license", "grant", request, "--owner", owner_id)
    assert lab_cli("license", "check", work["id"], "--licensee", lab, "--purpose", "train-ai")


def test_init_on_a_second_machine_reuses_the_log_key(tmp_path: Path, database_url: str) -> None:
    operator = _party(tmp_path, database_url, "operator", "operator-keys")
    first = operator("init", "--json").records()[0]
    operator("owner", "create", "Ada")
    second = _party(tmp_path, database_url, "second-machine", "second-keys")
    again = second("init", "--json").records()[0]
    assert not again["created"]
    assert again["log_vkey"] == first["log_vkey"]
    assert again["log_key_file"] is None
    assert not (tmp_path / "second-machine" / "keys" / "log.key").exists()
    assert "is held by the registry's operator" in second("init").stdout
    assert second("log", "key").stdout.strip() == first["log_vkey"]

    operator("log", "checkpoint")
    for machine in (operator, second):
        verified = machine("log", "verify", "--json").records()[0]
        assert verified["verified"] and verified["entries"] == 1
    # Only the operator signs the log.
    refused = second("log", "checkpoint", expect=2)
    assert "only the registry operator's home holds" in refused.stderr
    # The operator's own init again changes nothing.
    assert operator("init", "--json").records()[0]["log_vkey"] == first["log_vkey"]


def test_a_registry_from_before_the_key_folders_upgrades_without_losing_its_log(
    tmp_path: Path,
) -> None:
    """A registry made by an older consentry: the log's identity is not in the
    database, and the party keys sit beside the log key in the operator's home."""
    url = f"sqlite:///{tmp_path / 'operator' / 'registry.db'}"
    operator = _party(tmp_path, url, "operator", "operator-keys")
    vkey = operator("init", "--json").records()[0]["log_vkey"]
    owner = operator("owner", "create", "Ada", "--json").records()[0]["id"]
    operator("log", "checkpoint")
    engine = open_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM log_identity"))
    engine.dispose()
    old_home_keys = tmp_path / "operator" / "keys"
    (tmp_path / "operator-keys" / f"{owner}.key").rename(old_home_keys / f"{owner}.key")

    # A home without the log's key mints none for a log that was signed already...
    stranger = _party(tmp_path, url, "stranger", "stranger-keys")
    assert "has a signed log but records no log key" in stranger("init", expect=2).stderr
    assert "records no log key yet" in stranger("log", "key", expect=2).stderr
    # ...and another key in a home never becomes the log's: it signed no checkpoint.
    FileKeyStore(tmp_path / "stranger" / "keys").save("log", KeyPair.generate())
    forked = stranger("log", "verify", expect=2).stderr
    assert "did not sign this registry's checkpoints" in forked

    # The operator's home holds the key that signed them: it is recorded, once.
    assert operator("log", "verify", "--json").records()[0]["verified"]
    assert operator("log", "key").stdout.strip() == vkey
    assert stranger("log", "key").stdout.strip() == vkey
    # The owner's key, left beside the log key, is named where it is to move to.
    moved = operator("owner", "list", "--json").records()
    assert [p["id"] for p in moved] == [owner]
    hint = operator("license", "list", "--owner", owner, expect=2).stderr
    assert f"an older consentry kept it in {old_home_keys / (owner + '.key')}" in hint
    assert str(tmp_path / "operator-keys") in hint
