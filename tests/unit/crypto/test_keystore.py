from __future__ import annotations

import stat
from pathlib import Path

import pytest

from consentry.crypto import FileKeyStore, KeyPair
from consentry.errors import KeyStoreError


def test_keys_are_written_mode_0600_in_a_0700_folder(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys")
    key = KeyPair.generate()
    store.save("own_abc", key)
    assert stat.S_IMODE(store.path("own_abc").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert store.load("own_abc").public == key.public


def test_an_existing_key_is_never_replaced(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path)
    first = KeyPair.generate()
    store.save("own_abc", first)
    with pytest.raises(KeyStoreError, match="already exists"):
        store.save("own_abc", KeyPair.generate())
    assert store.load("own_abc").public == first.public


def test_a_key_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path)
    store.save("own_abc", KeyPair.generate())
    store.path("own_abc").chmod(0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        store.load("own_abc")


def test_a_missing_key_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match=f"no private key for own_zzz in {tmp_path}"):
        FileKeyStore(tmp_path).load("own_zzz")


def test_a_corrupt_key_file_is_reported(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path)
    store.path("own_abc").write_bytes(b"not a key")
    store.path("own_abc").chmod(0o600)
    with pytest.raises(KeyStoreError, match="not an unencrypted PKCS#8"):
        store.load("own_abc")


@pytest.mark.parametrize("name", ["../escape", "Own", "a/b", ""])
def test_key_names_cannot_escape_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(KeyStoreError, match="lowercase"):
        FileKeyStore(tmp_path).path(name)
