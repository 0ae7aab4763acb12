"""Consent on video per face track, and on sound per voice, from the command line."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from skimage import data
from tests.conftest import Result
from tests.protect.conftest import derivative_bytes, derivative_files

from temoin.archive import Archive
from temoin.protect.gate import metadata_problems
from temoin.protect.recall import is_covered
from temoin.protect.scrub import assert_clean
from temoin.protect.tracks import Margins, Track, boxes_at
from temoin.testing.footage import Key, Shot, write_clip
from temoin.testing.media import make_audio


@pytest.fixture(autouse=True)
def every_derivative_is_clean(tmp_path: Path) -> Iterator[None]:
    """exiftool, and the gate's own reader, find nothing identifying in any derivative."""
    yield
    with derivative_files(tmp_path) as files:
        for stored, path in files:
            assert path is not None, f"{stored}: not the archive's own sealed file"
            assert assert_clean(path) == [], stored
            assert metadata_problems(path) == [], stored


@pytest.fixture
def archive_cli(tmp_path: Path, cli: Callable[..., Result]) -> Callable[..., Result]:
    folder = str(tmp_path / "archive")
    assert cli("init", folder, "--timezone", "Europe/Paris").code == 0

    def run(*args: str) -> Result:
        return cli("-A", folder, *args)

    return run


def two_faces_clip(path: Path) -> Path:
    """Two people side by side (the astronaut and her mirror image), the camera drifting."""
    both = np.concatenate([data.astronaut(), data.astronaut()[:, ::-1]], axis=1)
    shot = Shot(both, 1.0, [Key(0, 512, 256, 512), Key(1.0, 530, 256, 480)])
    return write_clip(path, [shot], size=(640, 320), fps=12)


def frames(path: Path | io.BytesIO) -> list[np.ndarray]:
    with av.open(path if isinstance(path, io.BytesIO) else str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def track_visible(archive: Path, item: dict, original: Path, number: int) -> list[bool]:
    """For each frame the track reaches: is its face still there, judged from the pixels?"""
    found = item["detections"]
    width, height = found["width"], found["height"]
    (record,) = [t for t in found["tracks"] if t["n"] == number]
    track = Track.from_record(record, width, height)
    margins = Margins(**found["margins"])
    source, shown = frames(original), frames(derivative_bytes(archive, item["derivative"]["path"]))
    seen = []
    for index in range(track.first, track.last + 1):
        (placed,) = [b for b, _, n in boxes_at([track], found["cuts"], margins, index) if n]
        seen.append(not is_covered(source[index], shown[index], placed))
    return seen


def test_a_linked_track_of_a_consenting_person_stays_visible_until_withdrawal(
    tmp_path: Path, archive_cli: Callable[..., Result]
) -> None:
    src = two_faces_clip(tmp_path / "in" / "VID_20161024_101500.mp4")
    assert archive_cli("ingest", str(src.parent), "--source", "phone").code == 0
    archive_cli("people", "add", "Moussa", "--consent", "yes", "--scope", "face,voice")
    archive_cli("people", "add", "Man with the football", "--consent", "no")
    assert archive_cli("redact", "--every", "4").code == 0
    (queued,) = archive_cli("review", "--json").json()
    seen = queued["derivative"]["sha256"]
    item = queued["id"][:12]
    tracks = queued["detections"]["tracks"]
    assert len(tracks) == 2 and not any(t["visible"] for t in tracks)
    shown = archive_cli("review", item)
    assert "track 1:" in shown.out and "track 2:" in shown.out and "covered" in shown.out
    left = min(tracks, key=lambda t: t["hits"][0][1])["n"]
    right = ({1, 2} - {left}).pop()

    linked = archive_cli(
        "review", item, "--link-track", str(left), "Moussa", "--expect", seen[:12], "--json"
    ).json()
    assert linked["detections"]["every"] == 4  # the decision kept the item's own analysis
    tracks = {t["n"]: t for t in linked["detections"]["tracks"]}
    assert tracks[left]["visible"] and tracks[left]["person"] is not None
    assert not tracks[right]["visible"]
    operations = json.loads(_record(tmp_path, linked))["operations"]
    detect = next(o for o in operations if o["op"] == "detect-faces")
    assert detect["replayed"] and detect["recall"] == "fast"  # same tracks, same numbers
    archive = tmp_path / "archive"
    assert all(track_visible(archive, linked, src, left))
    assert not any(track_visible(archive, linked, src, right))

    stale = archive_cli("review", item, "--link-track", str(right), "Moussa", "--expect", seen)
    assert stale.code == 2 and "rendered again since you looked" in stale.err
    refused = archive_cli("review", item, "--link-track", str(right), "Man with the football")
    assert refused.code == 0
    again = archive_cli("review", item, "--json").json()
    assert not any(track_visible(archive, again, src, right))  # linked, but he said no

    now = archive_cli("review", item, "--json").json()["derivative"]["sha256"]
    assert archive_cli("review", item, "--approve", "--expect", seen).code == 2
    assert archive_cli("review", item, "--approve", "--expect", now).code == 0
    assert archive_cli("review", item, "--json").json()["gate"] == []  # no sound, faces accounted
    audit = archive_cli("audit", "--json")
    assert audit.code == 0, audit.out  # Moussa's face is seen, and accounted for by the link

    withdrawn = archive_cli("people", "withdraw", "Moussa")
    assert withdrawn.code == 0 and "rendered again" in withdrawn.out
    after = archive_cli("review", item, "--json").json()
    assert after["status"] == "pending"
    assert not any(track_visible(archive, after, src, left))
    assert archive_cli("verify").code == 0


def test_a_track_link_means_nothing_on_another_analysis(
    tmp_path: Path, archive_cli: Callable[..., Result]
) -> None:
    src = two_faces_clip(tmp_path / "in" / "VID_1.mp4")
    archive_cli("ingest", str(src.parent), "--source", "phone")
    archive_cli("people", "add", "Moussa", "--consent", "yes", "--scope", "face")
    archive_cli("redact")
    (queued,) = archive_cli("review", "--json").json()
    item = queued["id"][:12]
    archive_cli("review", item, "--link-track", "1", "Moussa")
    assert archive_cli("redact", "--recall", "thorough").out.startswith("1 rendered")
    after = archive_cli("review", item, "--json").json()
    assert after["detections"]["recall"] == "thorough"
    assert not any(t["visible"] for t in after["detections"]["tracks"])  # covered again
    assert after["links"][0]["applies"] is False
    assert "link again" in archive_cli("review", item).out
    assert archive_cli("redact").out.startswith("0 rendered")  # fast never lowers it
    unknown = archive_cli("review", item, "--link-track", "9", "Moussa")
    assert unknown.code == 2 and "no face track 9" in unknown.err


def test_a_voice_note_leaves_only_when_every_voice_heard_consents(
    tmp_path: Path, archive_cli: Callable[..., Result]
) -> None:
    note = make_audio(
        tmp_path / "in" / "PTT-20161024-WA0001.m4a",
        seconds=1.5,
        tags={"creation_time": "2016-10-24T07:40:00Z", "encoder": "WhatsApp", "title": "Amina"},
    )
    make_audio(tmp_path / "in" / "note2.opus", seconds=1.0)
    archive_cli("ingest", str(note.parent), "--source", "phone")
    archive_cli("people", "add", "Amina", "--consent", "yes", "--scope", "voice")
    archive_cli("people", "add", "Jules", "--consent", "yes", "--scope", "face")
    assert "2 rendered" in archive_cli("redact").out
    queued = {r["name"]: r for r in archive_cli("review", "--json").json()}
    item = queued["PTT-20161024-WA0001.m4a"]["id"][:12]
    path = queued["PTT-20161024-WA0001.m4a"]["derivative"]["path"]
    assert path.endswith(".m4a")
    with av.open(derivative_bytes(tmp_path / "archive", path)) as container:
        assert container.streams.audio and not container.streams.video
        assert not container.metadata.get("title") and not container.metadata.get("encoder")
    opus = queued["note2.opus"]["derivative"]["path"]
    with av.open(derivative_bytes(tmp_path / "archive", opus)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"  # re-encoded for the web

    archive_cli("review", item, "--approve")
    gate = archive_cli("review", item, "--json").json()["gate"]
    assert gate and "withheld until a reviewer has linked every voice" in gate[0]
    archive_cli("review", item, "--link-voice", "Jules")
    archive_cli("review", item, "--voices-checked")
    gate = archive_cli("review", item, "--json").json()["gate"]
    assert gate and "does not cover their voice" in gate[0]
    archive_cli("review", item, "--unlink-voice", "Jules")
    gate = archive_cli("review", item, "--json").json()["gate"]
    assert gate and "withheld until" in gate[0]  # a voice heard is no longer accounted for
    archive_cli("review", item, "--link-voice", "Amina")
    archive_cli("review", item, "--voices-checked")
    shown = archive_cli("review", item)
    assert "voices: checked; linked: Amina (consents)" in shown.out
    assert archive_cli("review", item, "--json").json()["gate"] == []

    archive_cli("story", "new", "Calais", "--from", "2016-10-24T00:00", "--to", "2016-10-24T23:59")
    site = tmp_path / "site"
    assert archive_cli("publish", "site", str(site)).code == 0
    pages = "".join(p.read_text() for p in site.rglob("*.html"))
    assert "<audio controls" in pages
    assert len(list((site / "media").glob("*.m4a"))) == 1  # the other note was not approved

    archive_cli("people", "withdraw", "Amina")
    assert archive_cli("review", item, "--json").json()["gate"]  # her voice may no longer leave
    events = [json.loads(line) for line in archive_cli("log", "--json").out.splitlines()]
    decisions = [e["detail"].get("decision") for e in events]
    assert {"link-voice", "unlink-voice", "voices-checked"} <= set(decisions)
    assert all("Amina" not in json.dumps(e["detail"]) for e in events)  # person numbers only


def _record(tmp_path: Path, item: dict) -> str:
    from sqlalchemy import text as sql

    archive = Archive.open(tmp_path / "archive")
    try:
        with archive.session() as session:
            (text,) = session.execute(
                sql("select record from derivatives where item_id = :id"), {"id": item["id"]}
            ).one()
    finally:
        archive.close()
    return str(text)
