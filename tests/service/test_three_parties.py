"""Three machines, one registry: the operator serves it, a creator and a lab each act
from a home and key folder of their own, sharing nothing but its URL."""

from __future__ import annotations

from pathlib import Path

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
