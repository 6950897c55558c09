"""The publication check: does an output (text, code, image) reproduce a registered
work, and may it be published under its owner's terms and the user's grants? Against
the registry, or offline from a signed sketch that holds no registered content."""

from consentry.check.checker import Checker, NoticeSource
from consentry.check.model import CheckReport, Finding, Verdict, WorkNotice
from consentry.check.notices import RegistryNotices, notices_for
from consentry.check.offline import SketchNotices, notice_records
from consentry.check.verdict import verdict_for

__all__ = [
    "CheckReport",
    "Checker",
    "Finding",
    "NoticeSource",
    "RegistryNotices",
    "SketchNotices",
    "Verdict",
    "WorkNotice",
    "notice_records",
    "notices_for",
    "verdict_for",
]
