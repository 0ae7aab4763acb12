"""verify replays the custody log into the state it records: each row edited straight in the
database is named, one line each, and the gate refuses what such an edit would let out.

One archive is made once with the real code paths (ingest of photos with faces, a chat export, a
diary and a refused file; consent; redaction; face links, a box, approvals and a withholding; a
clock correction, a tag, a caption, a web account; a published site) and copied for each test,
which then forges one thing with raw SQL, as someone holding the SQLite file could.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from temoin.archive import Archive
from temoin.serve.users import add_user
from temoin.testing.catalogs import raw_catalog
from temoin.testing.chats import make_whatsapp_export
from temoin.testing.diaries import ENGLISH_DIARY
from temoin.testing.photos import make_photo


def _two_faces() -> Image.Image:
    both = np.concatenate([data.astronaut(), data.astronaut()[:, ::-1]], axis=1)
    return Image.fromarray(both).resize((640, 320), Image.Resampling.LANCZOS)


@pytest.fixture(scope="module")
def witnessed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("witnessed")
    material = base / "material"
    day = datetime(2016, 10, 24)
    make_photo(material / "IMG_0805.jpg", image=_two_faces(), taken=day.replace(hour=8, minute=5))
    make_photo(material / "IMG_1431.jpg", seed=3, taken=day.replace(hour=14, minute=31))
    make_photo(material / "IMG_0930.jpg", seed=7, taken=day.replace(hour=9, minute=30))
    make_whatsapp_export(material / "chat.zip")
    (material / "diary.txt").write_text(ENGLISH_DIARY, encoding="utf-8")
    (material / "empty.jpg").write_bytes(b"")
    archive = Archive.create(base / "archive", name="replay", timezone="Europe/Paris")
    try:
        archive.ingest([material], source="phone")
        archive.add_person("Moussa", consent="yes", scope=["face", "name"], how="asked on camera")
        archive.add_person("Man with the football", consent="no", how="said no")
        archive.redact()
        by_name = _ids(archive)
        faces = [
            d for d in archive.review_item(by_name["IMG_0805.jpg"])["detections"]
            if d["source"] == "detector"
        ]  # fmt: skip
        archive.link_face(by_name["IMG_0805.jpg"], faces[0]["n"], "Moussa")
        archive.link_face(by_name["IMG_0805.jpg"], faces[1]["n"], "Man with the football")
        archive.add_box(by_name["IMG_1431.jpg"], (0.1, 0.1, 0.2, 0.2))
        for name in ("IMG_0805.jpg", "IMG_1431.jpg", "diary.txt"):
            archive.approve(by_name[name])
        archive.withhold(by_name["IMG_0930.jpg"], "shows a child")
        archive.set_clock("phone", 120, reason="two minutes slow")
        archive.tag(by_name["IMG_1431.jpg"], ["buses"])
        archive.caption(by_name["IMG_1431.jpg"], "Buses on the rue des Garennes")
        add_user(archive, "witness", "witness", "a long enough password", by="setup")
        archive.publish_site(base / "site")
        assert archive.publishable()
    finally:
        archive.close()
    return base


@pytest.fixture
def copy(witnessed: Path, tmp_path: Path) -> Iterator[Archive]:
    shutil.copytree(witnessed / "archive", tmp_path / "archive")
    archive = Archive.open(tmp_path / "archive")
    yield archive
    archive.close()


def _ids(archive: Archive) -> dict[str, str]:
    return {i["name"]: i["id"] for i in archive.list_items() if i["kind"] != "message"}


def forge(archive: Archive, sql: str, *params: object) -> None:
    """Edit the catalog as someone holding the file would: plain sqlite3, no temoin code."""
    connection = raw_catalog(archive)
    try:
        connection.execute(sql, params)
        connection.commit()
    finally:
        connection.close()


def lines(archive: Archive) -> list[str]:
    return [f.line() for f in archive.verify().faults]


def _one(rows: list[str], start: str) -> str:
    found = [r for r in rows if r.startswith(start)]
    assert found, f"nothing starts with {start!r} in {rows}"
    return found[0]


def _person(archive: Archive, name: str) -> int:
    return next(p["id"] for p in archive.people() if p["name"] == name)


def test_a_clean_archive_replays_to_ok(copy: Archive, cli) -> None:
    report = copy.verify()
    assert report.ok, [f.line() for f in report.faults]
    assert report.unchecked == []
    assert cli("-A", str(copy.root), "verify").code == 0


def test_consent_made_yes_is_named_and_the_gate_refuses(copy: Archive) -> None:
    photo = _ids(copy)["IMG_0805.jpg"]
    assert copy.gate(photo).ok
    who = _person(copy, "Man with the football")
    forge(copy, "UPDATE people SET consent='yes', scope='[\"face\"]' WHERE id=?", who)
    rows = lines(copy)
    assert f"changed: consent of person #{who}: the catalog says yes, the log says no" in rows
    assert _one(rows, f"changed: consent scope of person #{who}")
    verdict = copy.gate(photo)
    assert not verdict.ok
    assert any(f"consent of person #{who}" in r for r in verdict.reasons)
    assert photo not in copy.publishable()


def test_forged_review_decision_is_named_and_the_gate_refuses(copy: Archive) -> None:
    withheld = _ids(copy)["IMG_0930.jpg"]
    with copy.session() as session:
        from temoin.catalog.models import Derivative

        row = session.get(Derivative, withheld)
        assert row is not None
        sha = row.sha256
    forge(
        copy,
        "UPDATE reviews SET status='approved', reason=NULL, derivative_sha256=? WHERE item_id=?",
        sha,
        withheld,
    )
    rows = lines(copy)
    assert (
        f"changed: review decision of item {withheld}: the catalog says approved, "
        "the log says withheld" in rows
    )
    assert _one(rows, f"changed: withhold reason of item {withheld}")
    assert not copy.gate(withheld).ok
    assert withheld not in copy.publishable()


def test_witness_promoted_to_admin_is_named(copy: Archive) -> None:
    forge(copy, "UPDATE users SET role='admin' WHERE name='witness'")
    assert lines(copy) == [
        "changed: role of account 'witness': the catalog says admin, the log says witness"
    ]


def test_edited_capture_times_are_named(copy: Archive) -> None:
    photo = _ids(copy)["IMG_1431.jpg"]
    forge(copy, "UPDATE items SET time_utc='2016-10-24 03:00:00.000000' WHERE id=?", photo)
    assert _one(
        lines(copy), f"changed: capture time of item {photo}: the catalog says 2016-10-24T03"
    )
    other = _ids(copy)["IMG_0930.jpg"]
    forge(copy, "UPDATE items SET captured_raw='2016-10-23T09:30:00' WHERE id=?", other)
    assert _one(
        lines(copy),
        f"changed: stated capture time of item {other}: the catalog says 2016-10-23T09:30:00",
    )


def _chat(archive: Archive) -> str:
    return next(i["id"] for i in archive.list_items() if i["kind"] == "chat")


def test_edited_chat_message_is_named(copy: Archive) -> None:
    chat = _chat(copy)
    forge(copy, "UPDATE items SET text='nothing happened' WHERE parent_id=? AND seq=1", chat)
    assert _one(lines(copy), f"changed: messages of chat {chat}: their text")


def test_deleted_chat_message_is_named(copy: Archive) -> None:
    chat = _chat(copy)
    forge(copy, "DELETE FROM items WHERE parent_id=? AND seq=2", chat)
    assert f"missing: message #2 of chat {chat}: the log records it, the catalog lost it" in lines(
        copy
    )


def test_deleted_item_row_is_named(copy: Archive) -> None:
    diary = _ids(copy)["diary.txt"]
    forge(copy, "DELETE FROM items WHERE id=?", diary)
    assert f"missing: item {diary}: the log records its ingest, the catalog lost it" in lines(copy)


def test_edited_sighting_is_named(copy: Archive) -> None:
    photo = _ids(copy)["IMG_1431.jpg"]
    forge(
        copy, "UPDATE sightings SET mtime='2001-01-01 00:00:00.000000' WHERE blob_sha256=?", photo
    )
    assert _one(lines(copy), f"changed: file time of the sighting of original {photo}")
    forge(copy, "UPDATE sightings SET path='elsewhere/IMG_1431.jpg' WHERE blob_sha256=?", photo)
    rows = lines(copy)
    assert _one(rows, f"untracked: sighting of original {photo} at elsewhere/IMG_1431.jpg")
    assert _one(rows, f"missing: sighting of original {photo} at ")


def test_deleted_reject_is_named(copy: Archive) -> None:
    forge(copy, "DELETE FROM rejects")
    assert _one(lines(copy), "missing: reject of ").endswith(
        "the log records it, the catalog lost it"
    )


def test_deleted_derivative_row_and_file_are_named(copy: Archive) -> None:
    photo = _ids(copy)["IMG_1431.jpg"]
    with copy.session() as session:
        from temoin.catalog.models import Derivative

        row = session.get(Derivative, photo)
        assert row is not None
        path, sha = copy.root / row.path, row.sha256
    forge(copy, "DELETE FROM derivatives WHERE item_id=?", photo)
    path.unlink()
    assert (
        f"missing: derivative of item {photo}: the log records its rendering {sha}, "
        "the catalog lost it" in lines(copy)
    )


def test_hidden_files_under_derivatives_are_named(copy: Archive) -> None:
    folder = copy.root / "derivatives"
    (folder / ".hidden.jpg").write_bytes(b"\xff\xd8planted")
    (folder / ".tmp").mkdir(exist_ok=True)
    (folder / ".tmp" / "face.jpg").write_bytes(b"\xff\xd8planted")
    rows = lines(copy)
    assert _one(rows, "untracked: derivatives/.hidden.jpg: ")
    assert _one(rows, "untracked: derivatives/.tmp/face.jpg: ")


def test_removed_links_and_boxes_are_named(copy: Archive) -> None:
    ids = _ids(copy)
    moussa = _person(copy, "Moussa")
    forge(copy, "DELETE FROM face_links WHERE person_id=?", moussa)
    forge(copy, "DELETE FROM redact_boxes")
    rows = lines(copy)
    assert _one(rows, f"missing: face link of item {ids['IMG_0805.jpg']} to person #{moussa}")
    assert _one(rows, f"missing: added box on item {ids['IMG_1431.jpg']}")
    assert not copy.gate(ids["IMG_1431.jpg"]).ok


def test_edited_clock_tag_and_caption_are_named(copy: Archive) -> None:
    photo = _ids(copy)["IMG_1431.jpg"]
    forge(copy, "UPDATE clock_offsets SET offset_seconds=0")
    forge(copy, "DELETE FROM tags")
    forge(copy, "UPDATE captions SET text='Nothing to see'")
    rows = lines(copy)
    assert (
        "changed: clock correction #1 (phone): the catalog says phone +0 s, "
        "the log says phone +120 s" in rows
    )
    assert f"missing: tag 'buses' of item {photo}: the log records it, the catalog lost it" in rows
    assert _one(rows, f"changed: caption of item {photo}: the catalog says 'Nothing to see'")


def test_non_ingest_events_cut_off_with_the_head_rewritten(copy: Archive) -> None:
    with copy.session() as session:
        from sqlalchemy import func, select

        from temoin.catalog.models import CustodyEvent

        before = session.scalar(select(func.max(CustodyEvent.seq)))
        head = session.scalar(select(CustodyEvent.hash).where(CustodyEvent.seq == before))
    moussa = _person(copy, "Moussa")
    copy.withdraw_person("Moussa")
    forge(copy, "DELETE FROM custody WHERE seq > ?", before)
    text = json.dumps({"hash": head, "seq": before}) + "\n"
    copy.ctx.sealer.write_bytes(copy.root / "custody.head", text.encode(), 0o644)
    rows = lines(copy)
    assert (
        f"changed: consent of person #{moussa}: the catalog says withdrawn, the log says yes"
        in rows
    )
    assert not any(r.startswith("chain-broken") for r in rows)
