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
    """One PKCS#8 PEM file per key, mode 0600, in a folder of mode 0700."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise KeyStoreError(f"key name {name!r} must be lowercase letters, digits and _")
        return self.folder / f"{name}.key"

    def has(self, name: str) -> bool:
        return self.path(name).exists()

    def save(self, name: str, key: KeyPair) -> None:
        """Write the key with mode 0600 from the first byte; refuse to overwrite."""
        path = self.path(name)
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
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
        """Read a key; refuses files that others can read."""
        path = self.path(name)
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyStoreError(
                    f"key file {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
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
