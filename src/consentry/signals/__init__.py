"""Machine-readable consent signals, read into terms categories and written from them.

Pure: parsers and writers over text and bytes; nothing here touches the network, the
disk or the registry (DESIGN.md §4).
"""

from consentry.signals.model import (
    RESTRICTIVENESS,
    Problem,
    Rendering,
    Reservation,
    Signal,
    Source,
    Statement,
    most_restrictive,
    statements_for,
)

__all__ = [
    "RESTRICTIVENESS",
    "Problem",
    "Rendering",
    "Reservation",
    "Signal",
    "Source",
    "Statement",
    "most_restrictive",
    "statements_for",
]
