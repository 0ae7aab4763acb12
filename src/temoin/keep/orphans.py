"""Blobs a killed ingest placed but never committed, removed before the next ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from temoin.catalog.models import Blob, CustodyEvent
from temoin.events import Action

if TYPE_CHECKING:
    from temoin.context import ArchiveContext


def collect_orphans(ctx: ArchiveContext) -> list[str]:
    """Only blobs the vault's journal names as being placed, that no catalog row and no ingest
    event names, are leftovers: anything else may be a committed original. (A leftover collected
    once may be left again by a later interrupted write of the same file.) The caller holds the
    write lock."""
    placing = ctx.vault.placing()
    if not placing:
        return []
    with ctx.transaction() as tx:
        session = tx.session
        known = set(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(placing))))
        named = set(  # an ingest event names a committed original; other events do not
            session.scalars(
                select(CustodyEvent.item).where(
                    CustodyEvent.item.in_(placing),
                    CustodyEvent.action == str(Action.INGESTED),
                )
            )
        )
        orphans = sorted(placing - known - named)
        for sha in orphans:
            ctx.vault.remove(sha)
            tx.log(
                Action.ORPHAN_COLLECTED,
                sha,
                reason="stored by an interrupted ingest that never committed",
            )
    ctx.vault.settled()
    return orphans
