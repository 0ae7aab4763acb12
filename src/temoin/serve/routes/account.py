"""Signing in and out."""

from __future__ import annotations

import asyncio
import math

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from temoin.serve import users
from temoin.serve.auth import (
    COOKIE,
    Witness,
    client_ip,
    end_session,
    set_cookie,
    start_session,
)
from temoin.serve.csrf import LOGIN_COOKIE, CheckedForm, new_token, same
from temoin.serve.devices import COOKIE as DEVICE_COOKIE
from temoin.serve.numbers import whole_or_none
from temoin.serve.pages import go, page, say

router = APIRouter()
MAX_LOGIN_BYTES = 16 * 1024


def _next(value: object) -> str:
    """Only a path on this site: a sign-in link must not send a volunteer elsewhere."""
    text = value if isinstance(value, str) else ""
    # browsers drop tabs and newlines from URLs ("/\t/evil" becomes "//evil"), and read "\" as "/"
    if any(ch <= " " or ch == "\\" for ch in text):
        return "/"
    return text if text.startswith("/") and not text.startswith("//") else "/"


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or new_token()
    response = page(request, "login.html", title="Sign in", login_token=token, next=_next(next))
    set_cookie(response, request, LOGIN_COOKIE, token, 3600)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _small_plain_form(request, "a sign-in")
    if isinstance(form, Response):
        return form
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    target = _next(form.get("next"))
    if not same(str(form.get("csrf", "")), request.cookies.get(LOGIN_COOKIE)):
        return _again(
            request, say(request, "The sign-in form expired: please try again."), 403, name, target
        )
    limiter, ip = request.app.state.limiter, client_ip(request)
    devices = request.app.state.devices
    device = await to_thread.run_sync(devices.known, request.cookies.get(DEVICE_COOKIE), name)
    wait = math.ceil(limiter.attempt(name, ip, device))  # counted before the password is checked
    if wait > 0:
        message = _too_many(request, wait)
        refused = _again(request, message, 429, name, target)
        refused.headers["Retry-After"] = str(wait)
        return refused
    archive = request.app.state.archive
    # argon2 is slow on purpose; its own small pool keeps a burst of sign-ins from taking every
    # thread and core that page views need.
    hashing = request.app.state.hashing
    account = await asyncio.wrap_future(hashing.submit(users.authenticate, archive, name, password))
    if account is None:
        return _again(request, say(request, "Wrong name or password."), 401, name, target)
    limiter.succeeded(name, ip, device)
    hours = request.app.state.settings.session_hours
    token, _ = await to_thread.run_sync(start_session, archive, account, hours)
    known = await to_thread.run_sync(devices.issue, account.id, device)
    response = go(target)
    set_cookie(response, request, COOKIE, token, hours * 3600)
    set_cookie(response, request, DEVICE_COOKIE, known, devices.max_age)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


async def _small_plain_form(request: Request, what: str) -> FormData | Response:
    """Pages anyone may post to: anything but a small plain form is refused before a byte of it
    is parsed."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return Response(f"{what} is a plain form", status_code=415)
    if (
        whole_or_none(request.headers.get("content-length"), "Content-Length") or 0
    ) > MAX_LOGIN_BYTES:
        return Response(f"too large for {what}", status_code=413)
    return await request.form(max_files=0, max_fields=8)


def _too_many(request: Request, seconds: int) -> str:
    if seconds < 90:
        return say(request, "Too many attempts: try again in %(n)s s.", n=seconds)
    return say(request, "Too many attempts: try again in %(n)s minutes.", n=math.ceil(seconds / 60))


def _too_short(request: Request) -> str:
    return say(request, "A password needs at least %(n)s characters.", n=users.MIN_PASSWORD)


def _again(request: Request, message: str, status: int, name: str, target: str) -> Response:
    token = new_token()
    response = page(
        request,
        "login.html",
        status=status,
        title="Sign in",
        error=message,
        name=name,
        login_token=token,
        next=target,
    )
    set_cookie(response, request, LOGIN_COOKIE, token, 3600)
    return response


@router.post("/logout")
def logout(request: Request, form: CheckedForm, account: Witness) -> Response:
    end_session(request.app.state.archive, request.state.session.id)
    response = go("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


# -- passwords -----------------------------------------------------------------------------------


@router.get("/account")
def account_page(request: Request, account: Witness) -> Response:
    return page(request, "account.html", title="Your account")


@router.post("/account/password")
async def change_password(request: Request, form: CheckedForm, account: Witness) -> Response:
    """The current password is asked for (a phone left signed in is not enough), and its
    guesses count against the same limit as sign-ins. Every session ends, this one too."""
    current, new = str(form.get("current", "")), str(form.get("password", ""))
    if new != str(form.get("again", "")):
        return _account_again(request, say(request, "The two new passwords differ."), 400)
    if len(new) < users.MIN_PASSWORD:
        return _account_again(request, _too_short(request), 400)
    limiter, ip = request.app.state.limiter, client_ip(request)
    wait = math.ceil(limiter.attempt(account.name, ip))
    if wait > 0:
        refused = _account_again(request, _too_many(request, wait), 429)
        refused.headers["Retry-After"] = str(wait)
        return refused
    archive = request.app.state.archive
    changed = await asyncio.wrap_future(
        request.app.state.hashing.submit(
            lambda: request.app.state.writes.run(
                users.change_own_password, archive, account, current, new
            )
        )
    )
    if not changed:
        return _account_again(request, say(request, "The current password is wrong."), 401)
    limiter.succeeded(account.name, ip)
    response = go("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


def _account_again(request: Request, message: str, status: int) -> Response:
    return page(request, "account.html", status=status, title="Your account", error=message)


@router.get("/reset/{token}")
def reset_form(token: str, request: Request) -> Response:
    """Public: the link itself is the proof, until it is used or expires."""
    name = users.reset_account(request.app.state.archive, token)
    if name is None:
        return page(request, "reset.html", status=404, title="New password", gone=True)
    form_token = request.cookies.get(LOGIN_COOKIE) or new_token()
    response = page(request, "reset.html", title="New password", name=name, form_token=form_token)
    set_cookie(response, request, LOGIN_COOKIE, form_token, 3600)
    return response


@router.post("/reset/{token}")
async def reset_password(token: str, request: Request) -> Response:
    form = await _small_plain_form(request, "a new password")
    if isinstance(form, Response):
        return form
    if not same(str(form.get("csrf", "")), request.cookies.get(LOGIN_COOKIE)):
        return Response("the form's security token is missing or stale", status_code=403)
    archive = request.app.state.archive
    name = users.reset_account(archive, token)
    if name is None:
        return page(request, "reset.html", status=404, title="New password", gone=True)
    password = str(form.get("password", ""))
    error = None
    if password != str(form.get("again", "")):
        error = say(request, "The two passwords differ.")
    elif len(password) < users.MIN_PASSWORD:
        error = _too_short(request)
    if error:
        form_token = str(form.get("csrf"))
        return page(
            request, "reset.html", status=400, title="New password",
            name=name, form_token=form_token, error=error,
        )  # fmt: skip
    done = await asyncio.wrap_future(
        request.app.state.hashing.submit(
            lambda: request.app.state.writes.run(users.use_reset, archive, token, password)
        )
    )
    if done is None:
        return page(request, "reset.html", status=404, title="New password", gone=True)
    return go("/login")
