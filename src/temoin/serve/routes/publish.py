"""Stories and the publish button (editors): the site is written by the publish stage, as a job,
into the archive's ``site/`` folder; only what the gate lets out reaches it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from temoin.i18n import marked
from temoin.serve.auth import Editor
from temoin.serve.csrf import CheckedForm
from temoin.serve.jobs import recent_jobs
from temoin.serve.pages import go, page
from temoin.serve.users import acting_as

router = APIRouter(prefix="/publish")
_NOWHERE = (
    "This archive is encrypted: the web app writes a site in clear only where you point it "
    "(start temoin serve with --site FOLDER)."
)


@router.get("")
def publish_page(request: Request, account: Editor) -> Response:
    archive = request.app.state.archive
    return page(
        request,
        "publish.html",
        title="Publish",
        stories=archive.stories(),
        publishable=len(archive.publishable()),
        site_folder=request.app.state.settings.site_folder,
        site_inside=not Path(request.app.state.settings.site_folder).is_absolute(),
        jobs=[
            j
            for j in recent_jobs(archive, None, 30, request.app.state.jobs)
            if j["name"] in ("publish", "redact")
        ][:5],
    )


@router.post("/stories")
def new_story(request: Request, form: CheckedForm, account: Editor) -> Response:
    acting = acting_as(request.app.state.archive, account)
    request.app.state.writes.run(
        acting.new_story,
        str(form.get("title", "")).strip(),
        str(form.get("start", "")),
        str(form.get("end", "")),
    )
    return go("/publish")


@router.post("/site")
def publish_site(request: Request, form: CheckedForm, account: Editor) -> Response:
    out = request.app.state.settings.site_folder
    if not out:
        raise HTTPException(409, marked(_NOWHERE))
    job = request.app.state.jobs.submit(
        "publish", {"out": out}, actor=account.name, account=account.id
    )
    return go(f"/jobs/{job}?next=/publish")


@router.post("/redact")
def redact(request: Request, form: CheckedForm, account: Editor) -> Response:
    job = request.app.state.jobs.submit("redact", {}, actor=account.name, account=account.id)
    return go(f"/jobs/{job}?next=/review")
