"""Whether the catalog speaks for this vault: the custody head kept beside the vault must be an
event of the catalog's chain.

A catalog restored from an older copy, a new empty one made where the old one went missing, or the
catalog of another archive (a database URL left pointing elsewhere) all look like working catalogs.
Written through, each would disown originals it does not know. ``custody.head`` is written after
every commit, next to the vault, so it tells them apart: the catalog may be ahead of it (a commit
whose head write was cut short), never behind it or beside it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import CustodyEvent
from temoin.keep.custody import CustodyLog
from temoin.keep.vault import Vault


def mismatch(session: Session, vault: Vault, log: CustodyLog) -> str | None:
    """Why this catalog cannot be trusted to speak for this vault, or None when it can."""
    last = session.execute(
        select(CustodyEvent.seq, CustodyEvent.hash).order_by(CustodyEvent.seq.desc()).limit(1)
    ).first()
    head = log.read_head()
    if head is None:
        if last is None or not vault.holds_anything():
            return None  # nothing stored yet: nothing a wrong catalog could disown
        return "custody.head is missing while the vault holds originals"
    if last is None:
        return f"it has no custody events, custody.head records event #{head.seq}"
    if head.seq > last.seq:
        return (
            f"its log ends at event #{last.seq}, custody.head records #{head.seq}: "
            "an older copy of the catalog?"
        )
    at_head = session.scalar(select(CustodyEvent.hash).where(CustodyEvent.seq == head.seq))
    if at_head != head.hash:
        return (
            f"its event #{head.seq} is not the one custody.head records: "
            "the catalog of another archive?"
        )
    return None  # ahead of the head (a head write cut short) is fine: the next commit moves it
