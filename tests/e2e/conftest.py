from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


class Cli:
    """Runs ``consentry`` in a subprocess against its own registry, as a user would."""

    def __init__(self, home: Path, env: dict[str, str] | None = None) -> None:
        self.home = home
        base = {k: v for k, v in os.environ.items() if k != "CONSENTRY_DATABASE_URL"}
        self.env = {**base, "CONSENTRY_HOME": str(home), **(env or {})}

    def __call__(self, *args: str, expect: int | None = 0, cwd: Path | None = None) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "consentry", *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=cwd,
            timeout=300,
            check=False,
        )
        result = Result(done.returncode, done.stdout, done.stderr)
        if expect is not None:
            assert result.code == expect, (args, result)
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home")
