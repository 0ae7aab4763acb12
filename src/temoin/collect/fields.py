"""What of an item the ingest event vouches for: a digest of the fields read from the original.

Items are never edited after ingest, so the ``ingested`` event can carry a SHA-256 of what was
read (stated time, text, author, metadata, name, kind), and of every message of a chat export in
order. Re-reading 100,000 originals would take minutes; comparing digests takes seconds, and the
original in the vault still answers for the digest. The stated time itself is short and not
sensitive, so it is written out too and a difference can be named; text and metadata (which may
hold a location) stay out of the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from json.encoder import encode_basestring
from typing import Any

from temoin.keep.custody import canonical


def item_fields(
    *,
    kind: str,
    name: str,
    source: str,
    mime: str,
    author: str | None,
    text: str | None,
    meta: dict[str, Any] | None,
    captured: str | None,
    capture_source: str | None,
    seq: int | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name,
        "source": source,
        "mime": mime,
        "author": author,
        "text": text,
        "meta": meta or {},
        "captured": captured,
        "capture_source": capture_source,
        "seq": seq,
    }


def digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(fields).encode("utf-8")).hexdigest()


def messages_digest(messages: Iterable[dict[str, Any]]) -> str:
    """One digest over a chat's messages in order: a deleted, edited or moved one changes it."""
    hasher = hashlib.sha256()
    for fields in messages:
        add_message(hasher, fields)
    return hasher.hexdigest()


def add_message(hasher: Any, fields: dict[str, Any]) -> None:
    """One more message into a running digest, so a chat streamed in batches is digested too."""
    hasher.update(canonical(fields).encode("utf-8"))
    hasher.update(b"\n")


class MessageDigest:
    """A chat's running digest, fed exactly the bytes ``add_message`` would feed it, faster.

    A chat export may hold a million messages, and serialising each one's fields afresh through
    ``json.dumps`` cost more than storing it. The fields every message of a chat shares are
    encoded once; per message only the author, text, stated time, metadata and position are,
    with the same string encoder ``canonical`` uses, into the same sorted-key, compact layout.
    Metadata other than the usual ``{"line": n}`` goes through ``canonical`` itself. A batch of
    lines is hashed in one call: SHA-256 of the joined lines is that of the lines one by one.
    """

    def __init__(self, *, kind: str, name: str, source: str, mime: str, capture_source: str):
        self._hasher = hashlib.sha256()
        self._capture_source = f',"capture_source":{_encode(capture_source)},"captured":'
        self._kind = kind
        self._kinds = {kind: f',"kind":{_encode(kind)},"meta":'}
        self._name = f',"mime":{_encode(mime)},"name":{_encode(name)},"seq":'
        self._source = f',"source":{_encode(source)},"text":'

    def line(
        self, *, author: str | None, text: str | None, meta: dict[str, Any] | None,
        captured: str | None, seq: int, kind: str | None = None,
    ) -> str:  # fmt: skip
        """One message's canonical fields, as ``canonical(item_fields(...))`` writes them; a
        chat's system lines (``kind="system"``) share its digest with its messages."""
        kind_json = self._kinds.get(kind or self._kind)
        if kind_json is None:
            kind_json = self._kinds[str(kind)] = f',"kind":{_encode(kind)},"meta":'

        if meta is not None and len(meta) == 1 and type(meta.get("line")) is int:
            meta_json = f'{{"line":{meta["line"]}}}'
        else:
            meta_json = canonical(meta or {})
        return (
            f'{{"author":{_encode(author)}{self._capture_source}{_encode(captured)}'
            f"{kind_json}{meta_json}{self._name}{seq}{self._source}{_encode(text)}}}"
        )

    def update(self, lines: list[str]) -> None:
        if lines:
            self._hasher.update(("\n".join(lines) + "\n").encode("utf-8"))

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()


def _encode(value: str | None) -> str:
    """A string as ``canonical`` writes it (``json.dumps`` uses this encoder when not escaping
    to ASCII); anything else through ``canonical`` itself."""
    return encode_basestring(value) if type(value) is str else canonical(value)
