"""``/log/``: the transparency log in the C2SP tlog-tiles layout, as a static host would
serve the folder ``consentry log publish`` writes: ``checkpoint``, ``tile/<L>/<N>``,
``tile/<L>/<N>.p/<W>``, ``tile/entries/<N>[.p/<W>]``. Read unsigned.

A full tile never changes (the log only grows), so it is cached for a year, immutable;
a partial tile is superseded by a wider one and the checkpoint by the next, so both are
cached for moments only."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from consentry import app
from consentry.api.deps import Served, Signed
from consentry.errors import NotFoundError
from consentry.log.tiles import TILE_WIDTH, TileRef, entries_path, tile_path

__all__ = ["router"]

router = APIRouter(tags=["log"])

IMMUTABLE = "public, max-age=31536000, immutable"
PARTIAL = "public, max-age=60"
CHECKPOINT = "public, max-age=1"
_TILE = "application/octet-stream"


def _parse(path: str) -> tuple[bool, TileRef]:
    """(whether it is an entry bundle, the tile) that ``tile/<path>`` names, in the one
    spelling ``tile_path``/``entries_path`` write; ``NotFoundError`` for anything else."""
    missing = NotFoundError(f"/log/tile/{path} is not a tile path of C2SP tlog-tiles")
    head, _, rest = path.partition("/")
    index_part, partial, width_part = rest.partition(".p/")
    digits = "".join(group.removeprefix("x") for group in index_part.split("/"))
    numbers = [digits, width_part] if partial else [digits]
    if not all(n.isascii() and n.isdigit() and len(n) < 40 for n in numbers):
        raise missing
    if head != "entries" and not (head.isascii() and head.isdigit() and len(head) < 3):
        raise missing
    entries = head == "entries"
    ref = TileRef(0 if entries else int(head), int(digits), int(width_part or TILE_WIDTH))
    spelled = (
        entries_path(ref.index, ref.width)
        if entries
        else tile_path(ref.level, ref.index, ref.width)
    )
    if spelled != f"tile/{path}" or not 1 <= ref.width <= TILE_WIDTH:
        raise missing
    return entries, ref


def _reading(service: Served) -> app.PublishedLogWorkspace:
    return app.PublishedLogWorkspace(service.settings, service.registry, None)


@router.get(
    "/log/checkpoint",
    summary="The newest signed checkpoint (a signed note)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def checkpoint(service: Served, caller: Signed) -> Response:
    note = app.published_checkpoint(_reading(service)).note
    return Response(
        note.encode("utf-8"),
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": CHECKPOINT},
    )


@router.get(
    "/log/tile/{path:path}",
    summary="A tile of tree hashes or an entry bundle (C2SP tlog-tiles)",
    response_class=Response,
    responses={200: {"content": {_TILE: {}}}},
)
def tile(service: Served, caller: Signed, path: str) -> Response:
    entries, ref = _parse(path)
    ws = _reading(service)
    data = app.entry_bundle(ws, ref.index, ref.width) if entries else app.log_tile(ws, ref)
    cache = IMMUTABLE if ref.width == TILE_WIDTH else PARTIAL
    return Response(data, media_type=_TILE, headers={"Cache-Control": cache})
