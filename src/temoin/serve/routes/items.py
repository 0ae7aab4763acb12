"""One item: its page, its preview (from the derivative) and, for editors only, its original.

A witness sees only what they sent; anyone else's item answers 404, as if it did not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import func, select

from temoin.catalog.models import CustodyEvent, Review
from temoin.errors import NotFound, TemoinError
from temoin.events import Action
from temoin.i18n import marked
from temoin.serve.auth import Editor, Witness
from temoin.serve.pages import go, page, say
from temoin.serve.previews import PAGE, THUMB, derivative_of, preview, readable, shown
from temoin.serve.strips import CACHE as STRIPS
from temoin.serve.strips import cache_folder, strip
from temoin.serve.users import Account

router = APIRouter()
_ID = re.compile(r"^[0-9a-f]{64}$")
_STRIP_NAME = re.compile(r"^\d{6}\.jpg$")
_STRIP_KEY = re.compile(r"^[0-9a-f]{64}-[0-9a-f]{12}$")
_PREVIEW_NAME = re.compile(r"^([0-9a-f]{64})(?:-(\d+))?\.jpg$")


def full_id(request: Request, prefix: str) -> str:
    """The item a short id (12 characters or more, as the command line prints) names; 404 if none
    or several."""
    if not re.fullmatch(r"[0-9a-f]{8,64}", prefix):
        raise HTTPException(404, marked("no such item"))
    try:
        record: dict[str, Any] = request.app.state.archive.describe(prefix)
    except TemoinError as exc:
        raise HTTPException(404, marked("no such item")) from exc
    return str(record["id"])


def item_for(request: Request, account: Account, item_id: str) -> dict[str, Any]:
    """The item's record when this account may see it; 404 otherwise."""
    if not _ID.match(item_id):
        raise HTTPException(404, marked("no such item"))
    try:
        record: dict[str, Any] = request.app.state.archive.describe(item_id)
    except NotFound as exc:
        raise HTTPException(404, marked("no such item")) from exc
    if record["id"] != item_id:
        raise HTTPException(404, marked("no such item"))
    if not account.can("editor") and item_id not in request.app.state.archive.sent_by(account.id):
        raise HTTPException(404, marked("no such item"))
    return record


@dataclass(frozen=True)
class Outcome:
    """What became of an item, as the person who sent it sees it."""

    label: str  # awaiting review, approved, withheld, published: in the page's language
    reason: str | None = None
    page: str | None = None  # where it stands on the published site


def outcomes(request: Request, item_ids: list[str]) -> dict[str, Outcome]:
    """Published means: approved, and published since that approval (for a photo, video or voice
    note, its page is on the site now). A withhold reason often speaks of other people ("shows
    a child"), so only editors see it; a witness sees that the item was withheld."""
    archive = request.app.state.archive
    account = getattr(request.state, "account", None)
    editor = account is not None and account.can("editor")
    folder = request.app.state.settings.site_folder
    site = archive.root / folder if folder else None
    with archive.session() as session:
        reviews = {
            r.item_id: r
            for r in session.scalars(select(Review).where(Review.item_id.in_(item_ids)))
        }
        latest: dict[tuple[str, str], int] = {}
        for item, action, seq in session.execute(
            select(CustodyEvent.item, CustodyEvent.action, func.max(CustodyEvent.seq))
            .where(
                CustodyEvent.item.in_(item_ids),
                CustodyEvent.action.in_([Action.PUBLISHED.value, Action.REVIEWED.value]),
            )
            .group_by(CustodyEvent.item, CustodyEvent.action)
        ):
            latest[(str(item), str(action))] = int(seq)
    found: dict[str, Outcome] = {}
    for item_id in item_ids:
        review = reviews.get(item_id)
        status = review.status if review else "pending"
        own_page = site / "items" / f"{item_id[:16]}.html" if site is not None else None
        on_site = own_page is not None and own_page.is_file()
        published = latest.get((item_id, Action.PUBLISHED.value), -1) > latest.get(
            (item_id, Action.REVIEWED.value), -1
        )
        media = review is not None and review.derivative_sha256 is not None
        if status == "approved" and published and (on_site or not media):
            where = f"/site/items/{item_id[:16]}.html" if on_site else "/site/index.html"
            found[item_id] = Outcome(say(request, "published"), None, where)
        elif status == "approved":
            found[item_id] = Outcome(say(request, "approved, not published yet"))
        elif status == "withheld":
            reason = review.reason if review and editor else None
            found[item_id] = Outcome(say(request, "withheld"), reason)
        else:
            found[item_id] = Outcome(say(request, "awaiting review"))
    return found


@router.get("/items/{item_id}")
def item_page(item_id: str, request: Request, account: Witness) -> Response:
    if len(item_id) < 64 and account.can("editor"):  # a short id, as the command line prints
        return go(f"/items/{full_id(request, item_id)}")
    record = item_for(request, account, item_id)
    if not account.can("editor"):
        record.pop("custody", None)
        record.pop("sightings", None)
    return page(
        request,
        "item.html",
        title=record["name"],
        item=record,
        outcome=outcomes(request, [item_id])[item_id],
        shown=shown(request.app.state.archive, [item_id]).get(item_id),
    )


@router.get("/items/{item_id}/preview.jpg")
async def item_preview(
    item_id: str, request: Request, account: Witness, boxes: int = 0
) -> Response:
    """The current rendering's preview, checked with the server on every use (no-cache)."""
    return await _preview(request, account, item_id, bool(boxes), PAGE, None)


@router.get("/items/{item_id}/preview/{name}")
async def item_preview_of(
    item_id: str, name: str, request: Request, account: Witness, boxes: int = 0
) -> Response:
    """A preview of one rendering, named by its hash (``<sha256>.jpg`` or ``<sha256>-320.jpg``):
    it never changes, so browsers may keep it; once superseded it is gone (404)."""
    match = _PREVIEW_NAME.match(name)
    if match is None:
        raise HTTPException(404, "no such preview")
    width = int(match.group(2) or PAGE)
    if width not in (PAGE, THUMB):
        raise HTTPException(404, "no such preview")
    return await _preview(request, account, item_id, bool(boxes), width, match.group(1))


async def _preview(
    request: Request, account: Account, item_id: str, boxes: bool, width: int, sha: str | None
) -> Response:
    await to_thread.run_sync(item_for, request, account, item_id)
    archive = request.app.state.archive
    draw = boxes and account.can("editor")
    path = await to_thread.run_sync(
        lambda: preview(archive, item_id, boxes=draw, width=width, sha256=sha)
    )
    if path is None:
        raise HTTPException(404, "no such rendering (not redacted yet, or redacted again)")
    cache = "private, max-age=31536000, immutable" if sha else "private, no-cache"
    etag = f'"{path.stem}"'  # the derivative's hash, the width, the drawing and its decisions
    return FileResponse(
        path, media_type="image/jpeg", headers={"Cache-Control": cache, "ETag": etag}
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
        readable(request.app.state.archive, found),
        media_type=found["mime"],
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )


@router.get("/items/{item_id}/strip/{key}/{name}")
def item_strip(item_id: str, key: str, name: str, request: Request, account: Editor) -> Response:
    """One frame of a video's review filmstrip (redacted, with its boxes), addressed by the
    rendering's hash and its decisions: a frame drawn before a decision is never served after it."""
    item_for(request, account, item_id)
    if not _STRIP_KEY.match(key) or not _STRIP_NAME.match(name):
        raise HTTPException(404, "no such frame")
    frames = strip(request.app.state.archive, item_id, key.split("-", 1)[0])
    path = cache_folder(request.app.state.archive, STRIPS) / key / name
    if not frames or frames[0].key != key or name not in {f.name for f in frames}:
        raise HTTPException(404, "no such frame")
    if not path.is_file():
        raise HTTPException(404, "no such frame")
    return FileResponse(
        path,
        media_type="image/jpeg",
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
        with archive.ctx.acting_as(account.name).transaction() as tx:
            tx.log(Action.ORIGINAL_SERVED, sha)

    request.app.state.writes.run(served)
    return FileResponse(
        archive.vault.path_for(sha),
        media_type=record.get("mime") or "application/octet-stream",
        filename=record["name"],
        headers={"Cache-Control": "no-store"},
    )
