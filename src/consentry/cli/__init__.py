"""Command line: ``consentry``. Errors become one sentence on stderr (``--debug``: traceback)."""

from __future__ import annotations

import sys

from consentry.errors import ConsentryError

__all__ = ["main", "run"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 a negative answer, 2 an error)."""
    # Imported here so `import consentry.cli` stays cheap and the demo, which runs the
    # CLI itself, can import this module without a cycle.
    from consentry.cli._common import err, state
    from consentry.cli.app import app

    state.debug = False
    try:
        # Standalone mode: usage errors, --help and typer.Exit end in SystemExit.
        app(args=argv, prog_name="consentry", standalone_mode=True)
    except SystemExit as exc:
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else 2
    except ConsentryError as exc:
        if state.debug:
            raise
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        return 2
    return 0


def run() -> None:
    sys.exit(main())
