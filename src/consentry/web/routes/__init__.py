"""The page routes, by who uses them."""

from fastapi import APIRouter

from consentry.web.routes import accounts, creator, lab, public

__all__ = ["PAGE_ROUTERS"]

PAGE_ROUTERS: tuple[APIRouter, ...] = (
    accounts.router,
    creator.router,
    lab.router,
    public.router,
)
