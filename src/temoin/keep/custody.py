"""The custody log: an append-only chain of events, each naming the hash of the one before.

An event's hash is the SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8) over
seq, at, actor, action, item, detail and prev; the first event's prev is 64 zeros. The chain lives in
the catalog so an event commits in the same transaction as the change it records; the newest
(seq, hash) is also written to ``custody.head`` after each commit, so cutting events off the end of
the log is noticed too. docs/internals/custody.md has enough to check a log without temoin.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from temoin.catalog.models import CustodyEvent
from temoin.events import Action

GENESIS = "0" * 64
_HEAD_KEY = "temoin.custody.head"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _forget_head(session: Session, *_: Any) -> None:
    session.info.pop(_HEAD_KEY, None)


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
    """Appends events inside the caller's transaction; the caller commits, then calls `sync_head`."""

    def __init__(self, head_file: Path) -> None:
        self.head_file = head_file
        self._pending: Head | None = None

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
        self._pending = Head(seq, event.hash)
        return event

    def sync_head(self) -> None:
        """Record the newest event outside the catalog, atomically; call after each commit."""
        if self._pending is None:
            return
        tmp = self.head_file.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(canonical({"seq": self._pending.seq, "hash": self._pending.hash}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.head_file)
        self._pending = None

    def read_head(self) -> Head | None:
        try:
            data = json.loads(self.head_file.read_text("utf-8"))
            return Head(int(data["seq"]), str(data["hash"]))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None
