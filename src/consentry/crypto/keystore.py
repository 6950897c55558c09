"""Where private keys live: files readable only by their owner, never the database."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Protocol

from consentry.crypto.keys import KeyPair
from consentry.errors import KeyStoreError

__all__ = ["FileKeyStore", "KeyStore"]

_NAME = re.compile(r"^[a-z0-9_]{1,64}$")


class KeyStore(Protocol):
    """Holds private keys by party id."""

    def save(self, name: str, key: KeyPair) -> None: ...

    def load(self, name: str) -> KeyPair: ...

    def has(self, name: str) -> bool: ...


class FileKeyStore:
    """One PKCS#8 PEM file per key, mode 0600, in a folder of mode 0700: a file others
    can read or write, or a folder others can write to, is refused."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise KeyStoreError(f"key name {name!r} must be lowercase letters, digits and _")
        return self.folder / f"{name}.key"

    def has(self, name: str) -> bool:
        return self.path(name).exists()

    def _refuse_open_folder(self) -> None:
        """Refuse a key folder its group or others can write to: whoever can write
        there can swap a key for their own (ssh refuses such folders for the same
        reason)."""
        try:
            mode = self.folder.stat().st_mode
        except FileNotFoundError:
            return  # nothing there to swap; loading says the key is missing
        except OSError as exc:
            raise KeyStoreError(f"cannot read key folder {self.folder}: {exc.strerror}") from exc
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise KeyStoreError(
                f"key folder {self.folder} can be written by its group or others "
                f"(mode {stat.S_IMODE(mode):o}), so its keys could be swapped; "
                f"run 'chmod 700 {self.folder}'"
            )

    def save(self, name: str, key: KeyPair) -> None:
        """Write the key with mode 0600 from the first byte; refuse to overwrite, and
        refuse a folder others can write to."""
        path = self.path(name)
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._refuse_open_folder()
            # O_EXCL: never replace an existing key; the mode is set at creation so
            # the secret is never readable by others, not even for an instant.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise KeyStoreError(f"key file {path} already exists; refusing to replace it") from exc
        except OSError as exc:
            raise KeyStoreError(f"cannot create key file {path}: {exc.strerror}") from exc
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.to_pem())

    def load(self, name: str) -> KeyPair:
        """Read a key; refuses a file others can read or write, and a folder others can
        write to."""
        path = self.path(name)
        self._refuse_open_folder()
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyStoreError(
                    f"key file {path} is open to others (mode {stat.S_IMODE(mode):o}); "
                    f"run 'chmod 600 {path}'"
                )
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise KeyStoreError(
                f"no private key for {name} in {self.folder}; "
                "act from the key folder that holds it (set CONSENTRY_KEYS to it)"
            ) from exc
        except OSError as exc:
            raise KeyStoreError(f"cannot read key file {path}: {exc.strerror}") from exc
        return KeyPair.from_pem(data, source=str(path))
