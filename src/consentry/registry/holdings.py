"""What an owner holds, counted by the database: how many works, and each collection
with how many works it holds. A creator's pages say "10,000 works" without reading
10,000 rows.

``Works`` offers these reads (``registry.works.count``, ``registry.works.collections``);
they live here to keep ``works.py`` about registering. Nothing of a work is shown, only
that its row exists, so no signature is checked; a collection is read as
``Works.find_collection`` reads it.
"""

from __future__ import annotations

from sqlalchemy import func, select

from consentry.registry._context import RegistryContext
from consentry.registry.records import Collection
from consentry.store.models import CollectionRow, WorkRow

__all__ = ["Holdings"]


class Holdings:
    """An owner's counts: the works service's reads that need no row but a count."""

    _context: RegistryContext

    def count(self, owner_id: str) -> int:
        """How many works ``owner_id`` has registered (``0`` for an unknown owner)."""
        with self._context.reading() as session:
            found = session.scalar(
                select(func.count()).select_from(WorkRow).where(WorkRow.owner_id == owner_id)
            )
        return int(found or 0)

    def collections(self, owner_id: str) -> list[tuple[Collection, int]]:
        """``owner_id``'s collections by name, each with how many works it holds."""
        with self._context.reading() as session:
            rows = session.execute(
                select(CollectionRow.id, CollectionRow.name, func.count(WorkRow.id))
                .outerjoin(WorkRow, WorkRow.collection_id == CollectionRow.id)
                .where(CollectionRow.owner_id == owner_id)
                .group_by(CollectionRow.id, CollectionRow.name)
                .order_by(CollectionRow.name)
            ).all()
        return [(Collection(str(c), owner_id, str(name)), int(n)) for c, name, n in rows]
