"""The timeline: the sort stage's days, moments and entries; a witness sees their own rows."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from temoin.catalog.models import Derivative
from temoin.serve.auth import Witness
from temoin.serve.pages import page
from temoin.serve.previews import THUMB, shown

router = APIRouter()


@router.get("/timeline")
def timeline(request: Request, account: Witness) -> Response:
    archive = request.app.state.archive
    view = archive.timeline()
    days = (
        view["days"] if account.can("editor") else _only(view["days"], archive.sent_by(account.id))
    )
    with archive.session() as session:
        rendered = list(session.scalars(select(Derivative.item_id)))
    return page(
        request,
        "timeline.html",
        title="Timeline",
        days=days,
        rendered=shown(archive, rendered),
        thumb=THUMB,
        fresh=view["fresh"],
        timezone=view["timezone"],
    )


def _only(days: list[dict[str, Any]], sent: set[str]) -> list[dict[str, Any]]:
    kept = []
    for day in days:
        moments = []
        for moment in day["moments"]:
            rows = [r for r in moment["items"] if (r.get("item") or r["id"]) in sent]
            if rows:
                moments.append({**moment, "items": rows})
        if moments:
            kept.append({**day, "moments": moments})
    return kept
