"""Items as plain JSON-friendly records: what `ls --json`, `show --json` and the web app return."""

from __future__ import annotations

import json
from typing import Any

from temoin.catalog.models import CustodyEvent, Item, Sighting
from temoin.timeutil import to_local


def item_record(item: Item, timezone: str) -> dict[str, Any]:
    local = to_local(item.time_utc, timezone).isoformat() if item.time_utc else None
    record: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "name": item.name,
        "source": item.source,
        "mime": item.mime,
        "time": local,
        "time_utc": item.time_utc.isoformat() + "Z" if item.time_utc else None,
        "captured": item.captured_raw,
        "capture_source": item.capture_source,
        "meta": item.meta or {},
    }
    if item.blob_sha256:
        record["sha256"] = item.blob_sha256
    if item.author is not None:
        record["author"] = item.author
    if item.text is not None:
        record["text"] = item.shown_text
    if item.parent_id:
        record["chat"] = item.parent_id
        record["seq"] = item.seq
    if item.attachment_id:
        record["attachment"] = item.attachment_id
    if item.attachment_missing:
        record["attachment_missing"] = True
    if item.damaged:
        record["damaged"] = item.damaged
    return record


def sighting_record(sighting: Sighting) -> dict[str, Any]:
    return {
        "source": sighting.source,
        "path": sighting.path,
        "seen_at": sighting.seen_at.isoformat() + "Z",
        "mtime": sighting.mtime.isoformat() + "Z" if sighting.mtime else None,
        "run": sighting.run_id,
    }


def event_record(event: CustodyEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "item": event.item,
        "detail": json.loads(event.detail),
        "prev": event.prev,
        "hash": event.hash,
    }
