"""The publication check: does an output (text, code, image) reproduce a registered
work, and may it be published under its owner's terms and the user's grants? Against
the registry, or offline from a signed sketch that holds no registered content."""

from consentry.check.checker import Checker, Lookup, NoticeSource
from consentry.check.model import CheckReport, Finding, Verdict, WorkNotice
from consentry.check.notices import RegistryNotices, notices_for
from consentry.check.sketch import Sketch
from consentry.check.verdict import verdict_for

__all__ = [
    "CheckReport",
    "Checker",
    "Finding",
    "Lookup",
    "NoticeSource",
    "RegistryNotices",
    "Sketch",
    "Verdict",
    "WorkNotice",
    "notices_for",
    "verdict_for",
]
