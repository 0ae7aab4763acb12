"""Rendering pages: one Jinja2 environment, and what every page needs (account, CSRF token)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from temoin.serve.csrf import session_token

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("account", getattr(request.state, "account", None))
    context.setdefault("csrf", session_token(request))
    context.setdefault("title", "")
    return templates.TemplateResponse(request, template, context, status_code=status)


def go(url: str) -> RedirectResponse:
    """After a form post: the browser loads `url` with GET (so reloading does not post again)."""
    return RedirectResponse(url, status_code=303)


def local_time(iso: str | None) -> str:
    if not iso:
        return "undated"
    return iso[:16].replace("T", " ")


templates.env.filters["local"] = local_time
