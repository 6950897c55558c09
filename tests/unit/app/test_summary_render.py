"""The public summary's pure parts: figures added up over manifests (each naming its
runs, an older manifest's missing figure named missing), the template's rule for
crawled domain names, the Markdown's headings and marks, and the JSON's schema."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from consentry.app.summary_declaration import ProviderDeclaration
from consentry.app.summary_figures import aggregate
from consentry.app.summary_manifest import LoggedManifest
from consentry.app.summary_render import summary_to_json, summary_to_markdown
from consentry.app.summary_template import SECTIONS, SIGNAL_SENTENCES, DeclaredKind
from consentry.errors import InputError
from consentry.log.note import Checkpoint
from consentry.signals.model import Signal

AT = datetime(2026, 12, 1, tzinfo=UTC)


def _body(n: int, *, sources: bool = True, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "consentry.training-manifest",
        "version": 1,
        "run_id": f"run_{'abcdefgh'[n]}aaaaaaaaaaaaaaa",
        "licensee": "lic_aaaaaaaaaaaaaaaa",
        "purpose": "train-ai",
        "mode": "opt-out",
        "counts": {"items": 10, "admitted": 8, "rejected": 2},
        "works": [
            {"work_id": "wrk_a", "owner_id": "own_a", "grant_id": "grt_a", "tokens": 100},
            {"work_id": f"wrk_{n}", "owner_id": "own_b", "grant_id": None, "tokens": 5},
        ],
        "royalties_total": {"EUR": "0.05"},
        "started_at": f"2026-11-0{n + 1}T00:00:00.000000Z",
        "finished_at": f"2026-11-0{n + 1}T01:00:00.000000Z",
    }
    if sources:
        body["sources"] = {
            "admitted_by_basis": {"grant": 1, "terms": 1, "open-licence": 2, "opt-out": 4},
            "admitted_bytes_by_basis": {
                "grant": 100,
                "terms": 50,
                "open-licence": 20,
                "opt-out": 40,
            },
            "domains": {
                "count": 3,
                "items": 6,
                "bytes": 60,
                "top": [
                    {"domain": "a.example", "items": 3, "bytes": 30},
                    {"domain": f"b{n}.example", "items": 2, "bytes": 20},
                    {"domain": "c.example", "items": 1, "bytes": 10},
                ],
            },
        }
        body["reservations"] = {"honoured": {"x-robots-tag": 2}, "reported": {}}
    return body | extra


def _logged(body: dict[str, Any], index: int = 3) -> LoggedManifest:
    return LoggedManifest(
        file=f"runs/{body['run_id']}/manifest.json",
        body=body,
        digest="ab" * 32,
        licensee_name="Lab | Inc",
        log_index=index,
        recorded_at=AT,
        checkpoint=Checkpoint("consentry.log/0123456789abcdef", 9, bytes(32)),
        proof="c2sp.org/tlog-proof@v1\nindex 3\n\nnote\n",
    )


def _schema() -> dict[str, Any]:
    text = resources.files("consentry.app").joinpath("summary.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _summary(*bodies: dict[str, Any], declaration: ProviderDeclaration | None = None) -> Any:
    logged = [_logged(b, i) for i, b in enumerate(bodies)]
    return aggregate(logged, declaration or ProviderDeclaration(), generated_at=AT)


def test_figures_add_up_and_name_each_run() -> None:
    made = _summary(_body(0), _body(1))
    assert made.items.value == 20 and made.items.by_run == (
        (made.run_ids[0], 10),
        (made.run_ids[1], 10),
    )
    assert made.admitted_by_basis["opt-out"].value == 8
    assert made.admitted_bytes.value == 420
    assert made.admitted_by_basis["own-data"].value == 0  # a true zero: both runs record it
    # Distinct across runs: the shared work and owner count once.
    assert (made.works.value, made.owners.value, made.grants.value) == (3, 2, 1)
    assert made.royalties == {"EUR": Decimal("0.10")}
    assert made.honoured["x-robots-tag"].value == 4


def test_an_older_manifest_lacks_figures_it_never_recorded() -> None:
    made = _summary(_body(0), _body(1, sources=False))
    older = made.run_ids[1]
    assert made.admitted_by_basis["grant"].value == 1
    assert made.admitted_by_basis["grant"].unavailable == (older,)
    assert made.honoured["x-robots-tag"].unavailable == (older,)
    assert made.items.unavailable == ()  # counts: every manifest has them
    (missing,) = made.unavailable
    assert missing.run_id == older and "sources or reservations" in missing.why
    text = summary_to_markdown(made)
    assert "not recorded by S2 (see Appendix A)" in text
    assert "- S2 (run " in text


def test_domains_follow_the_template_rule_across_runs() -> None:
    made = _summary(_body(0), _body(1))
    # a, c shared; b0, b1 one each: four domains, the top tenth rounded up is one.
    d = made.domains
    assert (d.total, d.total_exact, d.wanted) == (4, True, 1)
    assert [(s.domain, s.bytes, len(s.runs)) for s in d.listed] == [("a.example", 60, 2)]


@pytest.mark.parametrize(
    ("count", "sme", "wanted"),
    [
        (30_000, False, 3_000),
        (30_000, True, 1_000),
        (1_000, True, 50),
        (11, False, 2),
        (0, False, 0),
    ],
)
def test_the_share_of_domains_listed(count: int, sme: bool, wanted: int) -> None:
    top = [{"domain": f"d{i}.example", "items": 1, "bytes": count - i} for i in range(count)]
    body = _body(0)
    body["sources"]["domains"] = {
        "count": count,
        "items": count,
        "bytes": sum(t["bytes"] for t in top),
        "top": top,
    }
    body["counts"] = {"items": count + 10, "admitted": count + 8, "rejected": 2}
    body["sources"]["admitted_by_basis"] = {"opt-out": count + 8}
    made = _summary(body, declaration=ProviderDeclaration(sme=sme))
    assert made.domains.wanted == wanted
    assert len(made.domains.listed) == wanted


def test_a_manifest_naming_only_its_top_domains_makes_the_list_approximate() -> None:
    body = _body(0)
    body["sources"]["domains"]["count"] = 50  # three named of fifty
    made = _summary(body, _body(1))
    assert not made.domains.total_exact and not made.domains.ranking_exact
    assert made.domains.partial == (made.run_ids[0],)
    assert made.domains.total == 4 + 47  # the most there can be
    assert "name only their largest domains" in summary_to_markdown(made)


def test_figures_that_do_not_add_up_are_refused() -> None:
    body = _body(0)
    body["sources"]["admitted_by_basis"]["grant"] = 5
    with pytest.raises(InputError, match="its bases add up to 12; it does not reconcile"):
        _summary(body)
    body = _body(0, counts={"items": 10, "admitted": 9, "rejected": 2})
    with pytest.raises(InputError, match="counts 10 items but 9 admitted and 2 rejected"):
        _summary(body)
    body = _body(0)
    body["sources"]["domains"]["top"][0]["bytes"] = True
    with pytest.raises(InputError, match="is not a count"):
        _summary(body)


def test_the_markdown_has_the_template_headings_in_order_and_marks_each_field() -> None:
    declaration = ProviderDeclaration.read(provider="Example | Labs", model="m-1")
    text = summary_to_markdown(_summary(_body(0), _body(1), declaration=declaration))
    headings = [line for line in text.splitlines() if re.match(r"#{2,4} \d", line)]
    assert [h.lstrip("#").strip() for h in headings] == [s.title for s in SECTIONS]
    assert [len(h.split()[0]) for h in headings] == [s.depth + 1 for s in SECTIONS]
    for line in text.splitlines():
        if line.startswith("- **"):
            assert ("*(declared by the provider)*" in line) != (
                "*(computed from the manifests)*" in line
            ), line
    assert "Example \\| Labs" in text and "Lab \\| Inc" in text  # no stray table cells
    assert text.index("## Appendix A.") < text.index("## Appendix B.")
    row = "| x-robots-tag | An X-Robots-Tag HTTP header carrying noai or noimageai. |"
    assert f"{row} 4 (S1: 2, S2: 2) | 0 |" in text


def test_the_json_matches_the_schema_shipped_in_the_package() -> None:
    declaration = ProviderDeclaration.from_json(
        {
            "provider": "Example Labs",
            "modalities": ["text", "image"],
            "training_data_size": {"text": "1 billion to 10 trillion tokens"},
            "crawlers_used": True,
            "crawlers": ["ExampleBot"],
            "sme": True,
        }
    )
    made = summary_to_json(_summary(_body(0), _body(1, sources=False), declaration=declaration))
    Draft202012Validator(_schema()).validate(made)
    assert [s["section"] for s in made["sections"]] == [s.number for s in SECTIONS]
    crawled = next(s for s in made["sections"] if s["section"] == "2.3")
    assert crawled["declared"]["crawlers"] == ["ExampleBot"]
    assert crawled["declared"]["crawl_period"] is None  # not declared, said so
    assert made["sme"] is True and "SME" in crawled["domains"]["rule"]


def test_the_schema_declares_every_template_field() -> None:
    declared = _schema()["$defs"]["declaration"]["properties"]
    keys = {f.key for s in SECTIONS for f in s.fields}
    assert set(declared) == keys | {"sme"}
    for s in SECTIONS:
        for f in s.fields:
            if f.kind is DeclaredKind.YES_NO:
                assert declared[f.key]["type"] == "boolean"


def test_a_declaration_is_refused_naming_the_field() -> None:
    with pytest.raises(InputError, match=r"--about: crawlers_used: 'yes' is not of type 'boolean'"):
        ProviderDeclaration.from_json({"crawlers_used": "yes"})
    with pytest.raises(InputError, match="'provder' was unexpected"):
        ProviderDeclaration.from_json({"provder": "x"})
    with pytest.raises(InputError, match="--model is empty"):
        ProviderDeclaration.read(model="  ")


def test_every_kind_of_signal_has_its_sentence() -> None:
    assert set(SIGNAL_SENTENCES) >= {s.value for s in Signal}
