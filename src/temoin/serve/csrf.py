"""CSRF protection: a synchronizer token per signed-in session, checked on every state change.

Forms carry it in a hidden ``csrf`` field; the resumable-upload script sends it in the
``X-CSRF-Token`` header. Before sign-in, the login form is tied to a short-lived random cookie
instead (double submit), so a third-party page cannot sign a browser into someone else's account.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData

from temoin.i18n import marked

FIELD = "csrf"
HEADER = "x-csrf-token"
LOGIN_COOKIE = "temoin_login"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def session_token(request: Request) -> str | None:
    session = getattr(request.state, "session", None)
    return session.csrf if session is not None else None


async def checked_form(request: Request) -> FormData:
    """The posted form, once its token matches the session's; 403 otherwise.

    Multipart bodies are refused here: files are parsed only by the upload route, which streams
    them into the archive's upload folder instead of a temporary folder elsewhere on the disk.
    """
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/"):
        raise HTTPException(415, marked("forms are posted url-encoded"))
    form = await request.form(max_files=0)  # its size is capped before (see `BodyLimit`)
    sent = form.get(FIELD)
    if not same(sent if isinstance(sent, str) else None, session_token(request)):
        raise HTTPException(
            403, marked("the form's security token is missing or stale: reload the page")
        )
    return form


def check_header(request: Request) -> None:
    """For script requests (tus): the token rides in a header a cross-site form cannot set."""
    if not same(request.headers.get(HEADER), session_token(request)):
        raise HTTPException(403, marked("missing or stale X-CSRF-Token"))


CheckedForm = Annotated[FormData, Depends(checked_form)]
