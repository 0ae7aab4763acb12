"""The published site, served to signed-in accounts at ``/site/``: what went public, as the public
sees it. Everything in it passed the gate; it is read from the site folder the publish button
writes, and nothing else of the archive is reachable through it."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from temoin.i18n import marked
from temoin.serve.auth import Witness

router = APIRouter()


@router.get("/site/{path:path}")
def site_file(path: str, request: Request, account: Witness) -> Response:
    archive = request.app.state.archive
    if not request.app.state.settings.site_folder:
        raise HTTPException(404, marked("not on the published site (publish it first?)"))
    root = (archive.root / request.app.state.settings.site_folder).resolve()
    try:
        target = (root / path).resolve()
    except (ValueError, OSError) as exc:  # a NUL byte, a name too long
        raise HTTPException(404, marked("not on the published site")) from exc
    if target.is_dir():
        target = target / "index.html"
    hidden = (
        any(part.startswith(".") for part in target.relative_to(root).parts)
        if (target.is_relative_to(root))
        else True
    )
    if hidden or not target.is_file():
        raise HTTPException(404, marked("not on the published site (publish it first?)"))
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return FileResponse(target, media_type=kind, headers={"Cache-Control": "private, no-cache"})
