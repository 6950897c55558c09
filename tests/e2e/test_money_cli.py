"""Bounded money from the command line (issue 20): ``--offer "NaN EUR"`` printed a
traceback, and ``--offer "1E+999999999 EUR"`` was granted, after which every gate run
of that licensee failed with ``decimal.Overflow``. Every amount now meets the terms
schema's rule where it enters, and a signed document carrying one that breaks it is
refused when read, so it authorises nothing and bills nothing."""

from __future__ import annotations

import csv
import json
import sqlite3
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from consentry.crypto import FileKeyStore, sign_document
from consentry.terms.money import AMOUNT_RULE
from tests.conftest import STDLIB
from tests.e2e.conftest import Cli, Result

WORK_TEXT = (STDLIB / "textwrap.py").read_text()
LARGEST = "999999999999999.99999999"


def _id(result: Result) -> str:
    record = result.records()[0]
    assert isinstance(record["id"], str)
    return record["id"]


def _parties(cli: Cli, tmp_path: Path) -> tuple[str, str, str]:
    """An owner with one registered work, and a licensee: (owner, licensee, work)."""
    cli("init")
    owner = _id(cli("owner", "create", "Ada", "--json"))
    lab = _id(cli("licensee", "create", "Lab", "--json"))
    works = tmp_path / "works"
    works.mkdir()
    (works / "textwrap.py").write_text(WORK_TEXT)
    work = _id(cli("work", "register", str(works), "--owner", owner, "--json"))
    return owner, lab, work


def _request(cli: Cli, lab: str, work: str, *price: str, expect: int = 0) -> Result:
    return cli(
        "license",
        "request",
        "--licensee",
        lab,
        "--work",
        work,
        "--purpose",
        "train-ai",
        *price,
        "--json",
        expect=expect,
    )


def _refusal(result: Result) -> str:
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _gate(cli: Cli, tmp_path: Path, lab: str) -> tuple[Result, Path]:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "d1", "text": WORK_TEXT}) + "\n")
    out = tmp_path / "out"
    args = ["gate", "run", str(corpus), "--licensee", lab, "--purpose", "train-ai"]
    return cli(*args, "--out", str(out)), out


def test_an_offer_of_nan_is_refused_with_one_sentence(cli: Cli, tmp_path: Path) -> None:
    _, lab, work = _parties(cli, tmp_path)
    refused = _request(cli, lab, work, "--offer", "NaN EUR", expect=2)
    assert _refusal(refused) == (
        f"error: --offer 'NaN EUR': the amount must be {AMOUNT_RULE}, e.g. '0.05 EUR'"
    )


def test_an_amount_too_large_to_bill_is_refused_at_the_offer(cli: Cli, tmp_path: Path) -> None:
    _, lab, work = _parties(cli, tmp_path)
    for offer in ("1E+999999999 EUR", "1000000000000000 EUR", "0.000000001 EUR", "-1 EUR"):
        refused = _request(cli, lab, work, "--offer", offer, expect=2)
        assert _refusal(refused).startswith(f"error: --offer {offer!r}: the amount must be")
    assert cli("license", "list", "--licensee", lab, "--json").records() == []


def test_a_counter_price_too_large_to_bill_is_refused(cli: Cli, tmp_path: Path) -> None:
    owner, lab, work = _parties(cli, tmp_path)
    request = _id(_request(cli, lab, work, "--offer", "0.05 EUR"))
    refused = cli(
        "license", "counter", request, "--owner", owner, "--price", "1E+999999999 EUR", expect=2
    )
    assert _refusal(refused).startswith("error: --price '1E+999999999 EUR': the amount must be")
    (listed,) = cli("license", "list", "--owner", owner, "--json").records()
    assert listed["state"] == "pending" and listed["counter"] is None


def test_a_terms_file_with_an_amount_too_large_to_bill_is_refused_naming_the_field(
    cli: Cli, tmp_path: Path
) -> None:
    owner, _, _ = _parties(cli, tmp_path)
    terms = tmp_path / "terms.json"
    price = {"per": "work", "amount": "1E+999999999", "currency": "EUR"}
    terms.write_text(json.dumps({"version": 1, "price": price}))
    refused = cli("terms", "set", owner, "--owner", owner, "--file", str(terms), expect=2)
    assert _refusal(refused) == (
        f"error: {terms}: price.amount '1E+999999999': the amount must be {AMOUNT_RULE}, "
        "e.g. '0.05'"
    )


def test_the_largest_amount_the_rule_allows_is_granted_and_billed_exactly(
    cli: Cli, tmp_path: Path
) -> None:
    owner, lab, work = _parties(cli, tmp_path)
    request = _id(_request(cli, lab, work, "--offer", f"{LARGEST} eur", "--per", "1k-tokens"))
    granted = cli("license", "grant", request, "--owner", owner, "--json").records()[0]
    assert granted["price"] == {"per": "1k-tokens", "amount": LARGEST, "currency": "EUR"}
    _, out = _gate(cli, tmp_path, lab)
    (row,) = csv.DictReader((out / "royalties.csv").read_text().splitlines())
    assert row["unit_price"] == LARGEST
    assert Fraction(Decimal(row["amount"])) == Fraction(Decimal(row["units"])) * Fraction(LARGEST)


def _as_if_granted_before_the_rule(cli: Cli, owner: str, grant_id: str, amount: str) -> None:
    """Behind the registry's back, leave the database as a registry of before this rule
    left it after granting ``amount``: the grant's row and the event that issued it
    carry that price, each signed again with the owner's own key."""
    key = FileKeyStore(cli.keys).load(owner)
    with sqlite3.connect(cli.home / "registry.db") as db:
        db.execute("DROP TRIGGER IF EXISTS events_no_update")
        (stored,) = db.execute("SELECT body FROM grants WHERE id = ?", (grant_id,)).fetchone()
        body = json.loads(stored)
        body["price"]["amount"] = amount
        grant = sign_document("grant", body, key)
        db.execute(
            "UPDATE grants SET body = ?, signature = ? WHERE id = ?",
            (grant.body.decode(), grant.signature_b64, grant_id),
        )
        seq, stored = db.execute(
            "SELECT seq, body FROM events WHERE kind = 'grant.issued' AND subject_id = ?",
            (grant_id,),
        ).fetchone()
        event = json.loads(stored)
        event["payload"].update(grant=body, signature=grant.signature_b64)
        signed = sign_document("event", event, key)
        db.execute(
            "UPDATE events SET body = ?, signature = ? WHERE seq = ?",
            (signed.body.decode(), signed.signature_b64, seq),
        )


def test_a_signed_grant_with_a_price_too_large_to_bill_authorises_and_bills_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    owner, lab, work = _parties(cli, tmp_path)
    request = _id(_request(cli, lab, work, "--offer", "0.05 EUR"))
    grant = _id(cli("license", "grant", request, "--owner", owner, "--json"))
    _as_if_granted_before_the_rule(cli, owner, grant, "1E+999999999")

    checked = cli("license", "check", work, "--licensee", lab, "--purpose", "train-ai", expect=1)
    assert f"grant {grant} price.amount '1E+999999999': the amount must be" in checked.stdout
    ran, out = _gate(cli, tmp_path, lab)
    assert "Overflow" not in ran.stderr
    (rejected,) = (json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines())
    assert f"grant {grant} price.amount '1E+999999999'" in rejected["reasons"][0]["message"]
    assert (out / "royalties.csv").read_text().splitlines()[1:] == []
