"""``consentry signals export`` on a creator's static site: every signal file written
from the owner's signed terms, the owner's own lines kept, a second export changing
nothing, new terms replacing consentry's part in place, a file the owner wrote
refused unless forced, and images signed with the owner's own key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from consentry.crypto import FileKeyStore
from consentry.signals.readers import read_image
from consentry.signals.robots import RobotsTxt
from consentry.signals.tdmrep import TdmrepJson
from consentry.terms import Category, Permission
from tests.conftest import STDLIB
from tests.e2e.conftest import Cli

BASE = "https://ada.example"
STDLIB_WORDS = [w for w in (STDLIB / "textwrap.py").read_text().split() if w.isalpha()]
OWN_ROBOTS = "User-agent: Googlebot\nDisallow: /private/\n"
PAGE = "<!doctype html>\n<html><head><title>One</title></head><body><p>the poem</p></body></html>\n"


def _terms(cli: Cli, owner: str, tmp: Path, **categories: str) -> None:
    path = tmp / "terms.json"
    path.write_text(json.dumps({"version": 1, "categories": categories}))
    cli("terms", "set", owner, "--owner", owner, "--file", str(path))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "poems").mkdir(parents=True)
    (site / "poems" / "one.html").write_text(PAGE)
    (site / "fragment.html").write_text("<p>no head here</p>")
    (site / "robots.txt").write_text(OWN_ROBOTS)
    Image.new("RGB", (64, 48), (200, 40, 10)).save(site / "poems" / "cover.jpg", quality=90)
    return site


@pytest.fixture
def owner(cli: Cli, tmp_path: Path) -> str:
    cli("init")
    made: str = cli("owner", "create", "Ada Quill", "--json").records()[0]["id"]
    _terms(cli, made, tmp_path, **{"train-ai": "deny", "train-other": "deny", "search": "allow"})
    return made


def _export(cli: Cli, owner: str, site: Path, *extra: str, expect: int = 0) -> dict[str, str]:
    result = cli(
        "signals", "export", "--owner", owner, "--site", str(site), "--base-url", BASE,
        *extra, "--json", expect=expect,
    )  # fmt: skip
    if expect:
        return {"stderr": result.stderr}
    return {f["path"]: f["status"] for f in result.records()[0]["files"]}


def test_every_signal_is_written_and_the_owners_own_lines_are_kept(
    cli: Cli, owner: str, site: Path
) -> None:
    done = _export(cli, owner, site)
    assert {
        "robots.txt", "_headers", "ai.txt", "license.xml", ".well-known/tdmrep.json",
        "poems/one.html", "poems/cover.xmp",
    } <= set(done)  # fmt: skip
    assert done["fragment.html"] == "skipped"

    robots = (site / "robots.txt").read_text()
    assert robots.endswith(OWN_ROBOTS) and "Content-Usage: train-ai=n, search=y" in robots
    assert f"License: {BASE}/license.xml" in robots
    read = RobotsTxt.parse(robots, place="robots.txt").reservation("/poems/one.html", "GPTBot")
    assert read.permission(Category.TRAIN_AI) is Permission.DENY
    # The owner's own group still binds the crawler it names.
    google = RobotsTxt.parse(robots, place="robots.txt")
    assert google.reservation("/private/x", "Googlebot").statements

    tdmrep = TdmrepJson.parse((site / ".well-known/tdmrep.json").read_text(), place="t")
    assert tdmrep.reservation(f"{BASE}/poems/one.html").permission(Category.TRAIN_AI) is (
        Permission.DENY
    )
    page = (site / "poems" / "one.html").read_text()
    assert '<meta name="robots" content="noai, noimageai">' in page
    assert page.replace(page[page.index("<!-- BEGIN") : page.index("</head>")], "") == PAGE
    assert "Content-Usage: train-ai=n" in (site / "_headers").read_text()
    assert (site / "fragment.html").read_text() == "<p>no head here</p>"

    # A second export changes nothing; its record of what it wrote is kept beside.
    again = _export(cli, owner, site)
    assert set(again.values()) == {"unchanged", "skipped"}
    assert json.loads((site / ".well-known/consentry-signals.json").read_text())["owner"] == owner


def test_new_terms_replace_consentrys_part_in_place(
    cli: Cli, owner: str, site: Path, tmp_path: Path
) -> None:
    _export(cli, owner, site)
    _terms(cli, owner, tmp_path, **{"train-ai": "allow", "train-other": "allow", "search": "allow"})
    done = _export(cli, owner, site)
    assert done["robots.txt"] == done["poems/one.html"] == "updated"
    robots = (site / "robots.txt").read_text()
    assert robots.count("BEGIN consentry signals") == 1 and "train-ai=n" not in robots
    assert robots.endswith(OWN_ROBOTS)
    page = (site / "poems" / "one.html").read_text()
    assert page.count("BEGIN consentry signals") == 1 and "noai" not in page


def test_a_signal_file_the_owner_wrote_is_not_replaced_unless_forced(
    cli: Cli, owner: str, site: Path
) -> None:
    mine = '[{"location": "/drafts/", "tdm-reservation": 1}]\n'
    (site / ".well-known").mkdir()
    (site / ".well-known" / "tdmrep.json").write_text(mine)
    refused = _export(cli, owner, site, expect=2)["stderr"]
    assert ".well-known/tdmrep.json" in refused and "--force" in refused
    # Nothing was written: the refusal came first.
    assert (site / "robots.txt").read_text() == OWN_ROBOTS
    assert not (site / "ai.txt").exists()
    assert (site / ".well-known" / "tdmrep.json").read_text() == mine
    assert _export(cli, owner, site, "--force")[".well-known/tdmrep.json"] == "updated"
    # Once consentry wrote it, a later export replaces it without asking.
    assert _export(cli, owner, site)[".well-known/tdmrep.json"] == "unchanged"


def test_images_carry_an_assertion_signed_by_the_owners_own_key(
    cli: Cli, owner: str, site: Path
) -> None:
    done = _export(cli, owner, site, "--sign-images")
    assert done["poems/cover.jpg"] == "updated"
    image = (site / "poems" / "cover.jpg").read_bytes()
    read = read_image(image)
    assert read.permission(Category.TRAIN_AI) is Permission.DENY
    (statement,) = [s for s in read.statements if s.category is Category.TRAIN_AI]
    assert "Ada Quill" in statement.source.place
    with Image.open(site / "poems" / "cover.jpg") as opened:
        assert opened.size == (64, 48)  # still the image it was
    # Signed once: the next export leaves the signed image alone.
    assert _export(cli, owner, site, "--sign-images")["poems/cover.jpg"] == "unchanged"


def test_signing_needs_the_owners_key_on_this_machine(cli: Cli, owner: str, site: Path) -> None:
    key = FileKeyStore(cli.keys).path(owner)
    key.rename(key.with_suffix(".away"))
    refused = _export(cli, owner, site, "--sign-images", expect=2)["stderr"]
    assert f"this machine holds no key for owner {owner}" in refused


def test_the_human_output_names_what_each_format_cannot_say(
    cli: Cli, owner: str, site: Path
) -> None:
    shown = cli("signals", "export", "--owner", owner, "--site", str(site)).stdout
    assert "what ai.txt cannot say:" in shown
    assert "note: no --base-url" in shown
    missing = cli(
        "signals", "export", "--owner", owner, "--site", str(site / "nope"), expect=2
    ).stderr
    assert "does not exist" in missing


def test_a_page_whose_work_has_terms_of_its_own_states_them(
    cli: Cli, owner: str, site: Path, tmp_path: Path
) -> None:
    # Two pages registered from the site; one is then licensed for training on its own.
    for name, words in (("free.html", STDLIB_WORDS[:400]), ("kept.html", STDLIB_WORDS[400:800])):
        (site / "poems" / name).write_text(
            f"<html><head><title>{name}</title></head><body><p>{' '.join(words)}</p></body></html>"
        )
    registered = cli("work", "register", "--site", str(site), "--owner", owner, "--json")
    works = {r["path"]: r["id"] for r in registered.records() if r.get("status") == "registered"}
    free = works["/poems/free.html"]
    path = tmp_path / "free.json"
    free_of_every_tdm_use = dict.fromkeys(
        ("train-ai", "train-other", "ai-input", "data-mining"), "allow"
    )
    path.write_text(json.dumps({"version": 1, "categories": free_of_every_tdm_use}))
    cli("terms", "set", free, "--owner", owner, "--file", str(path))

    shown = cli(
        "signals", "export", "--owner", owner, "--site", str(site), "--base-url", BASE
    ).stdout
    assert "1 page(s) or image(s) have terms of their own" in shown
    assert "noai" not in (site / "poems" / "free.html").read_text()
    assert (
        '<meta name="robots" content="noai, noimageai">'
        in (site / "poems" / "kept.html").read_text()
    )
    rules = json.loads((site / ".well-known" / "tdmrep.json").read_text())
    assert rules[0]["location"] == "/poems/free.html$" and rules[-1]["location"] == "/"
    tdmrep = TdmrepJson.parse(json.dumps(rules), place="t")
    assert tdmrep.reservation(f"{BASE}/poems/free.html").permission(Category.TRAIN_AI) is (
        Permission.ALLOW
    )
    assert tdmrep.reservation(f"{BASE}/poems/kept.html").permission(Category.TRAIN_AI) is (
        Permission.DENY
    )
