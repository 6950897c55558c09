"""The pages mounted beside the JSON API: the static files they load, their routes, and
a page (not a JSON problem) for what goes wrong on one."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from consentry.api import ServiceOptions, create_app
from consentry.api.limits import RateLimiter
from consentry.api.problems import Problem
from consentry.api.service import DEFAULT_MAX_BODY, Service
from consentry.settings import Settings
from consentry.web.heavy import HeavyWork, keep_uploads_in_memory
from consentry.web.routes import PAGE_ROUTERS
from consentry.web.sessions import FormRefusedError, SignInNeeded
from consentry.web.templating import render

__all__ = ["STATIC", "create_site", "mount_pages"]

STATIC = Path(__file__).parent / "static"
# Where the JSON API and the files it serves live: a problem there stays a problem.
_NOT_PAGES = ("/v1/", "/rsl/", "/log/", "/healthz", "/problems/", "/openapi.json", "/static/")


def create_site(
    settings: Settings, options: ServiceOptions | None = None, *, service: Service | None = None
) -> FastAPI:
    """The registry served with its pages."""
    return create_app(settings, options, service=service, pages=mount_pages)


def mount_pages(api: FastAPI) -> None:
    api.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in PAGE_ROUTERS:
        api.include_router(router)
    api.state.problem_page = problem_page
    # Guessing passwords from one address: a few tries a minute, after a burst of ten.
    api.state.sign_in_limiter = RateLimiter(0.1, 10, "address")
    # Images decode into a gigabyte or more: two at a time per worker.
    api.state.heavy = HeavyWork(2)
    # Anyone may check a text or an image: a few a second from one address.
    api.state.check_limiter = RateLimiter(0.5, 20, "address")
    keep_uploads_in_memory(DEFAULT_MAX_BODY)
    api.add_exception_handler(SignInNeeded, _to_sign_in)
    api.add_exception_handler(FormRefusedError, _form_refused)


async def _form_refused(request: Request, error: Exception) -> Response:
    return render(
        request, "problem.html", {"title": "Form refused", "detail": str(error)}, status_code=403
    )


async def _to_sign_in(request: Request, error: Exception) -> Response:
    to = error.to if isinstance(error, SignInNeeded) else "/sign-in"
    return RedirectResponse(to, status_code=303)


def problem_page(request: Request, problem: Problem) -> Response | None:
    """What a person sees when a page fails: the problem in a sentence, on a page. A
    page that is not the viewer's is answered as if it did not exist. A script's
    request (it does not ask for HTML) gets the RFC 9457 problem."""
    if request.url.path.startswith(_NOT_PAGES) or "text/html" not in request.headers.get(
        "accept", ""
    ):
        return None  # the API, or a page's script: it reads the problem's JSON
    status = 404 if problem.status == 403 else problem.status
    title = "Not found" if status == 404 else problem.kind.title
    detail = (
        "There is no such page, or it is not yours to see." if status == 404 else problem.detail
    )
    return render(request, "problem.html", {"title": title, "detail": detail}, status_code=status)
