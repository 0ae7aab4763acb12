"""Entries edited or deleted: the old version stays, the timeline moves on.

Originals are write-once, so an edit never rewrites a note: the new text is ingested as a new
item (a new blob in the vault, its own `ingested` event), and the old item is marked replaced
by it; a deletion marks the item with no successor. Both are one `entry-changed` event written in
the same transaction as the `entry_changes` row, so `verify` replays them like any decision. A
changed item leaves the timeline, every story and the review queue, and the gate refuses it.

Who may do it (the author until it is approved, an editor at any time) is the web app's rule;
this module only refuses what is never meaningful: changing what is not an entry, or an entry
already replaced or deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import EntryChange, Item
from temoin.errors import NotFound, UsageError
from temoin.events import Action
from temoin.kinds import Kind
from temoin.sort.records import EntryChangeRecord

if TYPE_CHECKING:
    from temoin.context import ArchiveContext


def is_entry(item: Item) -> bool:
    """Written in the web app's entry or letter form (the only notes that can be edited)."""
    return item.kind == Kind.TEXT and isinstance((item.meta or {}).get("entry"), dict)


def changed_ids(session: Session) -> set[str]:
    return set(session.scalars(select(EntryChange.item_id)))


def current(session: Session, item_id: str) -> Item:
    """The entry as it can still be changed; NotFound or UsageError with one line otherwise."""
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"{item_id[:12]}: no such item")
    if not is_entry(item):
        raise UsageError(f"{item_id[:12]}: only entries written in the web app can be changed")
    change = session.get(EntryChange, item_id)
    if change is not None:
        done = f"replaced by {change.replaced_by[:12]}" if change.replaced_by else "deleted"
        raise UsageError(f"{item_id[:12]}: this entry was already {done}")
    return item


def record_change(ctx: ArchiveContext, item_id: str, replaced_by: str | None) -> EntryChangeRecord:
    """Mark `item_id` replaced by `replaced_by` (already ingested), or deleted when None."""
    with ctx.transaction() as tx:
        session = tx.session
        current(session, item_id)
        if replaced_by is not None and replaced_by == item_id:
            raise UsageError("the new version is the same text: nothing changed")
        if replaced_by is not None and session.get(Item, replaced_by) is None:
            raise NotFound(f"{replaced_by[:12]}: no such item")
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        session.add(
            EntryChange(item_id=item_id, replaced_by=replaced_by, changed_by=ctx.actor, at=now)
        )
        tx.log(Action.ENTRY_CHANGED, item_id, replaced_by=replaced_by)
    return {"id": item_id, "replaced_by": replaced_by, "deleted": replaced_by is None}
