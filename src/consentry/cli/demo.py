"""``consentry demo``: the whole loop on real files from this machine, step by step.

Every step is a real ``consentry`` command run against a fresh registry, printed with
its output exactly as a user would see it.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from contextlib import redirect_stdout
from pathlib import Path

import typer

from consentry._environ import restored_environment
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


_NAMES = ("CONSENTRY_HOME", "CONSENTRY_DATABASE_URL", "CONSENTRY_KEYS")


def _step(title: str, args: list[str], *, keys: Path, expect: int = 0) -> str:
    """Run ``consentry ARGS`` as the party whose key folder is ``keys``, show it and its
    output, return the output."""
    from consentry.cli import main  # the demo runs the CLI it belongs to

    who = keys.name.removeprefix("keys-")
    sys.stdout.write(f"\n# {title}\n[{who}]$ consentry {' '.join(_quote(a) for a in args)}\n")
    captured = io.StringIO()
    with redirect_stdout(captured), restored_environment(*_NAMES, CONSENTRY_KEYS=str(keys)):
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


_PROSE = (
    "A note on the garden in spring: the seeds went in late, the rain came early, and "
    "the beans climbed the fence before anyone had thought to give them canes. "
)


def _corpus(home: Path, catalogue: Path) -> tuple[Path, Path]:
    """A lab's small corpus: a registered text whole, an excerpt of another inside
    unrelated prose, unrelated prose under an open licence, and unrelated prose with
    no basis at all; and a model output quoting a registered text at length."""
    texts = sorted(p for p in (catalogue / "licence-texts").iterdir() if p.is_file())
    first = texts[0].read_text("utf-8")
    second = " ".join(texts[-1].read_text("utf-8").split())
    records = [
        {"id": "whole-copy", "text": first},
        {"id": "quoted", "text": _PROSE * 3 + second[1000:1800] + " " + _PROSE * 3},
        {"id": "open", "text": _PROSE * 6, "metadata": {"license": "CC0-1.0"}},
        {"id": "no-basis", "text": _PROSE * 5 + "The end."},
    ]
    corpus = home / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    essay = home / "essay.txt"
    essay.write_text(_PROSE * 2 + second[2000:2700] + " " + _PROSE, "utf-8")
    return corpus, essay


def demo(
    home: Path = typer.Option(
        Path(".consentry-demo"), "--home", help="Where the demo registry is made (wiped first)."
    ),
) -> None:
    """Walk through the whole loop on real files: register, set terms, license, gate a
    corpus, prove usage, check an output offline, revoke."""
    if home.exists():
        if not (home / "registry.db").exists() and any(home.iterdir()):
            raise InputError(f"{home} exists and is not a demo registry; pass another --home")
        shutil.rmtree(home)
    home.mkdir(parents=True)
    catalogue = _catalogue(home)
    terms_file = home / "terms.json"
    terms_file.write_text(json.dumps(_TERMS, indent=2))
    # Each party acts from a key folder of its own, as it would on its own machine.
    operator, ada, lab_keys, copycat = (
        home / name for name in ("keys-operator", "keys-ada", "keys-lab", "keys-copycat")
    )
    with restored_environment(*_NAMES, CONSENTRY_HOME=str(home), CONSENTRY_DATABASE_URL=None):
        _step("create the registry (SQLite) and the log key", ["init"], keys=operator)
        owner = _step(
            "a creator gets a key pair, in a key folder of their own",
            ["owner", "create", "Ada Lovelace Press"],
            keys=ada,
        ).split()[0]
        lab = _step(
            "so does an AI lab", ["licensee", "create", "Example AI Lab"], keys=lab_keys
        ).split()[0]
        _step(
            "the creator registers a catalogue: fingerprints only, content stays here",
            ["work", "register", str(catalogue), "--owner", owner, "--collection", "catalogue"],
            keys=ada,
        )
        listed = _step(
            "their works",
            ["work", "list", "--owner", owner, "--limit", "3", "--json"],
            keys=ada,
        )
        work = json.loads(listed.splitlines()[0])["id"]
        _step(
            "the creator sets their terms",
            ["terms", "set", owner, "--owner", owner, "--file", str(terms_file)],
            keys=ada,
        )
        _step(
            "terms in force for one work (inherited from the owner)",
            ["terms", "show", work],
            keys=lab_keys,
        )
        _step(
            "without a licence the lab may not train on it",
            ["license", "check", work, "--licensee", lab, "--purpose", "train-ai"],
            keys=lab_keys,
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
            keys=lab_keys,
        )
        request = request_out.split()[0]
        _step(
            "the lab cannot grant itself the licence: only the creator's key can",
            ["license", "grant", request, "--owner", owner],
            keys=lab_keys,
            expect=2,
        )
        _step(
            "the creator asks for more",
            ["license", "counter", request, "--owner", owner, "--price", "0.05 EUR"],
            keys=ada,
        )
        _step("the lab accepts", ["license", "accept", request, "--licensee", lab], keys=lab_keys)
        grant = _step(
            "the creator signs the grant",
            ["license", "grant", request, "--owner", owner],
            keys=ada,
        ).split()[0]
        _step(
            "now training is allowed",
            ["license", "check", work, "--licensee", lab, "--purpose", "train-ai"],
            keys=lab_keys,
        )
        _step(
            "but only what was granted",
            ["license", "check", work, "--licensee", lab, "--purpose", "train-other"],
            keys=lab_keys,
            expect=1,
        )
        corpus, essay = _corpus(home, catalogue)
        _step(
            "the lab runs its corpus through the gate: only what the owner agreed to goes in",
            [
                "gate",
                "run",
                str(corpus),
                "--licensee",
                lab,
                "--purpose",
                "train-ai",
                "--out",
                str(home / "run-1"),
                "--workers",
                "1",
            ],
            keys=lab_keys,
        )
        _step(
            "the creator's statement of what the run owes, to the cent",
            ["royalties", "statement", "--owner", owner, str(home / "run-1")],
            keys=ada,
        )
        _step(
            "the operator puts the run's signed manifest on the log",
            ["log", "checkpoint"],
            keys=operator,
        )
        _step(
            "the creator sees where their works were used, with proofs",
            ["usage", "--owner", owner, "--out", str(home / "proofs")],
            keys=ada,
        )
        vkey = _step("the log's verifier key, for anyone", ["log", "key"], keys=operator).strip()
        _step(
            "the operator exports the offline sketch: fingerprints and terms, no content",
            ["sketch", "export", "--out", str(home / "registry.sketch")],
            keys=operator,
        )
        _step(
            "before publishing a model's output, anyone checks it offline",
            ["check", str(essay), "--sketch", str(home / "registry.sketch"), "--log-key", vkey],
            keys=lab_keys,
            expect=1,
        )
        other = _step(
            "someone else tries to claim the same texts",
            ["owner", "create", "Copycat Ltd"],
            keys=copycat,
        ).split()[0]
        _step(
            "their claim is flagged as a dispute, not a second registration",
            ["work", "register", str(catalogue / "licence-texts"), "--owner", other],
            keys=copycat,
        )
        _step(
            "the creator revokes the grant for future runs",
            ["license", "revoke", grant, "--owner", owner],
            keys=ada,
        )
        _step(
            "from now on the lab may not train on it",
            ["license", "check", work, "--licensee", lab, "--purpose", "train-ai"],
            keys=lab_keys,
            expect=1,
        )
        _step("the lab's own view", ["license", "list", "--licensee", lab], keys=lab_keys)
        _step(
            "the operator signs a checkpoint over every event on the log",
            ["log", "checkpoint"],
            keys=operator,
        )
        _step("anyone can check the whole log", ["log", "verify"], keys=lab_keys)
    sys.stdout.write(
        f"\nThe demo registry is in {home}, each party's keys in {home}/keys-*; explore it\n"
        f"  CONSENTRY_HOME={home} CONSENTRY_KEYS={ada} consentry license list --owner {owner}\n"
    )
