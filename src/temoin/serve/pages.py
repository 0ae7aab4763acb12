"""Rendering pages: one Jinja2 environment, and what every page needs (account, CSRF token,
language)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from temoin import i18n
from temoin.serve.csrf import session_token
from temoin.serve.labels import label_filter, localise_filter
from temoin.serve.words import script_words

LANGUAGE_COOKIE = "lang"

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
i18n.install(templates.env)


def language(request: Request) -> str:
    """The language chosen with the switch (a cookie), else the browser's, else English."""
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    if chosen in i18n.LANGUAGES:
        return chosen
    return i18n.best(request.headers.get("accept-language", ""))


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("account", getattr(request.state, "account", None))
    context.setdefault("csrf", session_token(request))
    context["lang"] = lang = language(request)
    # Titles are the pages' headings (in the catalogue) or names, which gettext leaves alone.
    context["title"] = i18n.translate(lang, context["title"]) if context.get("title") else ""
    context["languages"] = i18n.NAMES
    context["words"] = script_words(lang)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    context.setdefault("here", here)
    return templates.TemplateResponse(request, template, context, status_code=status)


def say(request: Request, message: str, **variables: Any) -> str:
    """A message from Python code, in the language of the page it will be shown on."""
    return i18n.translate(language(request), message, **variables)


def said(request: Request, text: str) -> str:
    """English text made elsewhere (a refusal, a reason) in the language of the page."""
    return i18n.localise(language(request), text)


def go(url: str) -> RedirectResponse:
    """After a form post: the browser loads `url` with GET (so reloading does not post again)."""
    return RedirectResponse(url, status_code=303)


@pass_context
def local_time(context: Context, iso: str | None) -> str:
    lang = context.get("lang", i18n.DEFAULT)
    if not iso:
        return i18n.translate(lang, "undated")
    try:
        moment = datetime.fromisoformat(iso[:16])
    except ValueError:
        return iso[:16].replace("T", " ")
    return i18n.short_time(moment, lang)


@pass_context
def long_day(context: Context, key: str) -> str:
    """A timeline day ("2016-10-24", or "undated") spelled out: "lundi 24 octobre 2016"."""
    lang = context.get("lang", i18n.DEFAULT)
    try:
        return i18n.long_day(datetime.fromisoformat(key), lang)
    except ValueError:
        return i18n.translate(lang, "undated")


templates.env.filters["local"] = local_time
templates.env.filters["long_day"] = long_day
templates.env.filters["label"] = label_filter
templates.env.filters["localise"] = localise_filter
