"""The protect stage works on the archive's context alone, and writes all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from temoin.archive import Archive
from temoin.catalog.models import CustodyEvent
from temoin.events import Action
from temoin.protect import gate, review
from temoin.protect.records import ReviewRecord
from temoin.testing.photos import make_photo


def _note(archive: Archive, tmp_path: Path) -> str:
    note = tmp_path / "in" / "evening.txt"
    note.parent.mkdir(parents=True)
    note.write_text("Amina counted 40 buses at the camp's gate.\n", encoding="utf-8")
    result = archive.ingest([note], source="notes")
    return result.stored_ids[0]


def _actions(archive: Archive, item: str | None = None) -> list[tuple[str, str]]:
    with archive.session() as session:
        query = select(CustodyEvent).order_by(CustodyEvent.seq)
        if item is not None:
            query = query.where(CustodyEvent.item == item)
        return [(e.action, e.actor) for e in session.scalars(query)]


def test_decisions_and_the_gate_on_the_context_alone(archive: Archive, tmp_path: Path) -> None:
    note = _note(archive, tmp_path)
    ctx = archive.ctx.acting_as("a reviewer")

    said = review.set_consent(ctx, "Amina", consent="yes", scope=["name"], how="in person")
    assert said == {"person": "Amina", "consent": "yes", "scope": ["name"], "rerendered": []}
    record = review.withhold(ctx, note, "names a volunteer")
    assert set(record) == set(ReviewRecord.__required_keys__)  # no rendering: no detections
    assert record["status"] == "withheld"
    assert gate.check(ctx, note).reasons == ["withheld: names a volunteer"]
    assert gate.publishable(ctx) == []

    review.release(ctx, note)
    assert review.approve(ctx, note)["gate"] == []
    assert gate.check(ctx, note).ok and gate.publishable(ctx) == [note]

    reviewed = [actor for action, actor in _actions(archive, note) if action == "reviewed"]
    assert reviewed == ["a reviewer"] * 3  # withheld, released, approved: each in custody
    assert ("consent", "a reviewer") in _actions(archive)
    report = archive.verify()
    assert report.ok, [f.line() for f in report.faults]


def test_a_failed_export_logs_none_of_its_copies(archive: Archive, tmp_path: Path) -> None:
    for n in range(3):
        make_photo(tmp_path / "card" / f"IMG_{n}.jpg", size=(160, 120), seed=n)
    archive.ingest([tmp_path / "card"], source="phone")
    archive.redact()
    for item in archive.list_items():
        archive.approve(item["id"])
    last = archive.publishable()[-1]
    export = tmp_path / "export"
    (export / f"{last[:16]}.jpg" / "in the way").mkdir(parents=True)  # the last copy fails

    with pytest.raises(OSError):
        archive.redact(export=export)
    assert Action.EXPORTED.value not in {action for action, _ in _actions(archive)}
    archive.add_person("Jonas", consent="no")  # the next commit names no forgotten export
    report = archive.verify()
    assert report.ok, [f.line() for f in report.faults]

    (export / f"{last[:16]}.jpg" / "in the way").rmdir()
    (export / f"{last[:16]}.jpg").rmdir()
    assert len(archive.redact(export=export).exported) == 3
    exported = [a for a, _ in _actions(archive) if a == Action.EXPORTED.value]
    assert len(exported) == 3
    assert archive.verify().ok
