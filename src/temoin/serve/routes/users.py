"""Accounts, for admins: add one, change a role, disable or enable."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from temoin.serve import users
from temoin.serve.auth import Admin
from temoin.serve.csrf import CheckedForm
from temoin.serve.pages import go, page

router = APIRouter(prefix="/users")


@router.get("")
def user_list(request: Request, account: Admin) -> Response:
    archive = request.app.state.archive
    return page(
        request, "users.html", title="Accounts", users=users.list_users(archive), roles=users.ROLES
    )


@router.post("")
def add(request: Request, form: CheckedForm, account: Admin) -> Response:
    request.app.state.writes.run(
        users.add_user,
        request.app.state.archive,
        str(form.get("name", "")),
        str(form.get("role", "")),
        str(form.get("password", "")),
        by=account.name,
    )
    return go("/users")


@router.post("/change")
def change(request: Request, form: CheckedForm, account: Admin) -> Response:
    action = str(form.get("action", ""))
    name = str(form.get("name", ""))
    archive = request.app.state.archive
    if action in ("disable", "enable"):
        request.app.state.writes.run(
            users.change_user, archive, name, by=account.name, disabled=action == "disable"
        )
    elif action == "password":
        password = str(form.get("password", ""))
        request.app.state.writes.run(
            users.change_user, archive, name, by=account.name, password=password
        )
    else:
        role = str(form.get("role", ""))
        request.app.state.writes.run(users.change_user, archive, name, by=account.name, role=role)
    return go("/users")
