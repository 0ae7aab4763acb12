"""The language switch: remembered in a cookie, then back to the page it was used on."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from temoin import i18n
from temoin.serve.auth import set_cookie
from temoin.serve.pages import LANGUAGE_COOKIE, go

router = APIRouter()

YEAR = 365 * 24 * 3600


@router.get("/language/{lang}")
def choose(request: Request, lang: str, next: str = "/") -> Response:
    # Only a path on this site: "//host" or "/\host" would send the browser elsewhere.
    back = next if next.startswith("/") and not next.startswith(("//", "/\\")) else "/"
    response = go(back)
    if lang in i18n.LANGUAGES:
        set_cookie(response, request, LANGUAGE_COOKIE, lang, YEAR)
    return response
