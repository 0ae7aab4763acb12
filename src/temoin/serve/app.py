"""`create_app(archive, settings)`: the web app over one Archive, as the CLI holds it.

Pages are rendered on the server and work without JavaScript; two small scripts add resumable
uploads (tus) and drawing boxes on a picture. Stage work runs through the Archive façade, in the
request when it takes milliseconds (a decision, a dispatch entry) and as a job when it takes
longer (ingest, redaction, re-rendering, publishing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from temoin.errors import NotFound, TemoinError, UsageError
from temoin.serve import tus
from temoin.serve.auth import AuthMiddleware, LoginLimiter
from temoin.serve.config import ServeSettings
from temoin.serve.devices import Devices
from temoin.serve.ingests import resume_uploads
from temoin.serve.jobs import JobRunner, make_runner
from temoin.serve.limits import BodyLimit
from temoin.serve.pages import page, said
from temoin.serve.routes import ROUTERS
from temoin.serve.uploads import UploadStore
from temoin.serve.writes import Writes

if TYPE_CHECKING:
    from temoin.archive import Archive


def create_app(
    archive: Archive,
    settings: ServeSettings | None = None,
    runner: JobRunner | None = None,
) -> FastAPI:
    settings = settings or ServeSettings()
    writes = Writes(settings.write_wait_seconds)
    pool = runner or make_runner(archive, writes, settings.workers, settings.site_folder)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        resume = getattr(pool, "resume", None)
        if resume is not None:  # the pool runs them again; the queue queues them again
            resume()
        resume_uploads(app.state)  # finished uploads a stopped server or a failed job left behind
        yield
        pool.close()
        app.state.hashing.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="temoin", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.archive = archive
    app.state.settings = settings
    app.state.writes = writes
    app.state.hashing = ThreadPoolExecutor(settings.hashing_threads, thread_name_prefix="argon2")
    app.state.jobs = pool
    app.state.uploads = UploadStore(
        archive.root,
        min(settings.max_upload_bytes, archive.settings.max_file_bytes),
        settings.max_open_uploads,
        archive.ctx.sealer,
    )
    app.state.tus_locks = {}
    app.state.limiter = LoginLimiter(
        settings.login_attempts_per_account,
        settings.login_attempts_per_ip,
        settings.login_window_seconds,
        settings.login_tracked_keys,
        per_account_anywhere=settings.login_attempts_per_account_anywhere,
        first_delay=settings.login_first_delay_seconds,
        max_delay=settings.login_longest_delay_seconds,
    )
    app.state.devices = Devices(archive, settings.known_device_days)
    app.add_middleware(BodyLimit, max_bytes=settings.max_form_bytes)
    app.add_middleware(AuthMiddleware, archive=archive)  # added last: runs first
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    app.include_router(tus.router)
    for router in ROUTERS:
        app.include_router(router)
    _errors(app)
    return app


def _errors(app: FastAPI) -> None:
    """Failures as short pages (or plain text for scripts), never a traceback."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(TemoinError)
    async def temoin_error(request: Request, exc: TemoinError) -> Response:
        status = 404 if isinstance(exc, NotFound) else 400 if isinstance(exc, UsageError) else 409
        status = getattr(exc, "status", status)  # an upload's own refusal: 400 or 413
        return _error(request, status, exc.message)


def _error(request: Request, status: int, message: str) -> Response:
    """Said in the language of whoever asked: a script in a page shows the plain text too."""
    message = said(request, message)
    if "text/html" in request.headers.get("accept", ""):
        return page(request, "error.html", status=status, message=message, title="Sorry")
    return PlainTextResponse(message + "\n", status_code=status)
