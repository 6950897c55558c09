"""Sketches from the registry: a whole one, or an update with only what changed since
a sketch's checkpoint (works registered since, and the notices of works whose terms
changed), appended to the sketch file as one more signed section."""

from __future__ import annotations

from dataclasses import dataclass

from consentry.check.notices import notices_for
from consentry.check.offline import notice_records
from consentry.crypto import Signer
from consentry.ids import IdKind, kind_of
from consentry.index import Sketch
from consentry.log.note import Checkpoint, signature_lines
from consentry.registry import EventKind, Registry

__all__ = ["SketchUpdate", "export_sketch", "export_update"]


def export_sketch(
    registry: Registry, key: Signer, origin: str, *, image_keypoints: bool = False
) -> tuple[Sketch, bytes]:
    """A sketch of every registered work at the log's latest checkpoint, signed;
    ``image_keypoints`` as ``Sketch.build`` takes it (off: a public sketch carries no
    descriptors an image could be rebuilt from)."""
    signed = registry.log.checkpoint(key, origin)
    made = Sketch.build(
        list(registry.works.index_records()),
        notice_records(notices_for(registry)),
        checkpoint=signed.note,
        image_keypoints=image_keypoints,
    )
    return made, made.to_bytes(key, origin)


@dataclass(frozen=True, slots=True)
class SketchUpdate:
    """What an update adds: new works, changed notices, the checkpoint it brings."""

    new_works: int
    changed_notices: int
    size: int
    data: bytes


def export_update(registry: Registry, base: Sketch, key: Signer, origin: str) -> SketchUpdate:
    """The update file for ``base`` (a verified sketch of this registry): one signed
    section, chained after ``base``'s last."""
    since = Checkpoint.parse(signature_lines(base.checkpoint)[0]).size
    signed = registry.log.checkpoint(key, origin)
    events = registry.log.events_since(since, [EventKind.WORK_REGISTERED, EventKind.TERMS_SET])
    new = [subject for kind, _, subject in events if kind == EventKind.WORK_REGISTERED]
    changed: set[str] = set()
    for kind, actor, subject in events:
        if kind != EventKind.TERMS_SET:
            continue
        if kind_of(subject) is IdKind.WORK:
            changed.add(subject)
        else:
            # Owner defaults and collection terms reach the owner's works; resending a
            # notice that did not change is harmless.
            changed.update(w.id for w in registry.works.all(owner_id=actor))
    changed -= set(new)
    notices = notices_for(registry, [*new, *sorted(changed)])
    update = Sketch.build(
        list(registry.works.index_records(only=new)),
        notice_records(notices),
        checkpoint=signed.note,
        # An update carries what its sketch carries.
        image_keypoints=base.image_keypoints,
    )
    data = update.to_update_bytes(key, origin, after=base)
    return SketchUpdate(len(new), len(changed), signed.checkpoint.size, data)
