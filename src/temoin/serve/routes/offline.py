"""What lets the upload page open with no network: a manifest, a service worker, an app shell.

The service worker (`static/sw.js`) is served from the root so that its scope covers every page,
and keeps only what any visitor may see: the static files and `/offline`, a page holding the send
forms with no account, no token and nothing sent. Pages behind sign-in (items, previews, the
home page with its list of what was sent) are never written to the phone's cache, so a phone
that is lost or shared gives away nothing it would not give signed out.

Entries written offline wait in the phone's queue (`static/queue.js`, sent by `static/outbox.js`
from a page or from the service worker) without a CSRF token: a token kept for hours could outlive
its session. The sender asks `/csrf.json` for the session's token when it sends, which a page on
another site cannot read (same-origin policy, no CORS).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from temoin.serve.auth import Witness
from temoin.serve.csrf import session_token
from temoin.serve.icons import ICONS
from temoin.serve.pages import language, page, say

router = APIRouter()
STATIC = Path(__file__).parent.parent / "static"
PUBLIC = ("/offline", "/sw.js", "/manifest.webmanifest")  # see `auth.PUBLIC_PATHS`


@router.get("/manifest.webmanifest")
def manifest(request: Request) -> Response:
    """Installable: Chromium asks for PNG icons of 192 and 512 pixels, one of them maskable."""
    return JSONResponse(
        {
            "name": "temoin",
            "short_name": "temoin",
            "lang": language(request),
            "description": say(
                request, "Send photos, videos and entries to the archive, even offline."
            ),
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#1d3557",
            "icons": [
                {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
                *(
                    {
                        "src": f"/static/{name}",
                        "sizes": f"{size}x{size}",
                        "type": "image/png",
                        "purpose": "maskable" if maskable else "any",
                    }
                    for name, (size, maskable) in ICONS.items()
                ),
            ],
        },
        media_type="application/manifest+json",
    )


@router.get("/sw.js")
def service_worker() -> Response:
    """Checked with the server on each visit (`no-cache`), so a fixed worker reaches phones."""
    return FileResponse(
        STATIC / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@router.get("/offline")
def shell(request: Request) -> Response:
    """The send forms for a phone with no network; rendered as if signed out, whoever asks."""
    max_bytes = request.app.state.uploads.max_bytes
    return page(request, "offline.html", title="Send", account=None, csrf=None, max_bytes=max_bytes)


@router.get("/csrf.json")
def csrf_token(request: Request, _: Witness) -> Response:
    return JSONResponse({"csrf": session_token(request)}, headers={"Cache-Control": "no-store"})
