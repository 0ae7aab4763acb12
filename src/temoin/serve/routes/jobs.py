"""Job pages: progress that refreshes itself (no script needed), and a JSON view for scripts.

A witness sees their own jobs (by their account's id); editors see everyone's. A failed job can be
tried again from its page by the same people: an ingest's files wait in the upload area until one
of its tries has stored them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from temoin.i18n import marked
from temoin.serve.auth import Witness
from temoin.serve.csrf import CheckedForm
from temoin.serve.ingests import ingest_outcome
from temoin.serve.jobs import FAILED, get_job, recent_jobs
from temoin.serve.pages import go, language, page
from temoin.serve.routes.account import _next
from temoin.serve.users import Account

router = APIRouter(prefix="/jobs")


def _visible(request: Request, account: Account, job_id: int) -> dict[str, Any]:
    job = get_job(request.app.state.archive, job_id, request.app.state.jobs)
    if job is None or not (account.can("editor") or job["account"] == account.id):
        raise HTTPException(404, marked("no such job"))
    return job


@router.get("")
def job_list(request: Request, account: Witness) -> Response:
    who = None if account.can("editor") else account.id
    jobs = recent_jobs(request.app.state.archive, who, 50, request.app.state.jobs)
    return page(request, "jobs.html", title="Jobs", jobs=jobs)


@router.get("/{job_id}.json")
def job_json(job_id: int, request: Request, account: Witness) -> Response:
    return JSONResponse(_visible(request, account, job_id))


@router.get("/{job_id}/outcome.json")
def job_outcome(job_id: int, request: Request, account: Witness) -> Response:
    """What an upload's ingest made of the file, for the upload page to show (owner or editor)."""
    job = _visible(request, account, job_id)
    if job["name"] != "ingest":
        raise HTTPException(404, marked("not an ingest job"))
    return JSONResponse(
        dict(ingest_outcome(job, language(request))), headers={"Cache-Control": "no-store"}
    )


@router.get("/{job_id}")
def job_page(job_id: int, request: Request, account: Witness, next: str = "") -> Response:
    job = _visible(request, account, job_id)
    return page(
        request, "job.html", title=f"Job {job_id}", job=job, next=_next(next) if next else ""
    )


@router.post("/{job_id}/retry")
def retry(job_id: int, request: Request, form: CheckedForm, account: Witness) -> Response:
    """Queue a failed job again; its page then follows the new try."""
    job = _visible(request, account, job_id)
    if job["status"] != FAILED or not request.app.state.jobs.retry(job_id):
        raise HTTPException(409, marked("only a failed job can be tried again"))
    return go(f"/jobs/{job_id}")
