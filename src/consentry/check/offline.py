"""Notices from an offline sketch (the check with no database and no network).

The sketch file carries each work's notice as a JSON object it does not read (see
``consentry.index.Sketch``); this is where the check writes them (``notice_records``)
and reads them back as ``WorkNotice``s (``SketchNotices``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from consentry.check.model import WorkNotice
from consentry.errors import InputError
from consentry.index import Sketch
from consentry.terms import Terms

__all__ = ["SketchNotices", "notice_records"]


def notice_records(notices: Iterable[WorkNotice]) -> list[dict[str, Any]]:
    """The notices as a sketch carries them (``Sketch.build`` takes these)."""
    return [notice.to_json() for notice in notices]


class SketchNotices:
    """The notices a verified sketch carries, for a ``Checker`` offline. It knows
    terms, not anyone's grants: ``grants`` is always empty.

    Every notice is read when this is made, so a sketch whose terms do not validate
    is refused (``InputError``) before any output is checked against it.
    """

    def __init__(self, sketch: Sketch) -> None:
        # Most works share their owner's terms: each distinct terms document is
        # validated once, not once per work (10,000 validations are seconds).
        parsed: dict[str, Terms] = {}
        self._notices: dict[str, WorkNotice] = {}
        for raw in sketch.work_notices:
            try:
                work_id, terms = raw["work_id"], raw["terms"]
                key = json.dumps(terms, sort_keys=True)
                if key not in parsed:
                    parsed[key] = Terms.from_json(terms, source=f"terms of {work_id}")
                notice = WorkNotice(work_id, raw["owner_id"], str(raw["owner_name"]), parsed[key])
            except KeyError as exc:
                raise InputError(
                    f"the sketch's notice of {raw.get('work_id')} has no {exc.args[0]}"
                ) from exc
            self._notices[work_id] = notice

    def notices(self, work_ids: Sequence[str]) -> dict[str, WorkNotice]:
        return {w: self._notices[w] for w in work_ids if w in self._notices}

    def grants(self, work_ids: Sequence[str]) -> dict[str, str]:
        return {}  # offline: nothing here says who holds a grant
