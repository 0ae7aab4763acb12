"""The custody log: an append-only chain of events, each naming the hash of the one before.

An event's hash is the SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8) over
seq, at, actor, action, item, detail and prev; the first event's prev is 64 zeros. The chain lives in
the catalog so an event commits in the same transaction as the change it records; the newest
(seq, hash) is also written to ``custody.head`` after each commit, so cutting events off the end of
the log is noticed too. docs/internals/custody.md has enough to check a log without temoin.

The head is written by the session's own commit (an ``after_commit`` hook), from the events that
very transaction appended: a transaction rolled back forgets its events, so no later commit can
write a head for an event that never reached the catalog.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from temoin.catalog.models import CustodyEvent
from temoin.events import Action
from temoin.keep.sealing import Plain, Sealer

GENESIS = "0" * 64
_HEAD_KEY = "temoin.custody.head"
_PENDING_KEY = "temoin.custody.pending"  # (log, head) appended by the open transaction


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_HEAD_KEY, None)
    pending = session.info.pop(_PENDING_KEY, None)
    if pending is not None:
        log, head = pending
        # The change is committed; a head left behind is one the catalog is ahead of, which every
        # check allows and the next commit moves. Failing here would report a saved decision as
        # lost, and a retry would record it twice.
        with contextlib.suppress(OSError):
            log.write_head(head)


@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _forget_head(session: Session, *_: Any) -> None:
    session.info.pop(_HEAD_KEY, None)
    session.info.pop(_PENDING_KEY, None)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(
    seq: int, at: str, actor: str, action: str, item: str | None, detail: str, prev: str
) -> str:
    body = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "item": item,
        "detail": json.loads(detail),
        "prev": prev,
    }
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def utc_stamp(moment: datetime | None = None) -> str:
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Head:
    seq: int
    hash: str


class CustodyLog:
    """Appends events inside the caller's transaction; its commit records the new head."""

    def __init__(self, head_file: Path, sealer: Sealer | None = None) -> None:
        self.head_file = head_file
        self.sealer: Sealer = sealer or Plain()
        self._lock = threading.Lock()

    def append(
        self,
        session: Session,
        actor: str,
        action: Action,
        item: str | None = None,
        **detail: Any,
    ) -> CustodyEvent:
        last = session.info.get(_HEAD_KEY)
        if last is None:
            last = session.execute(
                select(CustodyEvent.seq, CustodyEvent.hash)
                .order_by(CustodyEvent.seq.desc())
                .limit(1)
            ).first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        at = utc_stamp()
        detail_json = canonical(detail)
        event = CustodyEvent(
            seq=seq,
            at=at,
            actor=actor,
            action=str(action),
            item=item,
            detail=detail_json,
            prev=prev,
            hash=event_hash(seq, at, actor, str(action), item, detail_json, prev),
        )
        session.add(event)
        # Within one transaction the newest event is the one we just added: no need to ask the
        # database again (the seq primary key still refuses a concurrent writer's fork).
        session.info[_HEAD_KEY] = (seq, event.hash)
        session.info[_PENDING_KEY] = (self, Head(seq, event.hash))
        return event

    def write_head(self, head: Head) -> None:
        """Record a committed event as the newest, atomically; never step back (two sessions may
        commit in one order and get here in the other)."""
        with self._lock:
            current = self.read_head()
            if current is not None and current.seq >= head.seq:
                return
            text = canonical({"seq": head.seq, "hash": head.hash}) + "\n"
            self.sealer.write_bytes(self.head_file, text.encode("utf-8"), 0o644)

    def read_head(self) -> Head | None:
        try:
            data = json.loads(self.sealer.read_bytes(self.head_file).decode("utf-8"))
            return Head(int(data["seq"]), str(data["hash"]))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None
