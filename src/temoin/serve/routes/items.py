"""One item: its page, its preview (from the derivative) and, for editors only, its original.

A witness sees only what they sent; anyone else's item answers 404, as if it did not exist.
"""

from __future__ import annotations

import re
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from temoin.errors import NotFound
from temoin.events import Action
from temoin.serve.auth import Editor, Witness
from temoin.serve.pages import page
from temoin.serve.previews import derivative_of, preview
from temoin.serve.users import Account

router = APIRouter()
_ID = re.compile(r"^[0-9a-f]{64}$")


def item_for(request: Request, account: Account, item_id: str) -> dict[str, Any]:
    """The item's record when this account may see it; 404 otherwise."""
    if not _ID.match(item_id):
        raise HTTPException(404, "no such item")
    try:
        record: dict[str, Any] = request.app.state.archive.describe(item_id)
    except NotFound as exc:
        raise HTTPException(404, "no such item") from exc
    if record["id"] != item_id:
        raise HTTPException(404, "no such item")
    if not account.can("editor") and item_id not in request.app.state.archive.sent_by(account.name):
        raise HTTPException(404, "no such item")
    return record


@router.get("/items/{item_id}")
def item_page(item_id: str, request: Request, account: Witness) -> Response:
    record = item_for(request, account, item_id)
    if not account.can("editor"):
        record.pop("custody", None)
        record.pop("sightings", None)
    return page(request, "item.html", title=record["name"], item=record)


@router.get("/items/{item_id}/preview.jpg")
async def item_preview(
    item_id: str, request: Request, account: Witness, boxes: int = 0
) -> Response:
    await to_thread.run_sync(item_for, request, account, item_id)
    archive = request.app.state.archive
    draw = bool(boxes) and account.can("editor")
    path = await to_thread.run_sync(lambda: preview(archive, item_id, boxes=draw))
    if path is None:
        raise HTTPException(404, "no redacted version yet")
    return FileResponse(
        path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )


@router.get("/items/{item_id}/derivative/{sha256}")
def item_derivative(item_id: str, sha256: str, request: Request, account: Editor) -> Response:
    """The redacted derivative itself (a video or a voice note to play in review), by its hash.

    The hash in the address means a new rendering has a new address: a player never shows an
    older rendering than the page it sits on. Only the current derivative is served.
    """
    item_for(request, account, item_id)
    found = derivative_of(request.app.state.archive, item_id)
    if found is None or found["sha256"] != sha256 or not found["path"].is_file():
        raise HTTPException(404, "no such rendering")
    return FileResponse(
        found["path"],
        media_type=found["mime"],
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )


@router.get("/items/{item_id}/original")
def item_original(item_id: str, request: Request, account: Editor) -> Response:
    """The untouched original, for an editor's eyes only, and written in custody."""
    record = item_for(request, account, item_id)
    sha = record.get("sha256")
    if not sha:
        raise HTTPException(404, "this item has no original file of its own")
    archive = request.app.state.archive

    def served() -> None:
        with archive.writing(), archive.session() as session:
            archive.custody.append(session, account.name, Action.ORIGINAL_SERVED, sha)
            session.commit()
            archive.custody.sync_head()

    request.app.state.writes.run(served)
    return FileResponse(
        archive.vault.path_for(sha),
        media_type=record.get("mime") or "application/octet-stream",
        filename=record["name"],
        headers={"Cache-Control": "no-store"},
    )
