"""``consentry demo``: the whole loop on real files from this machine, step by step.

Every step is a real ``consentry`` command run against a fresh registry, printed with
its output exactly as a user would see it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import typer

from consentry.errors import InputError

__all__ = ["demo"]

_LICENSE_TEXTS = ("Apache-2.0", "GPL-3", "GPL", "MPL-2.0", "CC0-1.0", "Artistic", "BSD")
_TERMS = {
    "version": 1,
    "categories": {
        "train-ai": "license",
        "train-other": "deny",
        "ai-input": "license",
        "search": "allow",
        "data-mining": "deny",
        "publish-output": "allow",
    },
    "price": {"per": "work", "amount": "0.05", "currency": "EUR"},
    "conditions": {
        "attribution": "Text reproduced from the demo catalogue, used under licence.",
        "max_excerpt_chars": 300,
    },
}


@contextmanager
def _home(path: Path) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("CONSENTRY_HOME", "CONSENTRY_DATABASE_URL")}
    os.environ["CONSENTRY_HOME"] = str(path)
    os.environ.pop("CONSENTRY_DATABASE_URL", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _step(title: str, args: list[str], *, expect: int = 0) -> str:
    """Run ``consentry ARGS``, show it and its output, return the output."""
    from consentry.cli import main  # noqa: PLC0415 - the demo runs the CLI it belongs to

    sys.stdout.write(f"\n# {title}\n$ consentry {' '.join(_quote(a) for a in args)}\n")
    captured = io.StringIO()
    with redirect_stdout(captured):
        status = main(args)
    sys.stdout.write(captured.getvalue())
    sys.stdout.flush()
    if status != expect:
        raise InputError(f"demo step '{title}' exited {status}, expected {expect}")
    return captured.getvalue()


def _quote(arg: str) -> str:
    return f"'{arg}'" if (" " in arg or not arg) else arg


def _catalogue(folder: Path) -> Path:
    """Copy real texts and code from this machine into a creator's folder."""
    texts = folder / "catalogue" / "licence-texts"
    code = folder / "catalogue" / "json-module"
    texts.mkdir(parents=True)
    licences = Path("/usr/share/common-licenses")
    for name in _LICENSE_TEXTS:
        if (licences / name).is_file():
            shutil.copyfile(licences / name, texts / name)
    shutil.copytree(Path(json.__file__).parent, code, ignore=shutil.ignore_patterns("__pycache__"))
    if not any(texts.iterdir()):
        # No licence texts on this machine: the standard library's own docs stand in.
        shutil.copyfile(Path(json.__file__), texts / "json-init.py.txt")
    return folder / "catalogue"


def demo(
    home: Path = typer.Option(
        Path(".consentry-demo"), "--home", help="Where the demo registry is made (wiped first)."
    ),
) -> None:
    """Walk through the whole loop on real files: register, set terms, license, revoke."""
    if home.exists():
        if not (home / "registry.db").exists() and any(home.iterdir()):
            raise InputError(f"{home} exists and is not a demo registry; pass another --home")
        shutil.rmtree(home)
    home.mkdir(parents=True)
    catalogue = _catalogue(home)
    terms_file = home / "terms.json"
    terms_file.write_text(json.dumps(_TERMS, indent=2))
    with _home(home):
        _step("create the registry (SQLite) and the log key", ["init"])
        owner = _step(
            "a creator gets a key pair", ["owner", "create", "Ada Lovelace Press"]
        ).split()[0]
        lab = _step("so does an AI lab", ["licensee", "create", "Example AI Lab"]).split()[0]
        _step(
            "the creator registers a catalogue: fingerprints only, content stays here",
            ["work", "register", str(catalogue), "--owner", owner, "--collection", "catalogue"],
        )
        listed = _step("their works", ["work", "list", "--owner", owner, "--limit", "3", "--json"])
        work = json.loads(listed.splitlines()[0])["id"]
        _step(
            "the creator sets their terms",
            ["terms", "set", owner, "--owner", owner, "--file", str(terms_file)],
        )
        _step("terms in force for one work (inherited from the owner)", ["terms", "show", work])
        _step(
            "without a licence the lab may not train on it",
            ["license", "check", work, "--licensee", lab, "--purpose", "train-ai"],
            expect=1,
        )
        request_out = _step(
            "the lab asks the creator directly",
            [
                "license",
                "request",
                "--licensee",
                lab,
                "--owner",
                owner,
                "--purpose",
                "train-ai",
                "--offer",
                "0.03 EUR",
                "--until",
                "2030-12-31",
            ],
        )
        request = request_out.split()[0]
        _step(
            "the creator asks for more",
            ["license", "counter", request, "--owner", owner, "--price", "0.05 EUR"],
        )
        _step("the lab accepts", ["license", "accept", request, "--licensee", lab])
        grant = _step(
            "the creator signs the grant", ["license", "grant", request, "--owner", owner]
        ).split()[0]
        _step(
            "now training is allowed",
            ["license", "check", work, "--licensee", lab, "--purpose", "train-ai"],
        )
        _step(
            "but only what was granted",
            ["license", "check", work, "--licensee", lab, "--purpose", "train-other"],
            expect=1,
        )
        other = _step(
            "someone else tries to claim the same texts", ["owner", "create", "Copycat Ltd"]
        ).split()[0]
        _step(
            "their claim is flagged as a dispute, not a second registration",
            ["work", "register", str(catalogue / "licence-texts"), "--owner", other],
        )
        _step(
            "the creator revokes the grant for future runs",
            ["license", "revoke", grant, "--owner", owner],
        )
        _step(
            "from now on the lab may not train on it",
            ["license", "check", work, "--licensee", lab, "--purpose", "train-ai"],
            expect=1,
        )
        _step("the lab's own view", ["license", "list", "--licensee", lab])
    sys.stdout.write(
        f"\nThe demo registry is in {home}; explore it with\n"
        f"  CONSENTRY_HOME={home} consentry work list\n"
    )
