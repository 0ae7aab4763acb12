"""Review decisions and the gate: default deny, consent keeps faces clear, withdrawal re-covers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data
from sqlalchemy import delete
from tests.conftest import sample
from tests.protect.conftest import derivative_files

from temoin.archive import Archive
from temoin.catalog.models import Derivative, FaceLink, Person
from temoin.errors import NotFound, UsageError
from temoin.protect import gate
from temoin.protect.gate import metadata_problems
from temoin.protect.review import NotRedacted
from temoin.protect.scrub import assert_clean
from temoin.testing.media import make_audio

W, H = 640, 320


@pytest.fixture(autouse=True)
def every_derivative_is_clean(tmp_path: Path) -> Iterator[None]:
    yield
    with derivative_files(tmp_path) as files:
        for stored, path in files:
            assert path is not None, f"{stored}: not the archive's own sealed file"
            assert assert_clean(path) == [], stored
            assert metadata_problems(path) == [], stored
    for path in tmp_path.rglob("export/*.jpg"):  # exports are in clear
        assert assert_clean(path) == [], path
        assert metadata_problems(path) == [], path


def two_faces() -> np.ndarray:
    """Two real faces side by side (the astronaut and her mirror image), 640x320."""
    both = np.concatenate([data.astronaut(), data.astronaut()[:, ::-1]], axis=1)
    return np.asarray(Image.fromarray(both).resize((W, H), Image.Resampling.LANCZOS))


@pytest.fixture
def photo(archive: Archive, tmp_path: Path) -> str:
    src = tmp_path / "in" / "two.png"
    src.parent.mkdir()
    Image.fromarray(two_faces()).save(src)
    archive.ingest([src], source="phone")
    archive.add_person("Moussa", consent="yes", scope=["face", "name"], how="asked on camera")
    archive.add_person("Man with the football", consent="no")
    archive.redact()
    return archive.list_items()[0]["id"]


def faces(archive: Archive, item: str) -> list[dict]:
    return [d for d in archive.review_item(item)["detections"] if d["source"] == "detector"]


def pixels(archive: Archive, item: str) -> np.ndarray:
    with archive.session() as session:
        row = session.get(Derivative, item)
        assert row is not None
        return np.asarray(Image.open(archive.ctx.readable(row.path, row.sha256))).astype(int)


def diff(out: np.ndarray, box: list[float]) -> float:
    x, y, w, h = box
    region = (slice(round(y * H), round((y + h) * H)), slice(round(x * W), round((x + w) * W)))
    return float(np.abs(out[region] - two_faces()[region].astype(int)).mean())


def test_default_deny_until_a_person_approves(archive: Archive, photo: str) -> None:
    assert [r["id"] for r in archive.review_queue()] == [photo]
    verdict = archive.gate(photo)
    assert not verdict.ok and verdict.reasons == ["not approved by a person yet"]
    assert archive.publishable() == []
    assert len(faces(archive, photo)) == 2
    assert all(d["anonymised"] for d in faces(archive, photo))

    archive.approve(photo)
    assert archive.gate(photo).ok and archive.publishable() == [photo]
    assert archive.review_queue() == []
    with archive.session() as session:  # the same answer from a bare session
        assert gate.check(session, photo).ok


def test_link_to_consenting_person_keeps_only_that_face_clear(archive: Archive, photo: str) -> None:
    left, right = sorted(faces(archive, photo), key=lambda d: d["box"][0])
    archive.link_face(photo, left["n"], "Moussa")

    out = pixels(archive, photo)
    assert diff(out, left["box"]) < 6  # only JPEG noise: Moussa's face is untouched
    assert diff(out, right["box"]) > 20  # the other face stays covered
    record = archive.review_item(photo)
    assert record["status"] == "pending" and record["links"][0]["face_visible"]
    archive.approve(photo)
    assert archive.gate(photo).ok


def test_link_to_person_without_consent_stays_covered(archive: Archive, photo: str) -> None:
    face = faces(archive, photo)[0]
    archive.link_face(photo, face["n"], "Man with the football")
    assert diff(pixels(archive, photo), face["box"]) > 20
    assert len(faces(archive, photo)) == 2
    assert all(d["anonymised"] for d in faces(archive, photo))
    with pytest.raises(NotFound):
        archive.link_face(photo, face["n"], "Nobody registered")
    with pytest.raises(UsageError):
        archive.link_face(photo, 99, "Moussa")


def test_withdrawal_covers_again_and_needs_review(archive: Archive, photo: str) -> None:
    face = faces(archive, photo)[0]
    archive.link_face(photo, face["n"], "Moussa")
    archive.approve(photo)
    assert archive.gate(photo).ok

    result = archive.withdraw_person("Moussa")

    assert result["rerendered"] == [photo]
    assert diff(pixels(archive, photo), face["box"]) > 20
    assert [r["id"] for r in archive.review_queue()] == [photo]
    assert archive.gate(photo).reasons == ["not approved by a person yet"]
    assert len(list((archive.root / "derivatives").glob("*/*"))) == 1  # the clear one is gone


def test_visible_face_without_current_consent_is_refused(archive: Archive, photo: str) -> None:
    face = faces(archive, photo)[0]
    archive.link_face(photo, face["n"], "Moussa")
    archive.approve(photo)
    with archive.session() as session:  # as if the register were changed behind temoin's back
        session.execute(delete(FaceLink))
        session.commit()
    reasons = archive.gate(photo).reasons
    assert "the derivative is older than the latest decision or consent change" in reasons
    assert f"face {face['n']} is visible and not linked to anyone" in reasons


def test_add_box_covers_a_missed_region(archive: Archive, photo: str) -> None:
    badge = [0.02, 0.85, 0.2, 0.14]  # a region the detector has no reason to cover
    before = pixels(archive, photo)
    archive.add_box(photo, tuple(badge))
    after = pixels(archive, photo)
    assert diff(before, badge) < 6 and diff(after, badge) > 5
    manual = [d for d in archive.review_item(photo)["detections"] if d["source"] == "manual"]
    assert manual and manual[0]["anonymised"]
    with pytest.raises(UsageError):
        archive.add_box(photo, (0.1, 0.1, 0.1, 0.1), 1.0, 2.0)  # times on a photo


def test_stale_derivative_cannot_be_approved_and_export_follows_the_gate(
    archive: Archive, photo: str, tmp_path: Path
) -> None:
    archive.link_face(photo, 1, "Moussa")
    archive.approve(photo)
    report = archive.redact(export=tmp_path / "export")
    assert report.exported == [f"{photo[:16]}.jpg"]
    lines = (tmp_path / "export" / "provenance.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["record"]["item"] == photo
    assert (tmp_path / "export" / "archive.ed25519.pub").read_bytes().startswith(b"-----BEGIN")

    with archive.session() as session:  # consent changed without a re-render: derivative stale
        session.query(Person).filter_by(name="Moussa").update({"consent": "no", "scope": []})
        session.commit()
    with pytest.raises(NotRedacted):
        archive.approve(photo)
    assert not archive.gate(photo).ok
    archive.redact(export=tmp_path / "export")
    assert not (tmp_path / "export" / f"{photo[:16]}.jpg").exists()  # no longer publishable


def test_text_needs_approval_audio_needs_its_voices(archive: Archive, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "note.txt").write_text("07:40 police arrive, 60 people\n", "utf-8")
    make_audio(tmp_path / "in" / "voice.m4a")
    archive.ingest([tmp_path / "in"], source="phone")
    items = {r["kind"]: r["id"] for r in archive.list_items()}
    assert not archive.gate(items["text"]).ok
    archive.approve(items["text"])
    assert archive.gate(items["text"]).ok
    with pytest.raises(NotRedacted):
        archive.approve(items["audio"])  # a voice note is approved as its bare derivative
    archive.redact()
    archive.approve(items["audio"])
    assert archive.gate(items["audio"]).reasons[0].startswith("the voice note is withheld")
    archive.withhold(items["text"], "names a volunteer's position")
    assert archive.gate(items["text"]).reasons == ["withheld: names a volunteer's position"]


def test_two_person_sample_both_covered_by_default(archive: Archive) -> None:
    archive.ingest([sample("intel_headpose_pair.png")], source="cctv")
    archive.redact()
    (record,) = archive.review_queue()
    found = [d for d in record["detections"] if d["source"] == "detector"]
    assert len(found) >= 2 and all(d["anonymised"] for d in found)


def test_gate_reads_phone_metadata_itself(tmp_path: Path) -> None:
    """The gate's own byte-level check (no exiftool) sees what phones write."""
    from datetime import UTC, datetime

    from temoin.testing.media import make_video
    from temoin.testing.photos import make_photo

    jpeg = make_photo(tmp_path / "a.jpg", gps=(50.96, 1.85), orientation=6)
    assert any("APP1" in p for p in metadata_problems(jpeg))
    clip = make_video(
        tmp_path / "b.mov",
        seconds=0.2,
        apple_tags=True,
        creation_time=datetime(2024, 10, 24, 7, 40, tzinfo=UTC),
        location="+50.9600+001.8500/",
    )
    problems = metadata_problems(clip)
    assert "non-zero creation date" in problems and "location (loci box)" in problems
