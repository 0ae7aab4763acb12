"""The review queue and one item's review workbench.

The queue is a grid of covered renderings for a day's material, with filters and bulk decisions.
An item's page shows exactly the rendering it is about (its address carries the derivative's
hash); a video plays with its sound beside a filmstrip of its frames, each with the boxes placed
on that frame. Faces and face tracks can be linked to people, dismissed as not faces, and each of
these taken back; boxes can be added and removed; withheld items released.

Decisions that render the derivative again run as jobs, with progress; approving, withholding,
releasing and voice decisions are quick and happen in the request. Every decision is made through
the Archive acting as the editor, so custody names them, and every approval names the rendering the
page showed: if the item was rendered again since, it is refused.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from temoin.errors import TemoinError, UsageError
from temoin.i18n import marked
from temoin.kinds import RENDERED, Kind
from temoin.protect.derivatives import same_face
from temoin.serve.auth import Editor
from temoin.serve.csrf import CheckedForm
from temoin.serve.numbers import BadNumber, decimal, whole
from temoin.serve.pages import go, page, said
from temoin.serve.previews import THUMB, shown
from temoin.serve.routes.account import _next
from temoin.serve.routes.items import full_id, item_for
from temoin.serve.strips import COLOURS, strip
from temoin.serve.users import Account, acting_as

router = APIRouter(prefix="/review")
STATUSES = ("pending", "withheld", "approved")
FACE_ACTIONS = {"link": "link-face", "unlink": "unlink-face", "dismiss": "dismiss-face"}
FACE_ACTIONS |= {"restore": "restore-face"}
TRACK_ACTIONS = {"link": "link-track", "unlink": "unlink-track", "dismiss": "dismiss-track"}
TRACK_ACTIONS |= {"restore": "restore-track"}


@router.get("")
def queue(
    request: Request,
    account: Editor,
    status: str = "pending",
    kind: str = "",
    source: str = "",
    faces: str = "",
    q: str = "",
    done: str = "",
    refused: str = "",
    said: str = "",
) -> Response:
    archive = request.app.state.archive
    if status not in STATUSES:
        status = "pending"
    records = archive.review_queue(status)
    kinds, sources = archive.review_choices()
    chosen = [r for r in records if _matches(r, kind, source, faces, q)]
    return page(
        request,
        "review_queue.html",
        title="Review",
        queue=chosen,
        total=len(records),
        shown=shown(archive, [r["id"] for r in chosen]),
        thumb=THUMB,
        showing=status,
        statuses=STATUSES,
        filters={"kind": kind, "source": source, "faces": faces, "q": q},
        kinds=kinds,
        sources=sources,
        done=_done(done),
        refused=[r for r in refused.split(" | ") if r],
        said=_said(archive, said),
    )


def _done(text: str) -> tuple[str, int] | None:
    """What a bulk decision just did, as its redirect says (``approve:10``)."""
    action, _, count = text.partition(":")
    if action not in ("approve", "withhold"):
        return None
    try:
        return action, whole(count, "done")
    except BadNumber:
        return None


def _matches(record: dict[str, Any], kind: str, source: str, faces: str, q: str) -> bool:
    if kind and record["kind"] != kind:
        return False
    if source and record["source"] != source:
        return False
    if faces in ("yes", "no") and (face_count(record) > 0) != (faces == "yes"):
        return False
    words = f"{record['name']} {record['source']} {record.get('reason') or ''} {record.get('text') or ''}"
    return not q or q.casefold() in words.casefold()


def face_count(record: dict[str, Any]) -> int:
    """Faces on a photo, face tracks on a video."""
    found = record.get("detections")
    if isinstance(found, list):
        return sum(1 for d in found if d.get("source") == "detector")
    if isinstance(found, dict):
        return len(found.get("tracks", []))
    return 0


@router.get("/{item_id}")
def review_page(item_id: str, request: Request, account: Editor, said: str = "") -> Response:
    if len(item_id) < 64:  # a short id, as the command line prints them
        return go(f"/review/{full_id(request, item_id)}")
    item = item_for(request, account, item_id)
    archive = request.app.state.archive
    review = archive.review_item(item_id)
    detections = review.get("detections")
    faces = [d for d in detections if d.get("n")] if isinstance(detections, list) else []
    video = detections if isinstance(detections, dict) and "tracks" in detections else None
    derivative = review.get("derivative") or {}
    current = derivative.get("current")
    frames = strip(archive, item_id, derivative["sha256"]) if video and current else None
    links = review.get("links", [])
    people = archive.people()
    folder = request.app.state.settings.site_folder
    site_page = archive.root / folder / "items" / f"{item_id[:16]}.html" if folder else None
    return page(
        request,
        "review_item.html",
        title=f"Review {item['name']}",
        item=item,
        review=review,
        faces=faces,
        video=video,
        strip=frames or [],
        colours=COLOURS,
        shown=shown(archive, [item_id]).get(item_id),
        people=people,
        names={p["id"]: p["name"] for p in people},
        linked_faces={
            f["n"]
            for f in faces
            for link in links
            if link.get("track") is None and same_face(link["box"], f["box"])
        },
        linked_tracks={link["track"] for link in links if link.get("track") and link["applies"]},
        still_public=review["status"] != "approved"
        and site_page is not None
        and site_page.is_file(),
        said=_said(archive, said),
        next_id=archive.next_in_queue(item_id),
    )


def _said(archive: Any, text: str) -> dict[str, Any] | None:
    """What the last decision did, said on the page it leads to (``approved:<id>``)."""
    verb, _, item_id = text.partition(":")
    if verb not in ("approved", "withheld", "released") or not item_id:
        return None
    try:
        record = archive.review_item(item_id)
    except TemoinError:
        return None
    return {"verb": verb, "name": record["name"], "id": record["id"], "gate": record["gate"]}


def _job(request: Request, account: Account, item_id: str, **args: object) -> Response:
    job = request.app.state.jobs.submit(
        "review", {"item": item_id, **args}, actor=account.name, account=account.id
    )
    return go(f"/jobs/{job}?next=/review/{item_id}")


def _decide(request: Request, account: Account, item_id: str, verb: str, *args: Any) -> Any:
    """A quick decision, made in the request through the archive acting as this editor."""
    item_for(request, account, item_id)
    acting = acting_as(request.app.state.archive, account)
    return request.app.state.writes.run(getattr(acting, verb), item_id, *args)


def _float(form: FormData, name: str, required: bool = True) -> float | None:
    raw = str(form.get(name, "")).strip()
    if not raw:
        if required:
            raise UsageError(f"{name} is required")
        return None
    return decimal(raw, name)  # "0,5" is how French writes it


def _number(form: FormData, name: str) -> int:
    raw = str(form.get(name, "")).strip()
    if not raw:
        raise UsageError(f"choose a {name}")
    return whole(raw, name)


@router.post("/{item_id}/link")
def link(item_id: str, request: Request, form: CheckedForm, account: Editor) -> Response:
    """A photo's face: link it to a person, take the link back, dismiss it, or restore it."""
    item_for(request, account, item_id)
    action = str(form.get("action", "link"))
    if action not in FACE_ACTIONS:
        raise UsageError(marked("link, unlink, dismiss or restore"))
    args: dict[str, object] = {"decision": FACE_ACTIONS[action], "face": _number(form, "face")}
    seen = str(form.get("derivative", "")).strip()
    if action != "link" and not seen:
        raise UsageError(marked("decide from the item's review page, where its rendering is shown"))
    args["seen"] = seen or None
    if action == "link":
        person = str(form.get("person", "")).strip()
        if not person:
            raise UsageError(marked("choose a face number and a person"))
        args["person"] = person
    return _job(request, account, item_id, **args)


@router.post("/{item_id}/track")
def track(item_id: str, request: Request, form: CheckedForm, account: Editor) -> Response:
    """A video's face track: link, unlink (person left empty), dismiss or restore."""
    item_for(request, account, item_id)
    seen = str(form.get("derivative", "")).strip()  # the rendering the page showed
    if not seen:
        raise UsageError(marked("choose a face track"))
    person = str(form.get("person", "")).strip()
    action = str(form.get("action", "")) or ("link" if person else "unlink")
    if action not in TRACK_ACTIONS:
        raise UsageError(marked("link, unlink, dismiss or restore"))
    args: dict[str, object] = {"decision": TRACK_ACTIONS[action], "track": _number(form, "track")}
    if action == "link":
        if not person:
            raise UsageError(marked("choose a person"))
        args["person"] = person
    return _job(request, account, item_id, seen=seen, **args)


@router.post("/{item_id}/voice")
def voice(item_id: str, request: Request, form: CheckedForm, account: Editor) -> Response:
    """Link a voice heard to a person, or say every voice is linked (quick: nothing re-renders)."""
    action = str(form.get("action", ""))
    if action in ("checked", "unchecked"):
        _decide(request, account, item_id, "set_voices_checked", action == "checked")
    else:
        person = str(form.get("person", "")).strip()
        if not person or action not in ("link", "unlink"):
            raise UsageError(marked("choose a person, and link or unlink"))
        verb = "link_voice" if action == "link" else "unlink_voice"
        _decide(request, account, item_id, verb, person)
    return go(f"/review/{item_id}")


@router.post("/{item_id}/box")
def box(item_id: str, request: Request, form: CheckedForm, account: Editor) -> Response:
    """x, y, w, h as fractions of the upright picture (the drawing script fills them in)."""
    item_for(request, account, item_id)
    values = [_float(form, n) for n in ("x", "y", "w", "h")]
    x, y, w, h = (float(v or 0) for v in values)
    if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1):
        raise UsageError(marked("a box is x,y,w,h with x,y in [0,1) and w,h in (0,1]"))
    start, end = _float(form, "start", False), _float(form, "end", False)
    return _job(
        request, account, item_id, decision="add-box", box=[x, y, w, h], start=start, end=end
    )


@router.post("/{item_id}/box/{number}/remove")
def remove_box(
    item_id: str, number: int, request: Request, form: CheckedForm, account: Editor
) -> Response:
    """``number`` is the box's own number (it stays the same whatever else is added or removed)."""
    item_for(request, account, item_id)
    return _job(request, account, item_id, decision="remove-box", number=number)


@router.post("/{item_id}/mute")
def mute(item_id: str, request: Request, form: CheckedForm, account: Editor) -> Response:
    item_for(request, account, item_id)
    return _job(request, account, item_id, decision="mute", mute=form.get("mute") == "1")


@router.post("/{item_id}/approve")
def approve(item_id: str, request: Request, form: CheckedForm, account: Editor) -> Response:
    """Approve the rendering the page showed (its hash comes with the form), and no other."""
    seen = str(form.get("derivative", "")).strip() or None
    item = item_for(request, account, item_id)
    if seen is None and item["kind"] in RENDERED:
        raise UsageError(
            marked("approve from the item's review page, where its rendering is shown")
        )
    _decide(request, account, item_id, "approve", seen, form.get("damaged_ok") == "1")
    return go(_after(form, f"approved:{item_id}"))


@router.post("/{item_id}/withhold")
def withhold(item_id: str, request: Request, form: CheckedForm, account: Editor) -> Response:
    reason = str(form.get("reason", "")).strip()
    if not reason:
        raise HTTPException(400, marked("say why it is withheld"))
    _decide(request, account, item_id, "withhold", reason)
    return go(_after(form, f"withheld:{item_id}"))


def _after(form: FormData, said: str) -> str:
    """Where a decision leads (the next item of the queue, or the queue; nowhere else), saying
    there what was just done."""
    target = _next(form.get("next"))
    target = target if target.startswith("/review/") and "?" not in target else "/review"
    return f"{target}?{urlencode({'said': said})}"


@router.post("/{item_id}/release")
def release(item_id: str, request: Request, form: CheckedForm, account: Editor) -> Response:
    _decide(request, account, item_id, "release")
    return go(f"/review/{item_id}?{urlencode({'said': f'released:{item_id}'})}")


@router.post("/bulk")
def bulk(request: Request, form: CheckedForm, account: Editor) -> Response:
    """Approve or withhold the chosen items, one by one: each through the same rules as on its
    page and with its own custody event. Photos and texts only: a video is watched and a voice
    note listened to on its own page. Each photo's approval names the rendering its thumbnail
    showed; an item with none named is refused."""
    action = str(form.get("action", ""))
    reason = str(form.get("reason", "")).strip()
    if action not in ("approve", "withhold") or (action == "withhold" and not reason):
        raise UsageError(marked("choose approve, or withhold with a reason"))
    chosen = [str(v) for v in form.getlist("chosen")]
    if not chosen:
        raise UsageError(marked("choose at least one item"))
    refused: list[str] = []
    done = 0
    for entry in chosen:
        item_id, _, seen = entry.partition(":")
        try:
            item = item_for(request, account, item_id)
            review = request.app.state.archive.review_item(item_id)
            if item["kind"] in (Kind.VIDEO, Kind.AUDIO):
                raise UsageError(
                    marked("a video is decided on its own page")
                    if item["kind"] == Kind.VIDEO
                    else marked("a voice note is decided on its own page")
                )
            if review["status"] != "pending":
                raise UsageError(
                    marked("%(status)s: decide it on its own page") % {"status": review["status"]}
                )
            if action == "approve":
                if item["kind"] == Kind.PHOTO and not seen:
                    raise UsageError(marked("no rendering shown for it"))
                _decide(request, account, item_id, "approve", seen or None)
            else:
                _decide(request, account, item_id, "withhold", reason)
            done += 1
        except (TemoinError, HTTPException) as exc:
            detail = exc.detail if isinstance(exc, HTTPException) else exc.message
            refused.append(f"{item_id[:12]}: {said(request, detail)}")
    query = urlencode({"done": f"{action}:{done}", "refused": " | ".join(refused[:5])})
    return go(f"/review?{query}")
