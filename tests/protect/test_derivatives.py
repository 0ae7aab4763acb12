"""The redaction run: signed, content-addressed, metadata-free derivatives of photos and videos."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from skimage import data
from sqlalchemy import select
from tests.conftest import sample
from tests.protect.conftest import derivative_files

from temoin.archive import Archive
from temoin.catalog.models import CustodyEvent, Derivative
from temoin.keep.vault import hash_file
from temoin.protect.detector import Box
from temoin.protect.gate import metadata_problems
from temoin.protect.recall import COVERED_BELOW, similarity
from temoin.protect.scrub import assert_clean
from temoin.testing.photos import astronaut, make_photo


@pytest.fixture(autouse=True)
def every_derivative_is_clean(tmp_path: Path) -> Iterator[None]:
    """After each test, exiftool must find nothing identifying in any derivative it produced."""
    yield
    with derivative_files(tmp_path) as files:
        for stored, path in files:
            assert path is not None, f"{stored}: not the archive's own sealed file"
            assert assert_clean(path) == [], stored
            assert metadata_problems(path) == [], stored


def ingest(archive: Archive, *paths: Path) -> list[str]:
    archive.ingest(paths, source="phone")
    return [r["id"] for r in archive.list_items()]


def derivative(archive: Archive, item_id: str) -> tuple[Derivative, dict]:
    with archive.session() as session:
        row = session.get(Derivative, item_id)
        assert row is not None
        return row, json.loads(row.record)


def test_photo_derivative_is_covered_signed_and_content_addressed(
    archive: Archive, tmp_path: Path
) -> None:
    src = tmp_path / "in" / "portrait.png"
    src.parent.mkdir()
    astronaut().save(src)
    (item,) = ingest(archive, src)
    seen: list[tuple[int, int]] = []

    report = archive.redact(progress=lambda done, total: seen.append((done, total)))

    assert report.rendered == [item] and not report.failed and seen == [(1, 1)]
    row, record = derivative(archive, item)
    # stored under its hash (a keyed hash of it in an encrypted archive: it is published)
    name = archive.vault.name(row.sha256)
    assert row.path == f"derivatives/{name[:2]}/{name}.jpg"
    assert (name == row.sha256) != archive.ctx.encrypted
    path = archive.ctx.readable(row.path, row.sha256)
    assert hash_file(path)[0] == row.sha256 == record["sha256"]
    assert archive.ctx.sealer.hash_stored(archive.root / row.path)[0] == row.sha256
    assert record["original_sha256"] == item
    assert record["model_version"].startswith("centerface-onnx-sha256:")
    assert [o["op"] for o in record["operations"]][:2] == ["upright", "detect-faces"]
    faces = [d for d in record["detections"] if d["source"] == "detector"]
    assert len(faces) == 1 and faces[0]["anonymised"] and faces[0]["n"] == 1
    x, y, w, h = faces[0]["box"]
    box = (slice(round(y * 512), round((y + h) * 512)), slice(round(x * 512), round((x + w) * 512)))
    out = np.asarray(Image.open(path)).astype(int)
    assert np.abs(out[box] - data.astronaut()[box].astype(int)).mean() > 20
    with archive.session() as session:
        actions = list(session.scalars(select(CustodyEvent.action)))
    assert actions.count("redacted") == 1 and actions.count("key-created") == 1

    again = archive.redact()
    assert again.rendered == [] and again.unchanged == 1


def test_sideways_phone_photo_with_gps_comes_out_upright_and_bare(
    archive: Archive, tmp_path: Path
) -> None:
    upright = astronaut().crop((56, 0, 456, 512))  # 400 wide, 512 high
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as the sensor wrote it
    src = make_photo(
        tmp_path / "in" / "IMG_0042.jpg",
        image=stored,
        orientation=6,
        gps=(50.9600, 1.8500),
        serial="SN-123",
    )
    assert any("GPS" in p for p in assert_clean(src))
    (item,) = ingest(archive, src)

    archive.redact()

    row, record = derivative(archive, item)
    with Image.open(archive.ctx.readable(row.path, row.sha256)) as out:
        assert out.size == (400, 512)
        assert not out.getexif()
    face = next(d for d in record["detections"] if d["source"] == "detector")
    assert face["anonymised"] and face["box"][1] < 0.3  # found on upright pixels, at the top


def test_crowd_sample_every_face_covered(archive: Archive, tmp_path: Path) -> None:
    (item,) = ingest(archive, sample("deface_city_crowd.jpg"))
    archive.redact()
    _, record = derivative(archive, item)
    faces = [d for d in record["detections"] if d["source"] == "detector"]
    assert len(faces) >= 15 and all(d["anonymised"] for d in faces)


def astronaut_clip(path: Path, frames: int = 12) -> Path:
    """A short real clip of a face drifting across the frame, with a tone as its sound."""
    portrait = np.asarray(astronaut().resize((256, 256)))
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 320, 256, "yuv420p"
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "mono"
        for i in range(frames):
            canvas = np.full((256, 320, 3), 40, np.uint8)
            canvas[:, i * 4 : i * 4 + 256] = portrait
            out.mux(stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")))
        out.mux(stream.encode(None))
        samples = int(48000 * frames / 12)
        wave = (0.2 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 48000)).astype(np.float32)
        for start in range(0, samples, 1024):
            chunk = wave[start : start + 1024].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, start
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    return path


def test_video_sound_leaves_only_once_voices_are_accounted_for_or_muted(
    archive: Archive, tmp_path: Path
) -> None:
    (item,) = ingest(archive, astronaut_clip(tmp_path / "clip.mp4"))
    archive.redact(every=2)
    row, record = derivative(archive, item)
    assert "keep-audio" in [o["op"] for o in record["operations"]] and record["sound"]
    with av.open(str(archive.ctx.readable(row.path, row.sha256))) as container:
        assert len(container.streams.audio) == 1  # the reviewer can listen to it
    archive.approve(item)
    (reason,) = archive.gate(item).reasons
    assert reason.startswith("its sound is withheld")
    archive.set_voices_checked(item, True)  # listened: nobody speaks (a tone)
    assert archive.gate(item).ok

    archive.set_voices_checked(item, False)  # taken back: the sound is withheld again
    assert not archive.gate(item).ok
    archive.set_mute(item, True)
    row, record = derivative(archive, item)
    assert "drop-audio" in [o["op"] for o in record["operations"]] and not record["sound"]
    with av.open(str(archive.ctx.readable(row.path, row.sha256))) as container:
        assert not container.streams.audio
        assert container.streams.video[0].frames == 12
    assert not archive.gate(item).ok  # muting rendered it again: it needs a new approval
    archive.approve(item)
    assert archive.gate(item).ok  # muted: no voice to account for
    decisions = [e["detail"].get("decision") for e in archive.custody_log()]
    assert {"mute", "voices-checked", "voices-unchecked"} <= set(decisions)


def test_video_every_frame_covered_and_manual_box_timed(archive: Archive, tmp_path: Path) -> None:
    src = astronaut_clip(tmp_path / "clip.mp4")
    (item,) = ingest(archive, src)
    archive.redact(every=2)
    row, record = derivative(archive, item)
    found = record["detections"]
    assert found["frames"] == 12 and found["kept"] == 0 and found["frames_with_faces"] == 12
    with av.open(str(archive.ctx.readable(row.path, row.sha256))) as container:
        assert container.streams.video[0].frames == 12

    corner = Box.from_normalised((0.0, 0.8, 0.25, 0.2), 320, 256)
    archive.add_box(item, (0.0, 0.8, 0.25, 0.2), 0.5, 0.75)  # frames 6-9 at 12 fps
    row, record = derivative(archive, item)
    assert record["operations"][3]["manual_boxes"] == 1
    with av.open(str(src)) as a, av.open(str(archive.ctx.readable(row.path, row.sha256))) as b:
        pairs = zip(a.decode(video=0), b.decode(video=0), strict=True)
        changed = [
            i
            for i, (x, y) in enumerate(pairs)
            if not similarity(x.to_ndarray(format="rgb24"), y.to_ndarray(format="rgb24"), corner)
            >= COVERED_BELOW
        ]
    assert changed == [6, 7, 8, 9]  # judged from the pixels: covered in its time span only


def test_shared_walking_clip_all_faces_covered(archive: Archive) -> None:
    (item,) = ingest(archive, sample("intel_walking_and_pause.mp4"))
    archive.redact()
    _, record = derivative(archive, item)
    assert record["detections"]["frames"] == 41
    assert record["detections"]["faces_max"] >= 3 and record["detections"]["kept"] == 0
