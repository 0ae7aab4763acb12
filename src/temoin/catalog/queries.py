"""Named queries the front ends share, so the CLI and the web app never write SQL of their own."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from temoin.catalog.models import Blob, CustodyEvent, Item, Reject, Run, Sighting
from temoin.catalog.records import Counts, RejectRecord
from temoin.errors import Ambiguous, NotFound
from temoin.kinds import CHAT_LINES

# A chat export's lines: messages and the chat's own notices, listed only when asked for.


def item_by_prefix(session: Session, prefix: str) -> Item:
    prefix = prefix.strip().lower()
    if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
        raise NotFound(f"{prefix!r}: give at least 4 hex characters of an item id")
    found = list(session.scalars(select(Item).where(Item.id.startswith(prefix)).limit(2)))
    if not found:
        raise NotFound(f"{prefix}: no such item")
    if len(found) > 1:
        raise Ambiguous(f"{prefix}: several items start with it; give more characters")
    return found[0]


def items(
    session: Session,
    *,
    kind: str | None = None,
    source: str | None = None,
    messages: bool = False,
    limit: int | None = None,
) -> list[Item]:
    query = select(Item)
    if kind:
        query = query.where(Item.kind == kind)
    elif not messages:
        query = query.where(Item.kind.not_in(CHAT_LINES))
    if source:
        query = query.where(Item.source == source)
    query = query.order_by(Item.time_utc.is_(None), Item.time_utc, Item.id)
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def messages_of(session: Session, chat_id: str) -> list[Item]:
    return list(session.scalars(select(Item).where(Item.parent_id == chat_id).order_by(Item.seq)))


def owner_of(session: Session, item_id: str) -> int | None:
    """The web account whose ingest first brought this original in, if any (see `sent_by`)."""
    return session.scalar(
        select(Run.account_id)
        .join(Sighting, Sighting.run_id == Run.id)
        .where(Sighting.blob_sha256 == item_id, Run.account_id.is_not(None))
        .order_by(Run.id)
        .limit(1)
    )


def sent_by(session: Session, account_id: int) -> set[str]:
    """Ids of the items this web account brought in itself (by the runs it made), with the
    messages of chats it sent: what a witness may see of the archive.

    Ownership follows the account that ran the ingest, by its id: not the free-text source label,
    and not the actor's name, which a command-line user (the OS user) may share with an account.
    """
    blobs = set(
        session.scalars(
            select(Sighting.blob_sha256)
            .join(Run, Run.id == Sighting.run_id)
            .where(Run.account_id == account_id)
            .distinct()
        )
    )
    if not blobs:
        return set()
    messages = set(session.scalars(select(Item.id).where(Item.parent_id.in_(blobs))))
    return blobs | messages


def sightings(session: Session, sha: str) -> list[Sighting]:
    return list(
        session.scalars(select(Sighting).where(Sighting.blob_sha256 == sha).order_by(Sighting.id))
    )


def events_for(session: Session, item_id: str) -> list[CustodyEvent]:
    return list(
        session.scalars(
            select(CustodyEvent).where(CustodyEvent.item == item_id).order_by(CustodyEvent.seq)
        )
    )


def all_events(session: Session) -> list[CustodyEvent]:
    return list(session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)))


def total_bytes(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Blob.size), 0))) or 0)


def counts(session: Session) -> Counts:
    by_kind = dict(session.execute(select(Item.kind, func.count()).group_by(Item.kind)).all())
    by_source = dict(
        session.execute(
            select(Item.source, func.count())
            .where(Item.kind.not_in(CHAT_LINES))
            .group_by(Item.source)
        ).all()
    )
    blobs, size = session.execute(select(func.count(), func.coalesce(func.sum(Blob.size), 0))).one()
    events = session.scalar(select(func.count()).select_from(CustodyEvent))
    runs = session.scalar(select(func.count()).select_from(Run))
    rejected: list[RejectRecord] = [
        {"source": source, "path": path, "reason": reason}
        for source, path, reason in session.execute(
            select(Reject.source, Reject.path, Reject.reason)
            .group_by(Reject.source, Reject.path, Reject.reason)
            .order_by(Reject.source, Reject.path)
        )
    ]
    return {
        "originals": blobs,
        "bytes": int(size),
        "by_kind": by_kind,
        "by_source": by_source,
        "custody_events": events or 0,
        "ingest_runs": runs or 0,
        "rejected": rejected,
    }
