"""After ``warm_up`` nothing compiles: registering, a gate run and a publication check
find every kernel's machine code ready, for every argument type they pass.

Regression for issue 18 ("No silent first run"): after the warm-up ``make run``
performs, the first ``consentry gate run`` compiled 14 more kernels and sat silent for
85 s. The warm-up had built its index in memory, where a run's workers memory-map the
saved one: read-only arrays, another type to numba, so other machine code.
"""

from __future__ import annotations

import base64
import io
import json
import random
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image
from rich.console import Console

from consentry.warmup import COMPILING, compile_notice

ROOT = Path(__file__).resolve().parents[2]

_WORDS = ["consent", "archive", "river", "lantern", "harbour", "quiet", "meadow", "ledger"]
_WORDS += ["copper", "window", "orchard", "paper", "engine", "silver", "beacon", "garden"]


def _prose(rng: random.Random, words: int) -> str:
    sentences = []
    while words > 0:
        length = rng.randrange(6, 16)
        sentences.append(" ".join(rng.choice(_WORDS) for _ in range(length)).capitalize() + ".")
        words -= length
    return " ".join(sentences)


def _picture() -> bytes:
    image = Image.new("RGB", (64, 48))
    image.putdata(
        [((x * 4) % 256, (y * 5) % 256, (x * y) % 256) for y in range(48) for x in range(64)]
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _works(rng: random.Random) -> dict[str, str | bytes]:
    """One work for each way text reaches a kernel: ASCII prose; Unicode that
    normalises character by character, to Unicode or to ASCII; Unicode that needs full
    normalisation, to Unicode or to ASCII; code tokenised natively (ASCII and not) and
    by a Pygments lexer; short, empty and long texts; an image."""
    return {
        "prose.txt": _prose(rng, 900),
        "accents.txt": _prose(rng, 700).replace("a", "á").replace("o", "ø"),
        "spaces.txt": _prose(rng, 700).replace(" ", "\u00a0").replace("e", "ｅ"),
        "combining.txt": _prose(rng, 700).replace("e", "e\u0301"),
        "ligatures.txt": _prose(rng, 700).replace("fi", "\ufb01"),
        "module.py": "".join(
            f"def f{i}(x, y):\n    '''Doc.'''\n    return x * {i} + y  # note\n\n"
            for i in range(120)
        ),
        "unicode.py": "".join(f"def g{i}(ñ):\n    return 'é' + ñ * {i}\n" for i in range(120)),
        "lib.js": "".join(f"function h{i}(a) {{ /* c */ return a + {i}; }}\n" for i in range(120)),
        "query.sql": "".join(f"SELECT a, b FROM t{i} WHERE x = 'y'; -- c\n" for i in range(120)),
        "prog.f90": "".join(
            f"program p{i}\n  print *, 'Hello {i}'\nend program\n" for i in range(90)
        ),
        "short.txt": "tiny",
        "empty.txt": "",
        "long.txt": _prose(rng, 6000),
        "picture.png": _picture(),
    }


def _items(works: Mapping[str, str | bytes], rng: random.Random) -> list[dict[str, Any]]:
    """Gate records: exact, near and excerpt copies of the works, unrelated prose,
    code named by its path, empty, short and long texts, an image."""
    records: list[dict[str, Any]] = []
    for name, content in works.items():
        if isinstance(content, bytes):
            records.append({"id": name, "image": base64.b64encode(content).decode()})
            continue
        words = content.split(" ")
        near = " ".join(rng.choice(_WORDS) if rng.random() < 0.03 else w for w in words)
        excerpt = (
            _prose(rng, 300) + " " + content[len(content) // 3 :][:900] + " " + _prose(rng, 300)
        )
        for k, text in enumerate((content, near, excerpt)):
            records.append({"id": f"{name}-{k}", "text": text, "metadata": {"path": name}})
    records += [
        {"id": "unrelated", "text": _prose(rng, 500)},
        {"id": "unrelated-unicode", "text": _prose(rng, 500).replace("e", "é")},
        {"id": "empty", "text": ""},
        {"id": "short", "text": "short"},
        {"id": "long", "text": _prose(rng, 8000)},
        {"id": "no-text", "metadata": {}},
    ]
    return records


class _Refusing:
    """Consent that refuses every work: what is decided does not matter here, only that
    deciding runs."""

    def decide(self, work_ids: Sequence[str]) -> Mapping[str, Any]:
        return {}

    def price_of(self, grant_id: str) -> None:
        return None


class _Unknown:
    """Notices for a check against the registry's index: every work unknown."""

    def notices(self, work_ids: Sequence[str]) -> Mapping[str, Any]:
        from consentry.check import WorkNotice

        return {w: WorkNotice.unknown(w, "owner") for w in work_ids}

    def grants(self, work_ids: Sequence[str]) -> Mapping[str, str]:
        return {}


def _flows(folder: Path) -> None:
    """Register works, run the gate over records as a run and its workers do, and
    check outputs against the registry's index and against a sketch file."""
    from consentry.check import Checker, notice_records
    from consentry.crypto import KeyPair
    from consentry.gate import Gate
    from consentry.index import MatchIndex, Sketch
    from consentry.log import NoteVerifier
    from consentry.registry import FileFingerprint, PartyKind, Registry
    from consentry.registry.catalogue import discover_files, fingerprint_files

    rng = random.Random(18)
    works = _works(rng)
    for batch in ("first", "second"):
        (folder / batch).mkdir()
        for name, content in works.items():
            path = folder / batch / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content + (" Second." if batch == "second" and content else ""))
    registry = Registry.create(f"sqlite:///{folder / 'registry.db'}")
    key = KeyPair.generate()
    owner = registry.parties.create(PartyKind.OWNER, "Owner", key)
    saved = folder / "index"
    indexes = []
    for batch in ("first", "second"):
        printed = fingerprint_files(discover_files([folder / batch]), workers=1)
        files = [f for f in printed if isinstance(f, FileFingerprint)]
        # The empty and the short text are refused: too little content to be copied.
        assert len(files) == len(works) - 2, "every work fingerprinted but empty and short"
        list(registry.works.register(owner.id, key, files))
        # As a run finds the registry's index: built and saved at first, then loaded
        # (memory-mapped) and refreshed with the works registered since.
        index = MatchIndex.load(saved) if indexes else MatchIndex()
        registry.works.refresh_index(index)
        index.save(saved)
        indexes.append(index)
    # As a run's workers load it, and merged as a refresh past MAX_SEGMENTS merges.
    indexes.append(MatchIndex.load(saved))
    merged = MatchIndex.load(saved)
    merged.compact()
    indexes.append(merged)
    records = _items(works, rng)
    for index in indexes:
        gate = Gate(index=index, consent=_Refusing())
        assert len(gate.decide_many(records)) == len(records)
        for record in records[:: max(1, len(records) // 12)]:
            gate.decide(record)
    origin = "warmup.test/log"
    sketch_file = folder / "works.sketch"
    notices = [_Unknown().notices([w.work_id])[w.work_id] for w in registry.works.index_records()]
    built = Sketch.build(
        list(registry.works.index_records()), notice_records(notices), checkpoint=""
    )
    sketch_file.write_bytes(built.to_bytes(key, origin))
    prose = str(works["prose.txt"])
    outputs = {
        "excerpt.txt": prose[1000:4000],
        "copy.py": str(works["module.py"]),
        "copy.f90": str(works["prog.f90"]),
        "accents.txt": str(works["accents.txt"])[500:3000],
        "picture.png": works["picture.png"],
        "nothing.txt": "Nothing registered here.",
    }
    checkers = [
        Checker(indexes[0], _Unknown()),
        Checker(indexes[2], _Unknown()),
        Checker.offline(sketch_file, NoteVerifier(origin, key.public).vkey()),
    ]
    for checker in checkers:
        for name, output in outputs.items():
            data = output if isinstance(output, bytes) else output.encode()
            checker.check_bytes(data, name=name)
    registry.close()


def _kernels() -> dict[int, Any]:
    """Every compiled kernel of this project's modules loaded now, by identity."""
    from numba.core.dispatcher import Dispatcher

    found = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("consentry."):
            for value in vars(module).values():
                if isinstance(value, Dispatcher):
                    found[id(value)] = value
    return found


def _name(kernel: Any) -> str:
    function = kernel.py_func
    return f"{function.__module__}.{function.__qualname__}"


@contextmanager
def _compilations() -> Iterator[list[str]]:
    """The kernels numba compiles within the block, as ``kernel(argument types)``."""
    from numba.core import event

    compiled: list[str] = []

    class _Listener(event.Listener):  # type: ignore[misc]  # numba ships no types
        def on_start(self, happened: Any) -> None:
            pass

        def on_end(self, happened: Any) -> None:
            kernel, args = happened.data["dispatcher"], happened.data["args"]
            if _name(kernel).startswith("consentry."):
                compiled.append(f"{_name(kernel)}{tuple(args)}")

    with event.install_listener("numba:compile", _Listener()):
        yield compiled


def machine_code_added_by_flows() -> list[str]:
    """In a fresh process: the warm-up in full (what ``warm_up`` does until it has
    recorded that every kernel is on disk), then the flows; what machine code the flows
    still needed, compiled or loaded from the disk cache.

    A compile event alone would not do: numba sends none when it loads machine code
    from the disk cache, so on a machine where an earlier run cached what the warm-up
    misses, nothing would be compiled and the test would pass. What the flows added to
    any kernel beyond what the warm-up left, however it came, is counted instead."""
    import tempfile

    from consentry.warmup import _load_every_kernel

    _load_every_kernel()
    before = {key: set(kernel.signatures) for key, kernel in _kernels().items()}
    with tempfile.TemporaryDirectory() as folder, _compilations() as compiled:
        _flows(Path(folder))
    added = [f"{entry} compiled" for entry in compiled]
    for key, kernel in _kernels().items():
        for signature in set(kernel.signatures) - before.get(key, set()):
            entry = f"{_name(kernel)}{signature}"
            if f"{entry} compiled" not in added:
                added.append(f"{entry} loaded from the cache")
    return sorted(added)


def test_regression_no_silent_first_run_nothing_compiles_after_warm_up() -> None:
    # A process of its own: this one has run other tests' kernels already, and machine
    # code once loaded cannot be unloaded to see what the warm-up alone leaves.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, tests.unit.test_warmup as t; "
            "print(json.dumps(t.machine_code_added_by_flows()))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    added = json.loads(done.stdout.splitlines()[-1])
    assert added == [], "machine code the warm-up left out:\n" + "\n".join(added)


def test_importing_warmup_leaves_numba_unimported_until_a_notice_needs_it() -> None:
    script = (
        "import sys\n"
        "from rich.console import Console\n"
        "from consentry.warmup import compile_notice\n"
        "assert 'numba' not in sys.modules, 'importing consentry.warmup imported numba'\n"
        "console = Console(file=sys.stdout, force_terminal=False)\n"
        "with compile_notice(console):\n"
        "    assert 'numba' not in sys.modules, 'entering the notice imported numba'\n"
        "    import numba\n"
        "    numba.njit(lambda x: x + 1)(1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == COMPILING


def test_compile_notice_says_so_once_while_compiling_and_not_for_cached_code() -> None:
    import numba

    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    twice = numba.njit(lambda x: x * 2)
    with compile_notice(console):
        twice(1)
        twice(1.5)  # another type: compiled again, not announced again
    assert out.getvalue().strip() == COMPILING
    quiet = io.StringIO()
    with compile_notice(Console(file=quiet, force_terminal=False)):
        twice(3)  # compiled already
    assert quiet.getvalue() == ""
    with compile_notice(Console(file=quiet, force_terminal=False)):
        pass
    numba.njit(lambda x: x - 1)(1)  # after the block: not listened to
    assert quiet.getvalue() == ""


def test_compile_notice_shows_a_status_on_a_terminal_while_compiling() -> None:
    import numba

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with compile_notice(console):
        numba.njit(lambda x: x + 3)(1)
        shown = out.getvalue()
    assert COMPILING in shown
    # Compiling has ended, and so has the status: the cursor is back, its line erased.
    assert shown.endswith("\x1b[?25h\r\x1b[1A\x1b[2K")
