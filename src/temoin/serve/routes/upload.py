"""Sending material without JavaScript (one multipart form), and writing dispatch entries.

The form is streamed into the archive's upload area as it arrives (see `FormUpload`), then each
file goes through the same ingest job as a tus upload. A dispatch entry ("14h30: 1051 people left
in buses") is written as a small text note in the upload area and ingested at once, in the request,
so it is on the timeline when the next page loads.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from datetime import datetime
from zoneinfo import ZoneInfo

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from temoin.errors import UsageError
from temoin.serve.auth import Witness
from temoin.serve.csrf import CheckedForm, same, session_token
from temoin.serve.ingests import submit_ingest
from temoin.serve.numbers import whole_or_none
from temoin.serve.pages import go
from temoin.serve.uploads import FOLDER, FormUpload, UploadError
from temoin.serve.users import acting_as

router = APIRouter()
MAX_ENTRY_CHARS = 20_000


@router.post("/upload")
async def upload_form(request: Request, account: Witness) -> Response:
    store = request.app.state.uploads
    declared = whole_or_none(request.headers.get("content-length"), "Content-Length")
    if declared is not None and declared > store.max_bytes + 64 * 1024:
        raise HTTPException(413, f"larger than the limit of {store.max_bytes:,} bytes")

    def check(token: str) -> None:
        if not same(token, session_token(request)):
            raise HTTPException(403, "the form's security token is missing or stale")

    form = FormUpload(store, account, request.headers.get("content-type", ""), check)
    try:
        async for chunk in request.stream():
            form.feed(chunk)
        form.close()
    except UploadError as exc:
        await to_thread.run_sync(form.discard)
        raise HTTPException(getattr(exc, "status", 400), exc.message) from exc
    except (HTTPException, ClientDisconnect):
        await to_thread.run_sync(form.discard)
        raise
    if not form.files:
        raise HTTPException(400, "choose at least one file")
    jobs = [
        await to_thread.run_sync(submit_ingest, request.app.state, upload, account)
        for upload in form.files
    ]
    return go(f"/jobs/{jobs[-1]}" if len(jobs) == 1 else "/jobs")


@router.post("/entries")
def write_entry(
    request: Request,
    form: CheckedForm,
    account: Witness,
) -> Response:
    """Stored as a text original with the witness as source: same readers, vault and custody."""
    archive = request.app.state.archive
    text = str(form.get("text", "")).strip()
    if not text:
        raise UsageError("write something first")
    if len(text) > MAX_ENTRY_CHARS:
        raise UsageError(f"an entry holds at most {MAX_ENTRY_CHARS:,} characters")
    zone = ZoneInfo(archive.settings.timezone)
    day, clock = str(form.get("day", "")), str(form.get("time", "")).strip()
    try:
        when = datetime.fromisoformat(day) if day else datetime.now(zone).replace(tzinfo=None)
    except ValueError as exc:
        raise UsageError(f"{day}: a day is YYYY-MM-DD") from exc
    if clock and not re.fullmatch(r"\d{1,2}:\d{2}", clock):
        raise UsageError(f"{clock}: a time is HH:MM")
    body = f"{clock} {text}" if clock else text
    folder = archive.root / FOLDER / "entries" / secrets.token_hex(8)
    acting = acting_as(archive, account)
    writes = request.app.state.writes
    try:
        folder.mkdir(parents=True)
        path = folder / f"entry-{when:%Y%m%d}-{clock.replace(':', 'h') or 'note'}.txt"
        path.write_text(body + "\n", encoding="utf-8")
        # The note's day comes from its file time when it names only an hour: noon of that day.
        noon = when.replace(hour=12, minute=0, second=0, microsecond=0, tzinfo=zone).timestamp()
        os.utime(path, (noon, noon))
        report = writes.run(acting.ingest, [path], source=account.name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    from temoin.sort.stage import ensure_sorted

    writes.run(ensure_sorted, acting)
    if report.rejected:
        raise UsageError(f"the entry was refused: {report.rejected[0].reason}")
    anchor = report.stored_ids[0][:16] if report.stored_ids else ""
    return go(f"/timeline#i{anchor}" if anchor else "/timeline")
