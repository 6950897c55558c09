"""Command line: ``consentry``. Errors become one sentence on stderr (``--debug``: traceback)."""

from __future__ import annotations

import shlex
import sys

from consentry.errors import ConsentryError, WorkInterruptedError

_INTERRUPTED = 130  # as a shell reports a process ended by SIGINT

__all__ = ["main", "run"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 a negative answer, 2 an error,
    130 interrupted by Ctrl-C)."""
    # Imported here so `import consentry.cli` stays cheap and the demo, which runs the
    # CLI itself, can import this module without a cycle.
    from consentry.cli._common import err, state
    from consentry.cli.app import app
    from consentry.warmup import compile_notice

    state.debug = False
    state.registry_url = None
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # Standalone mode: usage errors, --help and typer.Exit end in SystemExit (and a
        # Ctrl-C outside long work in exit status 130).
        # Kernels compile once per install; if that happens now, the user is told.
        with compile_notice(err):
            app(args=args, prog_name="consentry", standalone_mode=True)
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if exc.code == _INTERRUPTED:
            err.print("interrupted", markup=False)
        return exc.code if isinstance(exc.code, int) else 2
    except WorkInterruptedError as exc:
        if state.debug:
            raise
        finish = ""
        if exc.resume:
            again = args if "--resume" in args else [*args, "--resume"]
            finish = f"; finish it with: consentry {shlex.join(again)}"
        err.print(f"{exc}{finish}", markup=False, soft_wrap=True)
        return _INTERRUPTED
    except ConsentryError as exc:
        if state.debug:
            raise
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        return 2
    return 0


def run() -> None:
    sys.exit(main())
