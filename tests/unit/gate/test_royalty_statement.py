"""An owner's royalty statement reconciles with the manifests to the cent (issue 19)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from consentry.app.royalties import RoyaltyStatement, royalty_statement
from consentry.errors import InputError
from consentry.gate.finish import _manifest_work
from consentry.gate.royalties import UsedWork, royalty_for
from consentry.terms import Price, PriceUnit


def _run(folder: Path, run_id: str, used: list[UsedWork]) -> Path:
    works = []
    for u in used:
        works.append(_manifest_work(u, (f"title of {u.work_id}", "Ada"), royalty_for(u)))
    body = {"type": "consentry.training-manifest", "run_id": run_id, "works": works}
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"manifest": body}))
    return folder


def test_a_royalty_statement_reconciles_with_the_manifests_to_the_cent(tmp_path: Path) -> None:
    tokens = Price(PriceUnit.THOUSAND_TOKENS, Decimal("0.125"), "EUR")
    per_byte = Price(PriceUnit.BYTE, Decimal("0.0001"), "EUR")
    first = _run(
        tmp_path / "a",
        "run_a",
        [
            UsedWork("w1", "own_1", "gr_1", tokens, items=2, tokens=6113),
            UsedWork("w2", "own_2", "gr_2", tokens, items=1, tokens=10),
        ],
    )
    second = _run(
        tmp_path / "b", "run_b", [UsedWork("w3", "own_1", "gr_3", per_byte, items=1, bytes=777)]
    )
    made = royalty_statement([first, second / "manifest.json"], owner_id="own_1")
    assert [line.work_id for line in made.lines] == ["w1", "w3"]
    manifests = [json.loads((f / "manifest.json").read_text())["manifest"] for f in (first, second)]
    owed = sum(
        Decimal(w["amount"]) for m in manifests for w in m["works"] if w["owner_id"] == "own_1"
    )
    assert made.totals() == {"EUR": owed} == {"EUR": Decimal("0.764125") + Decimal("0.0777")}
    assert made.owner_name == "Ada" and "title of w1" in made.to_markdown()
    assert f"Total: {owed} EUR" in made.to_markdown()
    rows = made.to_csv().splitlines()
    assert rows[1] == "run_a,w1,title of w1,gr_1,2,6.113,1k-tokens,0.125,0.764125,EUR"
    assert RoyaltyStatement.from_json(made.to_json()) == made


def test_a_statement_refuses_a_line_that_does_not_multiply_out(tmp_path: Path) -> None:
    price = Price(PriceUnit.THOUSAND_TOKENS, Decimal("0.10"), "EUR")
    run = _run(tmp_path / "a", "run_a", [UsedWork("w1", "own_1", "gr_1", price, tokens=6113)])
    data = json.loads((run / "manifest.json").read_text())
    data["manifest"]["works"][0]["units"] = "6113"  # the old, wrong unit
    (run / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="not its units times its unit price"):
        royalty_statement([run], owner_id="own_1")
