"""One module per noun of DESIGN.md §5.6; each route parses, calls ``consentry.app``
and returns the record's ``to_json``. ``ROUTERS``: every one, in the order the OpenAPI
document lists them."""

from fastapi import APIRouter

from consentry.api.routes import check, gating, licences, log, parties, sketch, terms, works

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    parties.router,
    licences.router,
    log.router,
    gating.router,
    works.router,
    terms.router,
    check.router,
    sketch.router,
)
