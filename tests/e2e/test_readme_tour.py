"""The README's five-minute tour, pasted top to bottom into bash in an empty folder on a
fresh machine, prints what the README shows.

Each ```console block of the tour is a sequence of ``$ command`` lines, each followed
by its output. A command goes on over lines that end in a backslash and over the bodies
of its heredocs. The whole tour runs in one bash process, as a reader's shell does, so
that the ids kept in shell variables reach the commands after them; a marker printed
before each command splits what the shell printed back into each command's output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
TOUR = "## Five-minute tour"

_BLOCK = re.compile(r"^```console\n(.*?)^```$", re.DOTALL | re.MULTILINE)
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")
_MARKER = "@@readme-tour-step {}@@"
_SPLIT = re.compile(r"\n?@@readme-tour-step (\d+)@@\n")

# What differs from one run to the next, and nothing else: ids, the log's key (its id,
# its hash and the key itself), moments, and what timing or random ids change (rates,
# seconds, the size of a sketch whose signed records hold ids and moments).
_VARYING = [
    (re.compile(r"\b(own|lic|wrk|req|grt|run|col)_[a-z2-7]{16}\b"), r"\1_ID"),
    (re.compile(r"\+[0-9a-f]{8}\+[A-Za-z0-9+/]{40,}={0,2}"), "+KEYHASH+KEY"),
    (re.compile(r"\b[0-9a-f]{16}\b"), "KEYID"),
    (re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), "TIME"),
    (re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\b"), "TIME"),
    (re.compile(r"\b\d+(\.\d+)? ?(items/s|MB/s|ms)\b"), "RATE"),
    (re.compile(r"\b\d+\.\d+ ?s\b"), "SECONDS"),
    (re.compile(r"^(sketch of [\d,]+ works) \([\d,]+ bytes\)", re.MULTILINE), r"\1 (SIZE)"),
]


@dataclass(frozen=True, slots=True)
class Step:
    """One pasted command (possibly over several lines) and what the README says it
    prints."""

    command: str
    expected: str


def tour_steps(readme: str, heading: str = TOUR) -> list[Step]:
    """The commands of the tour under ``heading`` in order, with their expected output;
    raises ``ValueError`` for a block that does not start with a command or leaves a
    heredoc open."""
    start = readme.index(heading)
    end = readme.find("\n## ", start + len(heading))
    section = readme[start : None if end < 0 else end]
    steps: list[Step] = []
    for block in _BLOCK.findall(section):
        steps.extend(_block_steps(block.splitlines()))
    return steps


def _block_steps(lines: list[str]) -> list[Step]:
    steps: list[Step] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            raise ValueError(f"a tour block has output before any command: {lines[i]!r}")
        command = [lines[i][2:]]
        i += 1
        while command[-1].endswith("\\") and i < len(lines):
            command.append(lines[i])
            i += 1
        for _quote, delimiter in _HEREDOC.findall("\n".join(command)):
            while i < len(lines) and lines[i] != delimiter:
                command.append(lines[i])
                i += 1
            if i == len(lines):
                raise ValueError(f"heredoc {delimiter} is never closed in: {command[0]!r}")
            command.append(lines[i])
            i += 1
        output = []
        while i < len(lines) and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        steps.append(Step("\n".join(command), "\n".join(output).rstrip("\n")))
    return steps


# A tour of several shells ("# shell 2: the creator") runs in one bash process, so each
# shell's consentry variables are kept apart: leaving a shell keeps its exports, and
# coming back to it restores them, as separate terminals would.
_SHELL_COMMENT = re.compile(r"# shell (\d+)\b")
_SHELLS = """_tour_shell() {
  export -p | grep ' CONSENTRY_' > "$HOME/.tour-shell-${_TOUR_SHELL:-0}.env" || true
  for name in $(compgen -e | grep '^CONSENTRY_'); do unset "$name"; done
  _TOUR_SHELL=$1
  if [ -f "$HOME/.tour-shell-$1.env" ]; then . "$HOME/.tour-shell-$1.env"; fi
}"""


def run_tour(
    steps: list[Step], folder: Path, *, replace: dict[str, str] | None = None
) -> list[str]:
    """Runs the steps in one bash process in ``folder/home/tour``, with ``folder/home``
    as the home folder, and returns what each printed (stdout and stderr together).
    ``replace``: text swapped in the commands (a free port for the README's), and
    swapped back in what they print. Jobs the tour leaves in the background are
    stopped when it ends."""
    home = folder / "home"
    tour = home / "tour"
    tour.mkdir(parents=True)
    script = folder / "tour.sh"
    swaps = dict(replace or {})
    # A pasted `!` would be history expansion in an interactive shell: keep it so here.
    lines = [
        "set -o history -o histexpand",
        "trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT",
        _SHELLS,
    ]
    for n, step in enumerate(steps):
        command = step.command
        for written, used in swaps.items():
            command = command.replace(written, used)
        lines += [f"printf '\\n{_MARKER.format(n)}\\n'", command]
        if shell := _SHELL_COMMENT.match(command):
            lines.append(f"_tour_shell {shell[1]}")
    script.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", str(script)],
        cwd=tour,
        env=_fresh_environment(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    parts = _SPLIT.split(done.stdout)
    assert parts[0].strip() == "", f"the shell printed before the first command: {parts[0]!r}"
    outputs = dict(zip(map(int, parts[1::2]), parts[2::2], strict=True))
    assert sorted(outputs) == list(range(len(steps))), (
        f"the tour stopped after step {max(outputs, default=-1)} of {len(steps)}: "
        f"{done.stdout[-2000:]}"
    )
    printed = [outputs[n].replace(str(home), "~").rstrip("\n") for n in range(len(steps))]
    for written, used in swaps.items():
        printed = [text.replace(used, written) for text in printed]
    return printed


def _fresh_environment(home: Path) -> dict[str, str]:
    # A fresh machine: no registry or key folder named, no config folder of the
    # developer's, no PostgreSQL (the tour is on SQLite), a UTF-8 terminal of fixed
    # width and no colour, and the `consentry` installed beside this Python first.
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CONSENTRY_", "XDG_", "LC_", "PYTHON")) and name != "LANG"
    }
    venv_bin = Path(sys.executable).parent
    assert shutil.which("consentry", path=venv_bin), "consentry is not installed beside Python"
    return {
        **kept,
        "HOME": str(home),
        "PATH": f"{venv_bin}{os.pathsep}{kept.get('PATH', '/usr/bin:/bin')}",
        "LC_ALL": "C.UTF-8",
        "COLUMNS": "100",
        "NO_COLOR": "1",
        "TERM": "dumb",
    }


def normalised(command: str, output: str) -> str:
    """``output`` with what legitimately differs between runs replaced by placeholders."""
    for pattern, placeholder in _VARYING:
        output = pattern.sub(placeholder, output)
    return output


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    steps = tour_steps(README.read_text(encoding="utf-8"))
    assert len(steps) > 20, "the tour's console blocks were not found"
    outputs = run_tour(steps, tmp_path)
    for step, output in zip(steps, outputs, strict=True):
        expected = normalised(step.command, step.expected)
        assert normalised(step.command, output) == expected, (
            f"$ {step.command}\nprinted:\n{output}\nbut the README shows:\n{step.expected}"
        )


THREE_SHELLS = "## Three parties, three shells"


def test_the_three_shells_tour_runs_as_written(tmp_path: Path) -> None:
    import socket

    steps = tour_steps(README.read_text(encoding="utf-8"), THREE_SHELLS)
    assert len(steps) > 20, "the three shells' console blocks were not found"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    # The README serves on 8765; the test on a free port of its own.
    outputs = run_tour(steps, tmp_path, replace={"8765": port})
    for step, output in zip(steps, outputs, strict=True):
        expected = normalised(step.command, step.expected)
        assert normalised(step.command, output) == expected, (
            f"$ {step.command}\nprinted:\n{output}\nbut the README shows:\n{step.expected}"
        )
