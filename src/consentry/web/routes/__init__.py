"""The page routes, by who uses them."""

from fastapi import APIRouter

from consentry.web.routes import accounts, creator, lab, passkeys, public

__all__ = ["PAGE_ROUTERS"]

PAGE_ROUTERS: tuple[APIRouter, ...] = (
    accounts.router,
    passkeys.router,
    creator.router,
    lab.router,
    public.router,
)
