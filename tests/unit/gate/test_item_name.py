"""An item's name for telling its language: code datasets keep it in metadata."""

from __future__ import annotations

from consentry.gate import Item
from consentry.gate.item import item_from_mapping, item_name


def test_code_without_a_file_name_reads_its_path_from_metadata() -> None:
    stack = {"max_stars_repo_path": "src/app/main.rs", "lang": "Rust"}
    assert item_name("a1", stack) == "src/app/main.rs"
    assert item_name("a1", {"path": "x/y.go"}) == "x/y.go"
    assert (
        item_from_mapping(
            {"id": "a1", "text": "fn main() {}", "metadata": stack}, source="c.jsonl:1"
        ).name
        == "src/app/main.rs"
    )


def test_code_without_a_file_name_reads_its_language_from_metadata() -> None:
    assert item_name("a1", {"lang": "Python"}) == "a1.py"
    assert item_name("a1", {"language": "c++"}) == "a1.cpp"
    assert item_name("a1.py", {"language": "python"}) == "a1.py"
    assert item_name("a1", {"lang": "no such language"}) == "a1"
    assert Item("b2", "s", text="x").name == "b2"
