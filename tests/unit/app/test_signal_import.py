"""``consentry signals import`` over files and folders: the ``_headers`` parser, each
kind of file recognised and read, a static site's folder read as its host serves it,
conflicts resolved to the most restrictive with every source kept, and unreadable
files shown as problems, never as silence. No network here (the URL import is
tested against a server on loopback in tests/e2e/test_signals_import_cli.py)."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from consentry.app._headers_file import HeaderLine, HeaderRule, HeadersFile, format_headers_file
from consentry.app._signal_fetch import same_site
from consentry.app.signal_import import (
    MAX_FILES,
    ImportedSignals,
    ReadStatus,
    SourceKind,
    import_signals,
    save_proposed_terms,
)
from consentry.errors import InputError
from consentry.signals import Signal
from consentry.signals.publications import EPUB_TDM_PREFIX, write_opf_meta, write_xmp
from consentry.signals.xmp import write_data_mining
from consentry.terms import Category, Permission, Terms

ALLOW, DENY, LICENSE = Permission.ALLOW, Permission.DENY, Permission.LICENSE
TRAIN_AI, TRAIN_OTHER = Category.TRAIN_AI, Category.TRAIN_OTHER
AI_INPUT, SEARCH, DATA_MINING = Category.AI_INPUT, Category.SEARCH, Category.DATA_MINING
TDM = {TRAIN_AI, TRAIN_OTHER, AI_INPUT, DATA_MINING}
VECTORS = Path(__file__).parents[2] / "vectors" / "signals"

RSL_SEARCH_ONLY = """\
<rsl xmlns="https://rslstandard.org/rsl">
  <content url="/">
    <license>
      <permits type="usage">search</permits>
    </license>
  </content>
</rsl>
"""


def _proposed(imported: ImportedSignals) -> dict[Category, Permission]:
    return dict(imported.terms.categories)


def _write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


# -- the _headers file ----------------------------------------------------------------

NETLIFY = """\
# Headers for every page
/*
  Content-Usage: train-ai=n
  X-Robots-Tag: noai

/images/:name.png
  ! X-Robots-Tag
  Cache-Control: max-age=60
https://example.org/blog/*
  tdm-reservation: 1
"""


def test_headers_file_blocks_are_read_in_order_with_their_lines() -> None:
    parsed = HeadersFile.parse(NETLIFY, place="_headers")
    assert parsed.problems == ()
    assert [(r.pattern, r.line) for r in parsed.rules] == [
        ("/*", 2),
        ("/images/:name.png", 6),
        ("https://example.org/blog/*", 9),
    ]
    assert parsed.rules[0].headers == (
        HeaderLine("Content-Usage", "train-ai=n", 3),
        HeaderLine("X-Robots-Tag", "noai", 4),
    )
    assert parsed.rules[1].detached == ("x-robots-tag",)


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/", ["Content-Usage", "X-Robots-Tag"]),
        ("/about.html?x=1", ["Content-Usage", "X-Robots-Tag"]),
        # The placeholder matches one segment: a detached header is gone there only.
        ("/images/cat.png", ["Content-Usage", "Cache-Control"]),
        ("/images/a/cat.png", ["Content-Usage", "X-Robots-Tag"]),
        # An absolute URL's path is matched: the file serves its own site.
        ("/blog/2024/post", ["Content-Usage", "X-Robots-Tag", "tdm-reservation"]),
    ],
)
def test_headers_for_a_path_are_every_matching_rule_s(path: str, names: list[str]) -> None:
    parsed = HeadersFile.parse(NETLIFY)
    assert [h.name for h in parsed.headers_for(path)] == names


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("  Content-Usage: train-ai=n\n", 1, "no path above it"),
        ("/*\n  Content-Usage train-ai=n\n", 2, "not a header line"),
        ("/*\n  : train-ai=n\n", 2, "not a header line"),
        ("pages/*\n  Content-Usage: train-ai=n\n", 1, "neither a path pattern"),
        ("/a b\n  X-Robots-Tag: noai\n", 1, "neither a path pattern"),
        ("/*\n  ! \n", 2, "does not name one header"),
    ],
)
def test_unreadable_lines_are_problems_naming_the_line(text: str, line: int, words: str) -> None:
    parsed = HeadersFile.parse(text, place="site/_headers")
    assert parsed.problems, text
    first = parsed.problems[0]
    assert first.source.place == f"site/_headers line {line}"
    assert words in first.message


def test_headers_under_an_unreadable_pattern_are_each_reported() -> None:
    parsed = HeadersFile.parse("pages/*\n  X-Robots-Tag: noai\n")
    assert parsed.rules == ()
    assert [p.source.place for p in parsed.problems] == ["_headers line 1", "_headers line 2"]
    assert parsed.problems[1].source.signal is Signal.X_ROBOTS_TAG


def test_a_flood_of_bad_lines_is_summed_up_in_one_problem() -> None:
    parsed = HeadersFile.parse("nonsense\n" * 500)
    assert len(parsed.problems) == 21
    assert "480 more lines" in parsed.problems[-1].message


_NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True)
_VALUE = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85"),
    max_size=40,
).map(str.strip)
_PATTERN = st.from_regex(r"/[A-Za-z0-9_.*:/-]{0,30}", fullmatch=True)
_RULE = st.builds(
    lambda pattern, headers, detached: HeaderRule(
        pattern,
        headers=tuple(HeaderLine(n, v) for n, v in headers),
        detached=tuple(d.lower() for d in detached),
    ),
    _PATTERN,
    st.lists(st.tuples(_NAME, _VALUE), max_size=5),
    st.lists(_NAME, max_size=2),
)


def _shape(
    rules: tuple[HeaderRule, ...],
) -> list[tuple[str, list[tuple[str, str]], tuple[str, ...]]]:
    return [(r.pattern, [(h.name, h.value) for h in r.headers], r.detached) for r in rules]


@given(st.lists(_RULE, max_size=6))
def test_written_rules_read_back_as_written(rules: list[HeaderRule]) -> None:
    parsed = HeadersFile.parse(format_headers_file(rules))
    assert parsed.problems == ()
    assert _shape(parsed.rules) == _shape(tuple(rules))


@given(st.lists(_RULE, min_size=1, max_size=6))
def test_a_written_rule_s_own_headers_apply_to_its_own_pattern(rules: list[HeaderRule]) -> None:
    parsed = HeadersFile.parse(format_headers_file(rules))
    for rule in parsed.rules:
        concrete = rule.pattern.replace("*", "x").replace(":", "")
        assert rule.matches(concrete) or ":" in rule.pattern


@given(st.text(max_size=400), st.text(max_size=80))
def test_any_text_parses_without_raising_and_every_problem_names_a_line(
    text: str, path: str
) -> None:
    parsed = HeadersFile.parse(text, place="_headers")
    for problem in parsed.problems:
        assert problem.source.place.startswith("_headers")
    parsed.headers_for("/" + path)


@given(st.binary(max_size=400))
def test_any_bytes_parse_without_raising(data: bytes) -> None:
    HeadersFile.parse(data)


def test_a_hostile_pattern_is_matched_in_bounded_time() -> None:
    # A regular expression of this pattern would backtrack for ever on this path.
    rule = HeaderRule("/" + "*a" * 200 + "*:b:" * 50 + "c")
    started = time.monotonic()
    assert not rule.matches("/" + "a" * 3000)
    assert time.monotonic() - started < 2


def test_a_rule_the_format_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="header name"):
        format_headers_file([HeaderRule("/*", headers=(HeaderLine("#x", "1"),))])
    with pytest.raises(ValueError, match="path pattern"):
        format_headers_file([HeaderRule("/a b")])


# -- one file -------------------------------------------------------------------------


def test_robots_txt_alone_is_asked_about_the_site_root(tmp_path: Path) -> None:
    robots = tmp_path / "robots.txt"
    robots.write_text("User-agent: *\nContent-Usage: train-ai=n, search=y\nAllow: /\n")
    imported = import_signals(str(robots))
    assert _proposed(imported) == {TRAIN_AI: DENY, SEARCH: ALLOW}
    assert imported.read[0].kind is SourceKind.ROBOTS_TXT
    assert imported.read[0].signals == {Signal.CONTENT_USAGE_ROBOTS}
    assert any("root" in note for note in imported.notes)


def test_a_robots_txt_licence_read_alone_stays_reserved_for_licensing(tmp_path: Path) -> None:
    robots = tmp_path / "example.org.robots.txt"
    robots.write_text("License: https://example.org/licence.xml\n")
    imported = import_signals(str(robots))
    assert _proposed(imported) == dict.fromkeys(
        [TRAIN_AI, TRAIN_OTHER, AI_INPUT, SEARCH, DATA_MINING], LICENSE
    )


@pytest.mark.parametrize(
    ("name", "content", "kind", "expected"),
    [
        ("tdmrep.json", '[{"location": "/", "tdm-reservation": 1}]', SourceKind.TDMREP_JSON,
         dict.fromkeys(TDM, DENY)),
        ("ai.txt", "User-Agent: *\nDisallow: /\n", SourceKind.AI_TXT,
         {TRAIN_AI: DENY, TRAIN_OTHER: DENY}),
        ("licence.xml", RSL_SEARCH_ONLY, SourceKind.RSL,
         {SEARCH: ALLOW, **dict.fromkeys(TDM, DENY)}),
        ("page.html", '<html><head><meta name="robots" content="noai"></head></html>',
         SourceKind.HTML, {TRAIN_AI: DENY, TRAIN_OTHER: DENY}),
        ("_headers", "/*\n  tdm-reservation: 0\n/private/*\n  Content-Usage: search=n\n",
         SourceKind.HEADERS_FILE, {**dict.fromkeys(TDM, ALLOW), SEARCH: DENY}),
        # Recognised by content when the name says nothing.
        ("saved", RSL_SEARCH_ONLY, SourceKind.RSL, {SEARCH: ALLOW, **dict.fromkeys(TDM, DENY)}),
        ("rules", '[{"location": "/", "tdm-reservation": 0}]', SourceKind.TDMREP_JSON,
         dict.fromkeys(TDM, ALLOW)),
        # The PLUS value closest to "deny train-ai" prohibits every data mining use.
        ("photo.xmp", write_data_mining(Terms({TRAIN_AI: DENY})).text, SourceKind.XMP,
         {**dict.fromkeys(TDM, DENY), SEARCH: DENY}),
    ],
)  # fmt: skip
def test_each_kind_of_file_is_recognised_and_read(
    tmp_path: Path, name: str, content: str, kind: SourceKind, expected: dict[Category, Permission]
) -> None:
    path = tmp_path / name
    path.write_text(content)
    imported = import_signals(str(path))
    assert [(r.kind, r.status) for r in imported.read] == [(kind, ReadStatus.READ)]
    assert _proposed(imported) == expected
    assert imported.reservation.problems == ()


def _epub(meta: str) -> bytes:
    container = (
        '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0">'
        '<rootfiles><rootfile full-path="content.opf" '
        'media-type="application/oebps-package+xml"/></rootfiles></container>'
    )
    package = (
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id" '
        f'prefix="{EPUB_TDM_PREFIX}"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>T</dc:title>{meta}</metadata></package>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", container)
        archive.writestr("content.opf", package)
    return out.getvalue()


def _jpeg_with_xmp(packet: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, "JPEG", xmp=packet.encode())
    return out.getvalue()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


RESERVED = Terms({DATA_MINING: DENY})


@pytest.mark.parametrize(
    ("data", "kind", "expected"),
    [
        (_epub(write_opf_meta(RESERVED).text), SourceKind.EPUB, dict.fromkeys(TDM, DENY)),
        (b"%PDF-1.7\n" + write_xmp(RESERVED).text.encode() + b"\n%%EOF\n", SourceKind.PDF,
         dict.fromkeys(TDM, DENY)),
        (_jpeg_with_xmp(write_data_mining(Terms({TRAIN_AI: DENY})).text), SourceKind.IMAGE,
         {TRAIN_AI: DENY, TRAIN_OTHER: DENY}),
    ],
)  # fmt: skip
def test_publications_and_images_are_read_by_their_content(
    tmp_path: Path, data: bytes, kind: SourceKind, expected: dict[Category, Permission]
) -> None:
    path = tmp_path / "unnamed"
    path.write_bytes(data)
    imported = import_signals(str(path))
    assert [r.kind for r in imported.read] == [kind]
    assert {c: p for c, p in _proposed(imported).items() if c in expected} == expected
    assert all(str(path) in s.source.place for s in imported.reservation.statements)


def test_an_odrl_policy_reserves_what_it_offers_for_licensing(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_bytes((VECTORS / "odrl" / "full-example-1.json").read_bytes())
    imported = import_signals(str(path))
    assert imported.read[0].kind is SourceKind.ODRL
    assert set(_proposed(imported)) == TDM
    assert LICENSE in _proposed(imported).values()


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("tdmrep.json", "{not json", "not JSON"),
        ("licence.xml", "<rsl", "not well-formed XML"),
        ("ai.txt", "User-Agent: *\nDisalow: /\n", "Disalow"),
        ("_headers", "/*\n  Content-Usage train-ai=n\n", "not a header line"),
    ],
)
def test_a_malformed_file_shows_its_problem_and_proposes_nothing_from_it(
    tmp_path: Path, name: str, content: str, words: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    imported = import_signals(str(path))
    assert imported.read[0].status is ReadStatus.READ
    problems = imported.reservation.problems
    assert problems
    assert any(words in p.message or words in p.source.place for p in problems), problems


def test_an_oversized_signal_file_is_refused_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "robots.txt"
    path.write_text("# padding\n" * 120_000)
    imported = import_signals(str(path))
    (entry,) = imported.read
    assert entry.status is ReadStatus.REFUSED
    assert entry.reason is not None and "bytes" in entry.reason
    # Not read is not an allow: the refusal reserves, as a problem would.
    assert imported.reservation.problems[0].message == entry.reason


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("no/such/path", "neither a file nor a folder"),
        ("", "neither a file nor a folder"),
        ("ftp://example.org/", "not an http(s) URL"),
        ("https:///robots.txt", "not an http(s) URL"),
    ],
)
def test_a_source_that_cannot_be_used_is_one_sentence(source: str, words: str) -> None:
    with pytest.raises(InputError, match=re.escape(words)):
        import_signals(source)


def test_a_file_that_is_no_signal_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes")
    with pytest.raises(InputError, match="not a signal file"):
        import_signals(str(path))


def test_an_agent_that_is_not_a_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="user-agent token"):
        import_signals(str(tmp_path), agent="Bad Bot")
    with pytest.raises(InputError, match="--site"):
        import_signals(str(tmp_path), site="example.org")


# -- a site's folder ------------------------------------------------------------------

SITE: dict[str, str | bytes] = {
    "robots.txt": (
        "License: https://example.org/licence.xml\n"
        "User-agent: GPTBot\nDisallow: /\n\n"
        "User-agent: *\nContent-Usage: train-ai=y, search=y\nAllow: /\n"
    ),
    ".well-known/tdmrep.json": json.dumps(
        [{"location": "/blog/*", "tdm-reservation": 1}, {"location": "/", "tdm-reservation": 0}]
    ),
    "ai.txt": "User-Agent: *\nDisallow: *.png\nAllow: /\n",
    "_headers": "/*\n  X-Robots-Tag: noimageai\n/images/*\n  ! X-Robots-Tag\n",
    "licence.xml": RSL_SEARCH_ONLY,
    "index.html": "<html><head><title>Home</title></head><body>hi</body></html>",
    "blog/index.html": '<html><head><meta name="tdm-reservation" content="1"></head></html>',
    "images/cat.png": _png(),
    "style.css": "body { color: red }",
}


def test_a_folder_is_read_as_its_host_serves_it(tmp_path: Path) -> None:
    root = _write(tmp_path / "site", SITE)
    imported = import_signals(str(root), site="https://example.org")
    kinds = [(r.kind, r.status) for r in imported.read]
    assert kinds == [
        (SourceKind.ROBOTS_TXT, ReadStatus.READ),
        (SourceKind.TDMREP_JSON, ReadStatus.READ),
        (SourceKind.AI_TXT, ReadStatus.READ),
        (SourceKind.HEADERS_FILE, ReadStatus.READ),
        (SourceKind.RSL, ReadStatus.READ),
        (SourceKind.HTML, ReadStatus.READ),  # index.html
        (SourceKind.HTML, ReadStatus.READ),  # blog/index.html
        (SourceKind.IMAGE, ReadStatus.READ),  # images/cat.png
    ]
    assert _proposed(imported) == {
        # GPTBot's Disallow, ai.txt's *.png, the blog's tdmrep rule, the RSL licence.
        TRAIN_AI: DENY,
        TRAIN_OTHER: DENY,
        AI_INPUT: DENY,
        # The licence, once read, speaks in place of robots.txt's pointer to it.
        SEARCH: ALLOW,
        DATA_MINING: DENY,
    }
    assert imported.reservation.problems == ()
    labels = {s.label for s in imported.reservation.statements}
    assert not any(label.startswith("License:") for label in labels)


def test_conflicts_resolve_to_the_most_restrictive_and_keep_every_source(tmp_path: Path) -> None:
    root = _write(tmp_path / "site", SITE)
    imported = import_signals(str(root), site="https://example.org")
    said = {(s.source.signal, s.permission) for s in imported.reservation.about(TRAIN_AI)}
    assert {
        (Signal.CONTENT_USAGE_ROBOTS, ALLOW),
        (Signal.ROBOTS_AGENT, DENY),
        (Signal.TDMREP_JSON, ALLOW),
        (Signal.TDMREP_JSON, DENY),
        (Signal.AI_TXT, ALLOW),
        (Signal.AI_TXT, DENY),
        (Signal.X_ROBOTS_TAG, DENY),
        (Signal.TDMREP_META, DENY),
        (Signal.RSL, DENY),
    } <= said
    deciding = imported.proposals()[0].deciding
    assert deciding is not None and deciding.permission is DENY
    # Each statement once, though a site file says it of every path.
    assert len(imported.reservation.statements) == len(set(imported.reservation.statements))


def test_the_index_page_is_asked_at_its_folder_s_path(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "site",
        {
            ".well-known/tdmrep.json": json.dumps([{"location": "/blog/$", "tdm-reservation": 1}]),
            "blog/index.html": "<html></html>",
        },
    )
    assert _proposed(import_signals(str(root))) == dict.fromkeys(TDM, DENY)


def test_headers_are_read_for_the_paths_they_match(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "site",
        {"_headers": "/drafts/*\n  Content-Usage: train-ai=n\n", "about.html": "<html></html>"},
    )
    assert _proposed(import_signals(str(root))) == {}
    _write(root, {"drafts/a.html": "<html></html>"})
    imported = import_signals(str(root))
    assert _proposed(imported) == {TRAIN_AI: DENY}
    (statement,) = imported.reservation.statements
    assert statement.source.place.endswith("_headers line 2")


def test_an_agent_reads_only_its_own_group(tmp_path: Path) -> None:
    robots = str(SITE["robots.txt"]).split("\n", 1)[1]  # without the licence
    root = _write(tmp_path / "site", {"robots.txt": robots})
    assert _proposed(import_signals(str(root), agent="GPTBot"))[TRAIN_AI] is DENY
    other = import_signals(str(root), agent="SomeOtherBot")
    assert other.agent == "SomeOtherBot"
    assert _proposed(other)[TRAIN_AI] is ALLOW


def test_without_its_address_a_folder_s_licence_is_listed_as_not_read(tmp_path: Path) -> None:
    root = _write(tmp_path / "site", SITE)
    imported = import_signals(str(root))
    licence = next(r for r in imported.read if r.kind is SourceKind.RSL)
    assert licence.place == "https://example.org/licence.xml"
    assert licence.status is ReadStatus.REFUSED
    assert licence.reason is not None and "--site" in licence.reason
    # The pointer still reserves every use for licensing, so nothing is allowed by it.
    assert _proposed(imported)[SEARCH] is LICENSE


def test_a_licence_on_another_host_is_never_read_from_the_folder(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "site",
        {
            "robots.txt": "License: https://licences.example.net/licence.xml\n",
            "licence.xml": RSL_SEARCH_ONLY,
        },
    )
    imported = import_signals(str(root), site="https://example.org")
    licence = next(r for r in imported.read if r.kind is SourceKind.RSL)
    assert licence.status is ReadStatus.REFUSED
    assert licence.reason is not None and "another host" in licence.reason
    assert _proposed(imported)[SEARCH] is LICENSE


def test_a_licence_path_cannot_lead_out_of_the_folder(tmp_path: Path) -> None:
    (tmp_path / "secret.xml").write_text(RSL_SEARCH_ONLY)
    root = _write(tmp_path / "site", {"robots.txt": "License: https://example.org/../secret.xml\n"})
    imported = import_signals(str(root), site="https://example.org")
    licence = next(r for r in imported.read if r.kind is SourceKind.RSL)
    assert licence.status is ReadStatus.ABSENT
    assert _proposed(imported)[SEARCH] is LICENSE


def test_missing_site_files_are_absent_and_say_nothing(tmp_path: Path) -> None:
    root = _write(tmp_path / "site", {"index.html": "<html></html>"})
    imported = import_signals(str(root))
    assert [(r.kind, r.status) for r in imported.read][:4] == [
        (SourceKind.ROBOTS_TXT, ReadStatus.ABSENT),
        (SourceKind.TDMREP_JSON, ReadStatus.ABSENT),
        (SourceKind.AI_TXT, ReadStatus.ABSENT),
        (SourceKind.HEADERS_FILE, ReadStatus.ABSENT),
    ]
    assert _proposed(imported) == {}
    assert not imported.reservation


def test_a_malformed_site_file_in_a_folder_shows_its_problem(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "site",
        {".well-known/tdmrep.json": '[{"location": "/"}]', "robots.txt": "x" * (1 << 20) + "y"},
    )
    imported = import_signals(str(root))
    robots = next(r for r in imported.read if r.kind is SourceKind.ROBOTS_TXT)
    assert robots.status is ReadStatus.REFUSED
    messages = [p.message for p in imported.reservation.problems]
    assert any("tdm-reservation" in m for m in messages)
    assert robots.reason in messages


def test_links_out_of_the_folder_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.html"
    outside.write_text('<html><head><meta name="robots" content="noai"></head></html>')
    root = _write(tmp_path / "site", {"index.html": "<html></html>"})
    (root / "linked.html").symlink_to(outside)
    imported = import_signals(str(root))
    assert all("linked" not in r.place for r in imported.read)
    assert _proposed(imported) == {}


def test_the_files_read_are_capped_and_the_cap_is_stated(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "pages").mkdir(parents=True)
    for number in range(MAX_FILES + 1):
        (root / "pages" / f"{number:05}.txt").touch()
    imported = import_signals(str(root))
    assert any(f"{MAX_FILES:,}" in note for note in imported.notes)


# -- the proposal as a terms file -----------------------------------------------------


def test_the_proposal_is_written_as_a_terms_file(tmp_path: Path) -> None:
    root = _write(tmp_path / "site", SITE)
    imported = import_signals(str(root), site="https://example.org")
    out = save_proposed_terms(imported, tmp_path / "terms.json")
    assert Terms.from_json(json.loads(out.read_text())) == imported.terms
    with pytest.raises(InputError, match="--force"):
        save_proposed_terms(imported, out)
    out.write_text("{}")
    save_proposed_terms(imported, out, force=True)
    assert Terms.from_json(json.loads(out.read_text())) == imported.terms


def test_the_json_record_lists_sources_proposals_and_problems(tmp_path: Path) -> None:
    root = _write(tmp_path / "site", {"robots.txt": "User-agent: *\nContent-Usage: train-ai=n\n"})
    record = import_signals(str(root)).to_json()
    assert record["terms"] == {"version": 1, "categories": {"train-ai": "deny"}}
    assert record["read"][0] == {
        "place": str(root / "robots.txt"),
        "kind": "robots.txt",
        "status": "read",
        "signals": ["content-usage-robots"],
    }
    proposals = {p["category"]: p for p in record["proposals"]}
    assert proposals["train-ai"]["deciding"]["label"] == "train-ai=n"
    assert proposals["search"] == {"category": "search", "permission": None, "deciding": None}
    assert record["problems"] == []
    json.dumps(record)


# -- staying on the site --------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "site", "same"),
    [
        ("https://example.org/a", "https://example.org", True),
        ("https://EXAMPLE.org:443/a", "http://example.org", True),
        ("http://example.org:8080/a", "http://example.org:8080", True),
        ("http://example.org:8081/a", "http://example.org:8080", False),
        ("https://www.example.org/", "https://example.org", False),
        ("https://example.org.evil.test/", "https://example.org", False),
        ("ftp://example.org/", "https://example.org", False),
        ("http://[::1/", "https://example.org", False),
    ],
)
def test_same_site_means_the_same_host_and_port(url: str, site: str, same: bool) -> None:
    assert same_site(url, site) is same


def test_a_broken_image_shows_its_problem(tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    imported = import_signals(str(path))
    (problem,) = imported.reservation.problems
    assert problem.source.place.endswith(f"of {path}")


def test_repeated_x_robots_tag_lines_are_read_apart(tmp_path: Path) -> None:
    # Joined with a comma, the first line's agent prefix would bind the second line's
    # noai to that agent alone.
    path = tmp_path / "_headers"
    path.write_text("/*\n  X-Robots-Tag: GPTBot: noai\n  X-Robots-Tag: noai\n")
    imported = import_signals(str(path))
    agents = {(s.agent, s.source.place.rsplit(" ", 1)[-1]) for s in imported.reservation.statements}
    assert agents == {("GPTBot", "2"), (None, "3")}
    assert _proposed(import_signals(str(path), agent="OtherBot")) == {
        TRAIN_AI: DENY,
        TRAIN_OTHER: DENY,
    }
