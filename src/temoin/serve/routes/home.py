"""The first page after sign-in: what this person can do, and what they sent."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from temoin.serve.auth import Witness
from temoin.serve.jobs import recent_jobs
from temoin.serve.pages import page
from temoin.serve.routes.items import outcomes

router = APIRouter()


@router.get("/")
def home(request: Request, account: Witness) -> Response:
    archive = request.app.state.archive
    sent = archive.sent_by(account.id)
    mine = [i for i in archive.list_items() if i["id"] in sent][::-1]  # newest first
    zone = archive.settings.timezone
    now = datetime.now(ZoneInfo(zone))
    shown_items = mine[:50]
    return page(
        request,
        "home.html",
        title="temoin",
        items=shown_items,
        outcomes=outcomes(request, [i["id"] for i in shown_items]),
        jobs=recent_jobs(archive, account.id, 10, request.app.state.jobs),
        now_day=now.date().isoformat(),
        now_time=now.strftime("%H:%M"),
        max_bytes=request.app.state.uploads.max_bytes,
    )
