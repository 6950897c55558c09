"""The application ``consentry serve`` runs in each worker: the JSON API with the pages,
from the environment ``consentry.api.asgi.options_to_env`` set."""

from __future__ import annotations

from fastapi import FastAPI

from consentry.api.asgi import options_from_env
from consentry.settings import Settings
from consentry.web.site import create_site

__all__ = ["from_env"]


def from_env() -> FastAPI:
    return create_site(Settings.from_env(), options_from_env())
