"""``python -m consentry``."""

from consentry.cli import run

run()
