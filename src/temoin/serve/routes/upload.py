"""Sending material without JavaScript (one multipart form); entries are in `routes.entries`.

The form is streamed into the archive's upload area as it arrives (see `FormUpload`), then each
file goes through the same ingest job as a tus upload.
"""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from temoin.i18n import marked
from temoin.serve.auth import Witness
from temoin.serve.csrf import same, session_token
from temoin.serve.ingests import submit_ingest
from temoin.serve.numbers import whole_or_none
from temoin.serve.pages import go
from temoin.serve.uploads import FormUpload, UploadError

router = APIRouter()
MAX_ENTRY_CHARS = 20_000


@router.post("/upload")
async def upload_form(request: Request, account: Witness) -> Response:
    store = request.app.state.uploads
    declared = whole_or_none(request.headers.get("content-length"), "Content-Length")
    if declared is not None and declared > store.max_bytes + 64 * 1024:
        raise HTTPException(
            413, marked("larger than the limit of %(n)s bytes") % {"n": f"{store.max_bytes:,}"}
        )

    def check(token: str) -> None:
        if not same(token, session_token(request)):
            raise HTTPException(403, marked("the form's security token is missing or stale"))

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
        raise HTTPException(400, marked("choose at least one file"))
    jobs = [
        await to_thread.run_sync(submit_ingest, request.app.state, upload, account)
        for upload in form.files
    ]
    return go(f"/jobs/{jobs[-1]}" if len(jobs) == 1 else "/jobs")
