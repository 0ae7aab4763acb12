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
