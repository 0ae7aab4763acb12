"""The consent register, for editors: who agreed to what, and changing it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from temoin.serve.auth import Editor
from temoin.serve.csrf import CheckedForm
from temoin.serve.pages import go, page

router = APIRouter(prefix="/people")


@router.get("")
def register(request: Request, account: Editor) -> Response:
    return page(request, "people.html", title="People", people=request.app.state.archive.people())


@router.post("")
def record(
    request: Request,
    form: CheckedForm,
    account: Editor,
) -> Response:
    """As a job: a change renders again every photo where that person's face was linked."""
    args = {
        "name": str(form.get("name", "")).strip(),
        "consent": str(form.get("consent", "")),
        "scope": [str(s) for s in form.getlist("scope")],
        "how": str(form.get("how", "")).strip(),
        "description": str(form.get("description", "")).strip() or None,
    }
    job = request.app.state.jobs.submit("consent", args, actor=account.name, account=account.id)
    return go(f"/jobs/{job}?next=/people")
