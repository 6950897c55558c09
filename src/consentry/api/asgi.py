"""The application uvicorn's workers import: each builds its own from the environment
``consentry serve`` set (``CONSENTRY_SERVE_*``), over the registry the environment names."""

from __future__ import annotations

import os

from fastapi import FastAPI

from consentry.api.app import create_app
from consentry.api.service import ServiceOptions
from consentry.settings import Settings

__all__ = ["from_env", "options_from_env", "options_to_env"]

_PREFIX = "CONSENTRY_SERVE_"


def options_to_env(options: ServiceOptions) -> dict[str, str]:
    """The environment that carries ``options`` to every worker."""
    return {
        f"{_PREFIX}INVITE_ONLY": "1" if options.invite_only else "0",
        f"{_PREFIX}MAX_BODY": str(options.max_body),
        f"{_PREFIX}RATE_PER_KEY": str(options.rate_per_key),
        f"{_PREFIX}RATE_PER_ADDRESS": str(options.rate_per_address),
        f"{_PREFIX}CHECKPOINT_EVERY": str(options.checkpoint_every),
        f"{_PREFIX}WITNESSES": "\n".join(options.witnesses),
        f"{_PREFIX}QUORUM": "" if options.quorum is None else str(options.quorum),
    }


def options_from_env() -> ServiceOptions:
    """The options ``options_to_env`` carried to this worker."""
    env = os.environ
    defaults = ServiceOptions()
    return ServiceOptions(
        invite_only=env.get(f"{_PREFIX}INVITE_ONLY") == "1",
        max_body=int(env.get(f"{_PREFIX}MAX_BODY", defaults.max_body)),
        rate_per_key=float(env.get(f"{_PREFIX}RATE_PER_KEY", defaults.rate_per_key)),
        rate_per_address=float(env.get(f"{_PREFIX}RATE_PER_ADDRESS", defaults.rate_per_address)),
        checkpoint_every=float(env.get(f"{_PREFIX}CHECKPOINT_EVERY", defaults.checkpoint_every)),
        witnesses=tuple(w for w in env.get(f"{_PREFIX}WITNESSES", "").split("\n") if w),
        quorum=int(quorum) if (quorum := env.get(f"{_PREFIX}QUORUM")) else None,
    )


def from_env() -> FastAPI:
    """The JSON API alone (``consentry.web.asgi`` serves it with the pages)."""
    return create_app(Settings.from_env(), options_from_env())
