"""Resumable uploads over the tus protocol, 1.0.0: core, creation and termination.

A phone on a bad connection sends a file in chunks; when the connection drops, or the server
restarts, the client asks for the offset (HEAD) and sends the rest (PATCH). Each upload belongs to
the account that created it: to anyone else it does not exist (404). Requests carry the session
cookie and the ``X-CSRF-Token`` header. A finished upload is handed to an ingest job at once (see
`temoin.serve.ingests`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii

from anyio import to_thread
from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect

from temoin.serve.auth import Witness
from temoin.serve.csrf import check_header
from temoin.serve.ingests import submit_ingest
from temoin.serve.numbers import BadNumber, whole, whole_or_none
from temoin.serve.pages import said as in_their_language
from temoin.serve.uploads import TooLarge, Upload, UploadError, UploadStore, reported_time
from temoin.serve.users import Account

VERSION = "1.0.0"
EXTENSIONS = "creation,termination"
CHUNK_TYPE = "application/offset+octet-stream"

router = APIRouter(prefix="/tus")


def _headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": VERSION, "Cache-Control": "no-store", **extra}


def _answer(status: int, text: str = "", **headers: str) -> Response:
    return Response(text, status_code=status, headers=_headers(**headers), media_type="text/plain")


def _check_version(request: Request) -> Response | None:
    if request.headers.get("tus-resumable") != VERSION:
        return _answer(412, "Tus-Resumable 1.0.0 required\n", **{"Tus-Version": VERSION})
    return None


def parse_metadata(header: str) -> dict[str, str]:
    """``key base64,key2 base64`` → values; keys without a value map to ""."""
    values: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            values[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise UploadError(f"Upload-Metadata {key}: not base64 of UTF-8") from exc
    return values


def _store(request: Request) -> UploadStore:
    store: UploadStore = request.app.state.uploads
    return store


@router.options("/")
@router.options("/{upload_id}")
async def options(request: Request) -> Response:
    return Response(
        status_code=204,
        headers=_headers(
            **{
                "Tus-Version": VERSION,
                "Tus-Extension": EXTENSIONS,
                "Tus-Max-Size": str(_store(request).max_bytes),
            }
        ),
    )


@router.post("/")
async def create(request: Request, account: Witness) -> Response:
    if (refused := _check_version(request)) is not None:
        return refused
    check_header(request)
    raw = request.headers.get("upload-length")
    if not raw:
        return _answer(400, "Upload-Length is required (deferred length is not supported)\n")
    try:
        length = whole(raw, "Upload-Length")
        meta = parse_metadata(request.headers.get("upload-metadata", ""))
        said = whole_or_none(meta.get("lastModified"), "Upload-Metadata lastModified")
        modified = reported_time(said) if said is not None else None
        upload = await to_thread.run_sync(
            _store(request).create, account, length, meta.get("filename"), modified
        )
    except BadNumber as exc:
        return _answer(400, exc.message + "\n")
    except UploadError as exc:
        return _answer(getattr(exc, "status", 400), in_their_language(request, exc.message) + "\n")
    job = await _complete_if_done(request, upload, account)
    extra = {"Temoin-Job": str(job)} if job else {}
    return _answer(201, "", Location=f"/tus/{upload.id}", **extra)


@router.head("/{upload_id}")
async def head(upload_id: str, request: Request, account: Witness) -> Response:
    if (refused := _check_version(request)) is not None:
        return refused
    upload = _store(request).get(upload_id, account)
    if upload is None:
        return _answer(404)
    return Response(
        status_code=200,
        headers=_headers(
            **{"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length)}
        ),
    )


@router.patch("/{upload_id}")
async def patch(upload_id: str, request: Request, account: Witness) -> Response:
    if (refused := _check_version(request)) is not None:
        return refused
    check_header(request)
    if request.headers.get("content-type") != CHUNK_TYPE:
        return _answer(415, f"Content-Type must be {CHUNK_TYPE}\n")
    upload = _store(request).get(upload_id, account)
    if upload is None:
        return _answer(404)
    locks: dict[str, asyncio.Lock] = request.app.state.tus_locks  # one PATCH at a time per upload
    lock = locks.setdefault(upload.id, asyncio.Lock())
    async with lock:
        offset = upload.offset
        try:
            claimed = whole(request.headers.get("upload-offset"), "Upload-Offset")
            declared = whole_or_none(request.headers.get("content-length"), "Content-Length")
        except BadNumber as exc:
            return _answer(400, exc.message + "\n", **{"Upload-Offset": str(offset)})
        if claimed != offset or not upload.receiving:
            return _answer(409, "Upload-Offset does not match\n", **{"Upload-Offset": str(offset)})
        if declared is not None and offset + declared > upload.length:
            return _answer(413, "more bytes than Upload-Length\n")
        try:
            await _receive(request, upload, offset)
        except TooLarge as exc:
            return _answer(413, exc.message + "\n", **{"Upload-Offset": str(upload.offset)})
        job = await _complete_if_done(request, upload, account)
    locks.pop(upload.id, None)
    extra = {"Temoin-Job": str(job)} if job else {}
    return Response(
        status_code=204, headers=_headers(**{"Upload-Offset": str(upload.offset), **extra})
    )


async def _receive(request: Request, upload: Upload, offset: int) -> None:
    """Append what arrives; on a dropped connection keep every byte that got here."""
    room = upload.length - offset
    receiver = _store(request).receiver(upload)
    try:
        async for chunk in request.stream():
            if len(chunk) > room:
                receiver.write(chunk[:room])
                raise TooLarge("more bytes than Upload-Length")
            receiver.write(chunk)
            room -= len(chunk)
    except ClientDisconnect:
        pass
    finally:
        await to_thread.run_sync(receiver.close)


async def _complete_if_done(request: Request, upload: Upload, account: Account) -> int | None:
    if upload.offset != upload.length or not upload.receiving:
        return None
    return await to_thread.run_sync(submit_ingest, request.app.state, upload, account)


@router.delete("/{upload_id}")
async def terminate(upload_id: str, request: Request, account: Witness) -> Response:
    if (refused := _check_version(request)) is not None:
        return refused
    check_header(request)
    upload = _store(request).get(upload_id, account)
    if upload is None or not upload.receiving:
        return _answer(404)
    await to_thread.run_sync(_store(request).delete, upload)
    return _answer(204)
