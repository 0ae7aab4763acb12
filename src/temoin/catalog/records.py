"""Items as plain JSON-friendly records: what `ls --json`, `show --json` and the web app return.

They are `TypedDict`s: dicts at run time (so JSON, templates and tests read them as they are),
checked by mypy where they are built and read, so a renamed key fails the type check.
"""

from __future__ import annotations

import json
from typing import Any, NotRequired, TypedDict

from temoin.catalog.models import CustodyEvent, Item, Sighting
from temoin.timeutil import to_local


class ItemRecord(TypedDict):
    id: str
    kind: str
    name: str
    source: str
    mime: str
    time: str | None  # local to the archive's zone
    time_utc: str | None
    captured: str | None  # the time as the file stated it
    capture_source: str | None
    meta: dict[str, Any]
    sha256: NotRequired[str]  # an original in the vault (a chat's message has none)
    author: NotRequired[str]
    text: NotRequired[str | None]
    chat: NotRequired[str]  # a chat line: the export it is a line of, and where in it
    seq: NotRequired[int | None]
    attachment: NotRequired[str]
    attachment_missing: NotRequired[bool]
    damaged: NotRequired[str]


class SightingRecord(TypedDict):
    source: str
    path: str
    seen_at: str
    mtime: str | None
    run: int


class EventRecord(TypedDict):
    seq: int
    at: str
    actor: str
    action: str
    item: str | None
    detail: dict[str, Any]
    prev: str
    hash: str


class ItemDescription(ItemRecord, total=False):
    """`show`: an item with where it was seen and its custody; a note also its day."""

    sightings: list[SightingRecord]
    custody: list[EventRecord]
    messages: int  # a chat export's
    day: str | None
    day_from: str | None
    day_from_label: str | None
    day_uncertain: bool
    day_set_by_hand: str | None


class RejectRecord(TypedDict):
    source: str
    path: str
    reason: str


class Counts(TypedDict):
    originals: int
    bytes: int
    by_kind: dict[str, int]
    by_source: dict[str, int]  # chat lines are counted with their export, not here
    custody_events: int
    ingest_runs: int
    rejected: list[RejectRecord]


class StatusRecord(Counts):
    archive: str  # its name


def item_record(item: Item, timezone: str) -> ItemRecord:
    local = to_local(item.time_utc, timezone).isoformat() if item.time_utc else None
    record: ItemRecord = {
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


def sighting_record(sighting: Sighting) -> SightingRecord:
    return {
        "source": sighting.source,
        "path": sighting.path,
        "seen_at": sighting.seen_at.isoformat() + "Z",
        "mtime": sighting.mtime.isoformat() + "Z" if sighting.mtime else None,
        "run": sighting.run_id,
    }


def event_record(event: CustodyEvent) -> EventRecord:
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
