"""Replay of the collect stage's events: items, chat messages, sightings and rejects.

Items and messages are checked against the digests their ``ingested`` event recorded (see
``collect.fields``); sightings against the ``ingested`` and ``duplicate-seen`` events that met
each file; rejects against ``rejected`` events. Events written before those details were recorded
are counted in ``unchecked``.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import Item, Reject, Sighting
from temoin.collect import fields
from temoin.collect.ingest import message_id
from temoin.collect.readers.base import CHAT, MESSAGE, SYSTEM
from temoin.events import Action
from temoin.keep.replay import Entry, Replayed, compare_counts, differs, lost, unlogged
from temoin.keep.verify import CHANGED, Fault

_UNKNOWN = object()


def replay_collect(session: Session, log: list[Entry]) -> Replayed:
    result = Replayed()
    ingested: dict[str, dict[str, Any]] = {}
    seen: list[tuple[tuple[str, str, str], Any]] = []
    rejects: Counter[tuple[str, str, str | None]] = Counter()
    for entry in log:
        detail = entry.detail
        if entry.action in (Action.INGESTED, Action.DUPLICATE_SEEN) and entry.item:
            if entry.action == Action.INGESTED:
                ingested[entry.item] = detail
            key = (entry.item, str(detail.get("source")), str(detail.get("path")))
            seen.append((key, detail.get("mtime", _UNKNOWN)))
        elif entry.action == Action.REJECTED:
            rejects[(str(detail.get("path")), str(detail.get("reason")), entry.item)] += 1
    _items(session, ingested, result)
    _sightings(session, seen, result)
    actual = Counter(
        (path, reason, sha)
        for path, reason, sha in session.execute(select(Reject.path, Reject.reason, Reject.sha256))
    )
    result.faults += compare_counts(
        rejects, actual, lambda k: f"reject of {k[0]} ({k[1]})", "this refusal"
    )
    return result


def _items(session: Session, ingested: dict[str, dict[str, Any]], result: Replayed) -> None:
    """Items, then each chat's messages, read as a stream: a chat of a million messages is
    checked a row at a time, never held whole."""
    columns = (
        Item.id, Item.kind, Item.parent_id, Item.seq, Item.name, Item.source, Item.mime,
        Item.author, Item.text, Item.meta, Item.captured_raw, Item.capture_source,
    )  # fmt: skip
    present: set[str] = set()
    unrecorded = 0
    chats_seen: set[str] = set()
    chats = {sha for sha, detail in ingested.items() if detail.get("kind") == CHAT}
    unrecorded_chats = 0
    query = select(*columns).order_by(Item.parent_id, Item.seq).execution_options(yield_per=5000)
    for parent, rows in itertools.groupby(session.execute(query), key=lambda row: row[2]):
        if parent is not None:
            chats_seen.add(parent)
            unrecorded_chats += _chat(parent, rows, ingested.get(parent), result)
            continue
        for row in rows:
            item_id, kind = row[0], row[1]
            present.add(item_id)
            detail = ingested.get(item_id)
            if detail is None:
                result.faults.append(unlogged(f"item {item_id}", "its ingest"))
                continue
            if kind != detail.get("kind"):
                result.faults.append(differs(f"kind of item {item_id}", kind, detail.get("kind")))
            if "fields_sha256" not in detail:
                unrecorded += 1
                continue
            if row[10] != detail.get("captured") or row[11] != detail.get("capture_source"):
                result.faults.append(
                    differs(
                        f"stated capture time of item {item_id}",
                        f"{row[10]} ({row[11]})",
                        f"{detail.get('captured')} ({detail.get('capture_source')})",
                    )
                )
            elif fields.digest(_fields(row)) != detail["fields_sha256"]:
                result.faults.append(
                    Fault(
                        CHANGED,
                        f"item {item_id}",
                        "its name, text, author or metadata differ from what was read at ingest",
                    )
                )
    for sha in sorted(ingested.keys() - present):
        result.faults.append(lost(f"item {sha}", "records its ingest"))
    for chat in sorted(chats - chats_seen):  # chats whose every message is gone
        unrecorded_chats += _chat(chat, iter(()), ingested.get(chat), result)
    if unrecorded:
        result.unchecked.append(
            f"{unrecorded} original(s) ingested before the log recorded what was read from "
            "them: their stated times, text and metadata are not checked against it"
        )
    if unrecorded_chats:
        result.unchecked.append(
            f"{unrecorded_chats} chat export(s) ingested before the log recorded their "
            "messages: those messages are not checked against it"
        )


def _chat(chat: str, rows: Iterator[Any], detail: dict[str, Any] | None, result: Replayed) -> int:
    """One chat's messages, in seq order, against its ingest event; 1 if the event is too old to
    say what they were."""
    if detail is None or detail.get("kind") != CHAT:
        for row in rows:
            result.faults.append(unlogged(f"message {row[0]}", "its chat export's ingest"))
        return 0
    if "messages" not in detail:
        return 1
    count = int(detail["messages"])
    digest = hashlib.sha256()
    expected, whole = 0, True
    for row in rows:
        seq = row[3]
        if (
            row[1] not in (MESSAGE, SYSTEM)
            or not isinstance(seq, int)
            or row[0] != message_id(chat, seq)
            or (seq >= count)
        ):
            result.faults.append(unlogged(f"message {row[0]} of chat {chat}", "it"))
            whole = False
            continue
        if seq < expected:  # the same seq twice
            result.faults.append(unlogged(f"message {row[0]} of chat {chat}", "it"))
            whole = False
            continue
        for missing in range(expected, seq):
            result.faults.append(lost(f"message #{missing} of chat {chat}", "records it"))
            whole = False
        expected = seq + 1
        fields.add_message(digest, _fields(row))
    for missing in range(expected, count):
        result.faults.append(lost(f"message #{missing} of chat {chat}", "records it"))
        whole = False
    if whole and digest.hexdigest() != detail.get("messages_sha256"):
        result.faults.append(
            Fault(
                CHANGED,
                f"messages of chat {chat}",
                "their text, authors or times differ from what was read at ingest",
            )
        )
    return 0


def _fields(row: tuple[Any, ...]) -> dict[str, Any]:
    return fields.item_fields(
        kind=row[1],
        name=row[4],
        source=row[5],
        mime=row[6],
        author=row[7],
        text=row[8],
        meta=row[9],
        captured=row[10],
        capture_source=row[11],
        seq=row[3],
    )


def _sightings(
    session: Session, seen: list[tuple[tuple[str, str, str], Any]], result: Replayed
) -> None:
    """Where each original was met, and the file time found there (the least trusted clock, but
    the one a file without a stated time is placed by)."""
    known: Counter[tuple[tuple[str, str, str], Any]] = Counter()
    unknown: Counter[tuple[str, str, str]] = Counter()
    for key, mtime in seen:
        if mtime is _UNKNOWN:
            unknown[key] += 1
        else:
            known[(key, mtime)] += 1
    rows = session.execute(
        select(Sighting.blob_sha256, Sighting.source, Sighting.path, Sighting.mtime)
    ).all()
    unmatched = []
    for sha, source, path, mtime in rows:
        key, stamp = (sha, source, path), mtime.isoformat() if mtime is not None else None
        if known[(key, stamp)] > 0:
            known[(key, stamp)] -= 1
        elif unknown[key] > 0:
            unknown[key] -= 1
        else:
            unmatched.append((key, stamp))
    for key, stamp in unmatched:
        what = f"sighting of original {key[0]} at {key[2]}"
        other = next((k for k, n in known.items() if n > 0 and k[0] == key), None)
        if other is not None:
            known[other] -= 1
            result.faults.append(differs(f"file time of the {what}", stamp, other[1]))
        else:
            result.faults.append(unlogged(what, "it"))
    for (key, _), n in sorted((+known).items(), key=repr):
        result.faults += [lost(f"sighting of original {key[0]} at {key[2]}")] * n
    for key, n in sorted((+unknown).items(), key=repr):
        result.faults += [lost(f"sighting of original {key[0]} at {key[2]}")] * n
    older = sum(1 for _, mtime in seen if mtime is _UNKNOWN)
    if older:
        result.unchecked.append(
            f"{older} sighting(s) recorded before the log held file times: "
            "those times are not checked against it"
        )
