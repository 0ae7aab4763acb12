"""Recording a worker's result: once per request, and never after the decisions changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from temoin.archive import Archive
from temoin.catalog.models import CustodyEvent
from temoin.events import Action
from temoin.protect.derivatives import record, request_for
from temoin.protect.render import Request, render
from temoin.testing.photos import astronaut


def _redacted(archive: Archive) -> int:
    with archive.session() as session:
        query = select(func.count()).where(CustodyEvent.action == str(Action.REDACTED))
        return session.scalar(query.select_from(CustodyEvent)) or 0


def _photo(archive: Archive, tmp_path: Path) -> str:
    (tmp_path / "card").mkdir()
    astronaut().convert("RGB").save(tmp_path / "card" / "face.jpg")
    report = archive.ingest([tmp_path / "card" / "face.jpg"], source="phone")
    (item,) = report.stored_ids
    return str(item)


def test_the_same_result_handed_back_twice_is_recorded_once(
    archive: Archive, tmp_path: Path
) -> None:
    item = _photo(archive, tmp_path)
    ctx = archive.ctx
    with ctx.session() as session:
        request = request_for(session, ctx, item, threads=1)
    request = Request.from_json(request.as_json())  # as a worker receives it
    first, again = tmp_path / "first.jpg", tmp_path / "again.jpg"
    rendered = render(request, ctx.root, first)
    shutil.copyfile(first, again)  # a retried worker's copy of the same rendering

    assert record(ctx, request, first, rendered, once=True) is not None
    assert record(ctx, request, again, rendered, once=True) is None
    assert _redacted(archive) == 1
    assert archive.verify().ok


def test_a_result_for_decisions_since_changed_is_dropped(archive: Archive, tmp_path: Path) -> None:
    item = _photo(archive, tmp_path)
    ctx = archive.ctx
    with ctx.session() as session:
        request = request_for(session, ctx, item, threads=1)
    rendered = render(request, ctx.root, tmp_path / "late.jpg")
    archive.add_box(item, (0.05, 0.05, 0.1, 0.1), None, None)  # a reviewer covers one more area
    before = _redacted(archive)

    assert record(ctx, request, tmp_path / "late.jpg", rendered, once=True) is None
    assert _redacted(archive) == before


@pytest.mark.parametrize("given", ["../../vault/ab/cd/original", "/etc/passwd", "link.mp4", ""])
def test_a_result_naming_anything_but_its_own_plain_file_is_refused(
    tmp_path: Path, given: str
) -> None:
    """The coordinator moves the result's file into the archive and signs it: a worker must not
    be able to make it take an original, a file elsewhere, or a link."""
    from temoin.work import results

    folder = tmp_path / results.RESULTS / "item-fingerprint-fast"
    folder.mkdir(parents=True)
    outside = tmp_path / "vault" / "ab" / "cd" / "original"
    outside.parent.mkdir(parents=True)
    outside.write_bytes(b"an original")
    (folder / "link.mp4").symlink_to(outside)
    body = {"ok": True, "file": given, "rendered": {}}
    (folder / results.RESULT).write_text(json.dumps(body), "utf-8")
    found = results.take(tmp_path, "item-fingerprint-fast")
    assert found is not None and found.file is None and "plain file" in found.reason
    assert outside.read_bytes() == b"an original"


def test_results_nobody_took_are_swept_after_an_hour_and_fresh_ones_kept(tmp_path: Path) -> None:
    import os
    import time

    from temoin.work import results

    folder = tmp_path / results.RESULTS
    for name in ("left", "fresh", ".half-written.1234"):
        (folder / name).mkdir(parents=True)
        (folder / name / "derivative.jpg").write_bytes(b"a face nobody may see any more")
    hour_ago = time.time() - results.STALE_AFTER - 60
    for name in ("left", ".half-written.1234"):
        os.utime(folder / name, (hour_ago, hour_ago))
    assert sorted(results.sweep(tmp_path)) == [".half-written.1234", "left"]
    assert [p.name for p in folder.iterdir()] == ["fresh"]
