"""`ArchiveContext.transaction()`: the one way a change and its custody event are committed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from temoin.archive import Archive
from temoin.catalog.models import CustodyEvent, Tag
from temoin.errors import ArchiveLocked
from temoin.events import Action
from temoin.testing.photos import make_photo


class Failed(Exception):
    pass


def _events(archive: Archive) -> int:
    with archive.session() as session:
        return int(session.scalar(select(func.count()).select_from(CustodyEvent)) or 0)


def test_a_rollback_after_an_append_then_a_no_op_commit_is_no_tamper(
    archive: Archive, tmp_path: Path
) -> None:
    make_photo(tmp_path / "card" / "IMG_1.jpg", size=(160, 120))
    archive.ingest([tmp_path / "card"], source="phone")
    head, count = archive.custody.read_head(), _events(archive)
    with pytest.raises(Failed), archive.ctx.transaction() as tx:
        tx.log(Action.EXPORTED, None, story="never")
        raise Failed
    with archive.ctx.transaction():
        pass  # commits nothing: must not write a head for the event rolled back above
    assert archive.custody.read_head() == head
    assert _events(archive) == count
    report = archive.verify()
    assert report.ok, [f.line() for f in report.faults]


def test_a_session_rolled_back_after_an_append_commits_no_head_for_it(archive: Archive) -> None:
    """The bug a hand-written copy had: the pending head outlived the rollback, and the session's
    next commit (with nothing in it) wrote a head for an event that never reached the catalog."""
    head = archive.custody.read_head()
    with archive.session() as session:
        archive.custody.append(session, archive.actor, Action.EXPORTED, None, story="never")
        session.rollback()
        session.commit()  # a no-op commit on the same session
    assert archive.custody.read_head() == head
    report = archive.verify()
    assert report.ok, [f.line() for f in report.faults]


def test_a_committed_transaction_moves_the_head_to_its_event(archive: Archive) -> None:
    before = archive.custody.read_head()
    assert before is not None
    with archive.ctx.transaction() as tx:
        event = tx.log(Action.EXPORTED, None, story="kept")
    after = archive.custody.read_head()
    assert after is not None and (after.seq, after.hash) == (before.seq + 1, event.hash)
    assert archive.verify().ok


def test_a_failed_transaction_keeps_none_of_its_rows(archive: Archive, tmp_path: Path) -> None:
    make_photo(tmp_path / "card" / "IMG_1.jpg", size=(160, 120))
    item = archive.ingest([tmp_path / "card"], source="phone").stored_ids[0]
    with pytest.raises(Failed), archive.ctx.transaction() as tx:
        tx.session.add(Tag(item_id=item, tag="lost"))
        tx.log(Action.TAGGED, item, tags=["lost"])
        raise Failed
    with archive.session() as session:
        assert session.scalars(select(Tag)).all() == []
    assert archive.verify().ok


def test_the_lock_is_taken_once_per_thread_and_refused_to_others(archive: Archive) -> None:
    other = Archive.open(archive.root)  # a second process's view: its own lock handle
    try:
        with (
            archive.ctx.transaction(),
            archive.ctx.transaction(),  # nested: the same holder
            pytest.raises(ArchiveLocked),
            other.ctx.transaction(),
        ):
            pass
        with other.ctx.transaction():  # released: the other writer gets it
            pass
    finally:
        other.close()
