"""consentry's block in files the owner also edits: replaced in place on each export,
never duplicated, and the owner's own lines kept as they were."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consentry.app._marked_blocks import HEAD_BEGIN, HEAD_END, with_head_block, with_line_block

# Lines an owner writes in robots.txt or _headers, markers excluded (only consentry
# writes those).
_lines = st.lists(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30).filter(
        lambda line: "consentry signals" not in line
    ),
    max_size=8,
).map(lambda lines: "".join(f"{line}\n" for line in lines))
_blocks = st.lists(st.from_regex(r"[A-Za-z-]{1,12}: [a-z=,]{1,20}", fullmatch=True), min_size=1)


def _owners_part(text: str) -> str:
    begin = text.index("# BEGIN consentry signals")
    end = text.index("# END consentry signals")
    return text[:begin] + text[text.index("\n", end) + 1 :]


@given(_lines, _blocks, _blocks, st.booleans())
def test_a_second_export_replaces_the_block_and_keeps_the_owners_lines(
    owners: str, first: list[str], second: list[str], on_top: bool
) -> None:
    once = with_line_block(owners, "\n".join(first), first=on_top)
    twice = with_line_block(once, "\n".join(second), first=on_top)
    assert twice.count("# BEGIN consentry signals") == 1
    assert twice == with_line_block(owners, "\n".join(second), first=on_top)
    assert "\n".join(second) in twice
    assert _owners_part(twice).strip() == owners.strip()


def test_robots_txt_gets_the_block_first_and_headers_last() -> None:
    robots = with_line_block(
        "User-agent: Googlebot\nDisallow: /private/\n", "License: x", first=True
    )
    assert robots.startswith("# BEGIN consentry signals")
    assert robots.endswith("User-agent: Googlebot\nDisallow: /private/\n")
    headers = with_line_block("/fonts/*\n  Cache-Control: max-age=1\n", "/*\n  A: b", first=False)
    assert headers.startswith("/fonts/*\n") and headers.endswith("# END consentry signals\n")
    assert with_line_block("", "X: y", first=True).count("\n\n") == 0


def test_the_meta_tags_go_at_the_end_of_the_head_once() -> None:
    page = "<!doctype html><HTML><Head><title>t</title></Head><body>b</body></HTML>"
    once = with_head_block(page, '<meta name="a" content="1">')
    assert once is not None
    twice = with_head_block(once, '<meta name="a" content="2">')
    assert twice is not None
    assert twice.count(HEAD_BEGIN) == 1 and twice.count(HEAD_END) == 1
    assert 'content="1"' not in twice and 'content="2"' in twice
    assert twice.index("<title>") < twice.index(HEAD_BEGIN) < twice.index("</Head>")
    assert twice.replace(twice[twice.index(HEAD_BEGIN) : twice.index("</Head>")], "") == page


def test_a_head_without_its_end_tag_still_gets_the_tags_and_a_page_without_head_none() -> None:
    opened = with_head_block('<html><head lang="en"><title>t</title><body>b', "<meta>")
    assert opened is not None and opened.startswith('<html><head lang="en">\n' + HEAD_BEGIN)
    assert with_head_block("<p>only a fragment</p>", "<meta>") is None
