"""The review queue and one item's review: faces drawn on the derivative, links to people in the
consent register, boxes for faces the detector missed, and the approve or withhold decision.

Decisions that render the derivative again (a link, a box, muting) run as jobs; approving and
withholding are quick and happen in the request. Every decision is made through the Archive
acting as the editor, so custody names them.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from temoin.errors import UsageError
from temoin.serve.auth import Editor
from temoin.serve.csrf import CheckedForm
from temoin.serve.pages import go, page
from temoin.serve.routes.items import item_for
from temoin.serve.users import Account

router = APIRouter(prefix="/review")


@router.get("")
def queue(request: Request, account: Editor) -> Response:
    archive = request.app.state.archive
    waiting = archive.review_queue()
    return page(request, "review_queue.html", title="Review", queue=waiting)


@router.get("/{item_id}")
def review_page(item_id: str, request: Request, account: Editor) -> Response:
    item = item_for(request, account, item_id)
    archive = request.app.state.archive
    review = archive.review_item(item_id)
    detections = review.get("detections")
    faces = [d for d in detections if d.get("n")] if isinstance(detections, list) else []
    video = detections if isinstance(detections, dict) and "tracks" in detections else None
    return page(
        request,
        "review_item.html",
        title=f"Review {item['name']}",
        item=item,
        review=review,
        faces=faces,
        video=video,
        people=archive.people(),
    )


def _job(request: Request, account: Account, item_id: str, **args: object) -> Response:
    job = request.app.state.jobs.submit("review", {"item": item_id, **args}, actor=account.name)
    return go(f"/jobs/{job}?next=/review/{item_id}")


def _decide(request: Request, account: Account, item_id: str, verb: str, *args: str) -> Response:
    """A quick decision, made in the request through the archive acting as this editor."""
    item_for(request, account, item_id)
    acting = request.app.state.archive.acting_as(account.name)
    request.app.state.writes.run(getattr(acting, verb), item_id, *args)
    return go("/review")


def _float(form: FormData, name: str, required: bool = True) -> float | None:
    raw = str(form.get(name, "")).strip()
    if not raw:
        if required:
            raise UsageError(f"{name} is required")
        return None
    try:
        return float(raw)
    except ValueError as exc:
        raise UsageError(f"{name}: {raw!r} is not a number") from exc


@router.post("/{item_id}/link")
def link(
    item_id: str,
    request: Request,
    form: CheckedForm,
    account: Editor,
) -> Response:
    item_for(request, account, item_id)
    face, person = str(form.get("face", "")), str(form.get("person", "")).strip()
    if not face.isdigit() or not person:
        raise UsageError("choose a face number and a person")
    return _job(request, account, item_id, decision="link-face", face=int(face), person=person)


@router.post("/{item_id}/track")
def track(
    item_id: str,
    request: Request,
    form: CheckedForm,
    account: Editor,
) -> Response:
    """Link a video's face track to a person, or take the link back (person left empty)."""
    item_for(request, account, item_id)
    number, person = str(form.get("track", "")), str(form.get("person", "")).strip()
    seen = str(form.get("derivative", "")).strip()  # the rendering the page showed
    if not number.isdigit() or not seen:
        raise UsageError("choose a face track")
    decision = (
        {"decision": "link-track", "person": person} if person else {"decision": "unlink-track"}
    )
    return _job(request, account, item_id, track=int(number), seen=seen, **decision)


@router.post("/{item_id}/voice")
def voice(
    item_id: str,
    request: Request,
    form: CheckedForm,
    account: Editor,
) -> Response:
    """Link a voice heard to a person, or say every voice is linked (quick: nothing re-renders)."""
    item_for(request, account, item_id)
    action = str(form.get("action", ""))
    acting = request.app.state.archive.acting_as(account.name)
    if action in ("checked", "unchecked"):
        request.app.state.writes.run(acting.set_voices_checked, item_id, action == "checked")
    else:
        person = str(form.get("person", "")).strip()
        if not person or action not in ("link", "unlink"):
            raise UsageError("choose a person, and link or unlink")
        verb = acting.link_voice if action == "link" else acting.unlink_voice
        request.app.state.writes.run(verb, item_id, person)
    return go(f"/review/{item_id}")


@router.post("/{item_id}/box")
def box(
    item_id: str,
    request: Request,
    form: CheckedForm,
    account: Editor,
) -> Response:
    """x, y, w, h as fractions of the upright picture (the drawing script fills them in)."""
    item_for(request, account, item_id)
    values = [_float(form, n) for n in ("x", "y", "w", "h")]
    x, y, w, h = (float(v or 0) for v in values)
    if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1):
        raise UsageError("a box is x,y,w,h with x,y in [0,1) and w,h in (0,1]")
    start, end = _float(form, "start", False), _float(form, "end", False)
    return _job(
        request, account, item_id, decision="add-box", box=[x, y, w, h], start=start, end=end
    )


@router.post("/{item_id}/mute")
def mute(
    item_id: str,
    request: Request,
    form: CheckedForm,
    account: Editor,
) -> Response:
    item_for(request, account, item_id)
    return _job(request, account, item_id, decision="mute", mute=form.get("mute") == "1")


@router.post("/{item_id}/approve")
def approve(
    item_id: str,
    request: Request,
    form: CheckedForm,
    account: Editor,
) -> Response:
    return _decide(request, account, item_id, "approve")


@router.post("/{item_id}/withhold")
def withhold(
    item_id: str,
    request: Request,
    form: CheckedForm,
    account: Editor,
) -> Response:
    reason = str(form.get("reason", "")).strip()
    if not reason:
        raise HTTPException(400, "say why it is withheld")
    return _decide(request, account, item_id, "withhold", reason)
