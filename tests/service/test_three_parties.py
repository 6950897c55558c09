"""Three machines, one registry: the operator serves it, a creator and a lab each act
from a home and key folder of their own, sharing nothing but its URL."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import Cli, Result
from tests.e2e.test_readme_tour import normalised
from tests.service.conftest import Served


def test_a_lab_asks_a_creator_counters_and_grants_and_later_revokes(
    served: Served, tmp_path: Path
) -> None:
    creator = served.party(tmp_path, "creator")
    lab = served.party(tmp_path, "lab")
    owner = creator("owner", "create", "Ada", "--json").records()[0]["id"]
    licensee = lab("licensee", "create", "Lab", "--json").records()[0]["id"]
    assert (tmp_path / "creator" / "keys" / f"{owner}.key").exists()
    assert not (tmp_path / "lab" / "keys" / f"{owner}.key").exists()

    request_id = lab(
        "license", "request", "--licensee", licensee, "--owner", owner,
        "--purpose", "train-ai", "--offer", "0.05 EUR", "--json",
    ).records()[0]["id"]  # fmt: skip
    creator("license", "counter", request_id, "--owner", owner, "--price", "0.08 EUR")
    lab("license", "accept", request_id, "--licensee", licensee)
    grant = creator("license", "grant", request_id, "--owner", owner, "--json").records()[0]
    assert grant["price"] == {"per": "work", "amount": "0.08", "currency": "EUR"}

    # The lab holds only its own key: it cannot grant, whatever owner it names.
    refused = lab("license", "grant", request_id, "--owner", owner, expect=2)
    assert "this machine holds no key for owner" in refused.stderr

    held = lab("license", "list", "--licensee", licensee, "--json").records()
    assert [r["id"] for r in held if r.get("record") == "grant"] == [grant["id"]]
    creator("license", "revoke", grant["id"], "--owner", owner)
    revoked = lab("license", "list", "--licensee", licensee, "--json").records()
    assert next(r for r in revoked if r.get("record") == "grant")["revocation"] is not None

    audit = served.operator()("log", "verify")
    assert "log verified" in audit.stdout


def _licensing(creator: Cli, lab: Cli) -> list[str]:
    """Every licence command, as each party runs it; what each printed, in order."""
    printed: list[str] = []

    def run(cli: Cli, *args: str, expect: int = 0) -> Result:
        done = cli(*args, expect=expect)
        printed.append(done.stdout + done.stderr)
        return done

    owner = run(creator, "owner", "create", "Ada").stdout.split()[0]
    licensee = run(lab, "licensee", "create", "Lab").stdout.split()[0]
    asked = ("license", "request", "--licensee", licensee, "--owner", owner, "--purpose")
    first = run(lab, *asked, "train-ai", "--offer", "0.05 EUR").stdout.split()[0]
    second = run(lab, *asked, "search").stdout.split()[0]
    run(creator, "license", "counter", first, "--owner", owner, "--price", "0.08 EUR")
    run(lab, "license", "accept", first, "--licensee", licensee)
    grant = run(creator, "license", "grant", first, "--owner", owner).stdout.split()[0]
    run(creator, "license", "deny", second, "--owner", owner, "--reason", "not for search")
    run(creator, "owner", "list")
    run(lab, "license", "list", "--licensee", licensee)
    run(lab, "license", "list", "--licensee", licensee, "--json")
    run(creator, "license", "list", "--owner", owner, "--json")
    run(lab, "license", "check", owner, "--licensee", licensee, "--purpose", "train-ai",
        expect=2)  # fmt: skip
    run(creator, "license", "revoke", grant, "--owner", owner)
    run(lab, "license", "grant", second, "--owner", owner, expect=2)
    return printed


_MINUTE = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?\b")


_PUBLIC_KEY = re.compile(r"\b[0-9a-f]{64}\b")


def _masked(text: str) -> str:
    return _PUBLIC_KEY.sub("PUBLIC", _MINUTE.sub("TIME", normalised("", text)))


def test_every_licence_command_prints_over_http_what_it_prints_locally(
    served: Served, tmp_path: Path
) -> None:
    home = tmp_path / "local" / "home"
    Cli(home, keys=tmp_path / "local" / "operator-keys")("init")
    local = _licensing(
        Cli(home, keys=tmp_path / "local" / "creator-keys"),
        Cli(home, keys=tmp_path / "local" / "lab-keys"),
    )
    remote = _licensing(
        served.party(tmp_path / "served", "creator"), served.party(tmp_path / "served", "lab")
    )
    shown = [_masked(text.replace(str(tmp_path / "local"), "~")) for text in local]
    over_http = [_masked(text.replace(str(tmp_path / "served"), "~")) for text in remote]
    # Paths of the key files differ only by which machine holds them.
    over_http = [text.replace("~/creator/keys", "~/creator-keys").replace(
        "~/lab/keys", "~/lab-keys") for text in over_http]  # fmt: skip
    assert over_http == shown
