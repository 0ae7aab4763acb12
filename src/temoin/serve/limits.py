"""A cap on request bodies, in front of every route that reads a form.

Starlette reads a url-encoded form whole, a thousand fields of up to a megabyte each, so any
signed-in account could make the server hold a gigabyte per request. Pages here post a few
fields (the longest, an entry, is 20,000 characters), so every body is capped at
`max_form_bytes`: refused at once (413) when its Content-Length says more, and cut off as it
streams when it does not say. The two routes that take files stream them to the disk under their
own limits and are left to those: ``/upload`` (see `FormUpload`) and ``/tus/`` (Upload-Length).
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from temoin.i18n import marked
from temoin.serve.numbers import BadNumber, whole_or_none
from temoin.serve.pages import said

STREAMED = ("/upload", "/tus/")


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == STREAMED[0] or path.startswith(STREAMED[1]):
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        try:
            declared = whole_or_none(raw.decode("latin-1") if raw else None, "Content-Length")
        except BadNumber as exc:
            await PlainTextResponse(exc.message + "\n", 400)(scope, receive, send)
            return
        if declared is not None and declared > self.max_bytes:
            refusal = said(Request(scope), self._refusal())  # in the asker's language
            await PlainTextResponse(refusal + "\n", 413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # raised inside the route that reads the body: answered like any refusal
                    raise HTTPException(413, self._refusal())
            return message

        await self.app(scope, counted, send)

    def _refusal(self) -> str:
        limit = f"{self.max_bytes:,}"
        return marked("the request is larger than the limit of %(n)s bytes for a form") % {
            "n": limit
        }
