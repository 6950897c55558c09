"""A key folder its group or others can write to is refused (issue 20, point 8): whoever
can write there can put a key of their own under a party's name. ssh refuses such a
folder for its keys the same way."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from consentry.crypto import FileKeyStore, KeyPair
from consentry.errors import KeyStoreError
from tests.e2e.conftest import Cli


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777, 0o1777])
def test_a_key_folder_others_can_write_to_is_refused_with_the_chmod_fix(
    tmp_path: Path, mode: int
) -> None:
    folder = tmp_path / "keys"
    store = FileKeyStore(folder)
    store.save("own_abc", KeyPair.generate())
    folder.chmod(mode)
    expected = (
        f"key folder {folder} can be written by its group or others (mode {mode:o}), so its "
        f"keys could be swapped; run 'chmod 700 {folder}'"
    )
    with pytest.raises(KeyStoreError) as loading:
        store.load("own_abc")
    assert str(loading.value) == expected
    with pytest.raises(KeyStoreError) as saving:
        store.save("own_new", KeyPair.generate())
    assert str(saving.value) == expected
    assert not store.has("own_new")
    folder.chmod(0o700)  # the fix the sentence names
    assert store.load("own_abc").public == store.load("own_abc").public


def test_a_key_folder_others_may_only_read_or_enter_is_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    store = FileKeyStore(folder)
    key = KeyPair.generate()
    store.save("own_abc", key)
    folder.chmod(0o755)
    assert store.load("own_abc").public == key.public


def test_a_key_file_others_can_write_to_is_refused(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys")
    store.save("own_abc", KeyPair.generate())
    path = store.path("own_abc")
    path.chmod(0o620)
    with pytest.raises(KeyStoreError, match=r"is open to others \(mode 620\); run 'chmod 600"):
        store.load("own_abc")
    assert stat.S_IMODE(path.stat().st_mode) == 0o620


def test_a_command_acting_from_an_open_key_folder_is_refused_in_one_sentence(
    tmp_path: Path,
) -> None:
    keys = tmp_path / "keys"
    cli = Cli(tmp_path / "home", keys=keys)
    cli("init")
    owner = cli("owner", "create", "Owner", "--json").records()[0]["id"]
    (tmp_path / "works").mkdir()
    (tmp_path / "works" / "a.txt").write_text("a work of its owner's " * 30)
    keys.chmod(0o777)
    refused = cli("work", "register", str(tmp_path / "works"), "--owner", owner, expect=2)
    assert refused.stderr.replace("\n", "") == (
        f"error: key folder {keys} can be written by its group or others (mode 777), so its "
        f"keys could be swapped; run 'chmod 700 {keys}'"
    )
