"""Ingest of real photos, folders and zips: stored once, sightings kept, sources untouched."""

from __future__ import annotations

import hashlib
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from temoin.archive import Archive
from temoin.catalog.models import Item, Sighting
from temoin.testing.photos import make_photo
from temoin.testing.trees import tree_state


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".heic"])
def test_photo_formats_keep_capture_time_gps_and_device(
    archive: Archive, tmp_path: Path, suffix: str
) -> None:
    photo = make_photo(
        tmp_path / f"dump/photo{suffix}",
        taken=datetime(2016, 10, 24, 7, 2, 12),
        offset="+02:00",
        gps=(50.9581, 1.8515),
        make="Fairphone",
        model="FP2",
        orientation=1,
    )
    report = archive.ingest([photo], source="Amina's phone")
    assert report.stored == 1 and not report.rejected
    [item] = archive.list_items(kind="photo")
    assert item["time_utc"] == "2016-10-24T05:02:12Z"
    assert item["time"] == "2016-10-24T07:02:12+02:00"
    assert item["capture_source"] == "exif:DateTimeOriginal"
    assert item["meta"]["gps"]["lat"] == pytest.approx(50.9581, abs=1e-4)
    assert item["meta"]["gps"]["lon"] == pytest.approx(1.8515, abs=1e-4)
    assert (item["meta"]["make"], item["meta"]["model"]) == ("Fairphone", "FP2")
    assert item["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()


def test_naive_exif_time_is_read_in_the_archive_zone(archive: Archive, tmp_path: Path) -> None:
    make_photo(tmp_path / "a.jpg", taken=datetime(2016, 10, 24, 14, 30))
    archive.ingest([tmp_path / "a.jpg"], source="phone")
    [item] = archive.list_items()
    assert item["time_utc"] == "2016-10-24T12:30:00Z"  # Europe/Paris was UTC+2 that day


def test_same_photo_in_two_dumps_is_stored_once_with_both_sightings(
    archive: Archive, tmp_path: Path
) -> None:
    first = make_photo(tmp_path / "amina/DCIM/IMG_1.jpg", seed=1)
    second = tmp_path / "jules/WhatsApp/IMG-20161024-WA0001.jpg"
    second.parent.mkdir(parents=True)
    second.write_bytes(first.read_bytes())
    one = archive.ingest([tmp_path / "amina"], source="Amina's phone")
    two = archive.ingest([tmp_path / "jules"], source="Jules's phone")
    again = archive.ingest([tmp_path / "amina"], source="Amina's phone")
    assert (one.stored, two.stored, two.duplicates, again.duplicates) == (1, 0, 1, 1)
    with archive.session() as session:
        seen = session.scalars(select(Sighting).order_by(Sighting.id)).all()
        assert [(s.source, Path(s.path).name) for s in seen] == [
            ("Amina's phone", "IMG_1.jpg"),
            ("Jules's phone", "IMG-20161024-WA0001.jpg"),
            ("Amina's phone", "IMG_1.jpg"),
        ]
        assert len(session.scalars(select(Item)).all()) == 1
    files = [p for p in archive.vault.root.rglob("*") if p.is_file()]
    assert len(files) == 1
    actions = [e["action"] for e in archive.custody_log()]
    assert actions == ["init", "ingested", "duplicate-seen", "duplicate-seen"]


def test_sources_are_never_modified(archive: Archive, tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    for i in range(3):
        make_photo(dump / f"IMG_{i}.jpg", seed=i)
    (dump / "diary.txt").write_text("7:00 helicopters over the camp\n")
    (dump / "bad.jpg").write_text("<html>no</html>")
    with zipfile.ZipFile(dump / "export.zip", "w") as zf:
        zf.write(dump / "IMG_0.jpg", "media/IMG_0.jpg")
    before = tree_state(dump)
    archive.ingest([dump], source="phone")
    assert tree_state(dump) == before


def test_content_decides_the_kind_not_the_name(archive: Archive, tmp_path: Path) -> None:
    jpeg = make_photo(tmp_path / "x.jpg", seed=3)
    misnamed = tmp_path / "in/holiday.png"
    misnamed.parent.mkdir()
    misnamed.write_bytes(jpeg.read_bytes())
    (tmp_path / "in/notes.md").write_text("# 24 octobre\n7h : hélicoptères\n", encoding="utf-8")
    (tmp_path / "in/evil.jpg").write_text("<!doctype html><script>alert(1)</script>")
    report = archive.ingest([tmp_path / "in"], source="phone")
    kinds = {i["name"]: (i["kind"], i["mime"]) for i in archive.list_items()}
    assert kinds["holiday.png"] == ("photo", "image/jpeg")
    assert kinds["notes.md"] == ("text", "text/markdown")
    assert [(Path(r.path).name, r.reason) for r in report.rejected] == [
        ("evil.jpg", "markup (HTML/XML) content named .jpg")
    ]
    [note] = archive.list_items(kind="text")
    assert note["text"].startswith("# 24 octobre\n7h : hélicoptères")


def test_zip_entries_are_ingested_with_their_inner_path(archive: Archive, tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "IMG_1.jpg", seed=5)
    with zipfile.ZipFile(tmp_path / "dump.zip", "w") as zf:
        zf.write(photo, "DCIM/Camera/IMG_1.jpg")
        zf.writestr("DCIM/notes.txt", "14h30: 1051 people left in buses\n")
        zf.writestr("__MACOSX/._IMG_1.jpg", b"\0\5\26\7")
    report = archive.ingest([tmp_path / "dump.zip"], source="phone")
    assert report.stored == 2 and not report.rejected
    record = archive.describe(hashlib.sha256(photo.read_bytes()).hexdigest()[:10])
    assert record["sightings"][0]["path"].endswith("dump.zip!/DCIM/Camera/IMG_1.jpg")
    assert not list(archive.vault.tmp.iterdir())


def test_cli_ingest_status_ls_show(cli, tmp_path: Path) -> None:
    assert cli("init", str(tmp_path / "calais-2016"), "--timezone", "Europe/Paris").code == 0
    dump = tmp_path / "phone-dump"
    make_photo(dump / "IMG_20161024_070212.jpg", taken=datetime(2016, 10, 24, 7, 2, 12))
    (dump / "fake.jpg").write_text("<html></html>")
    result = cli("ingest", str(dump), "--source", "Amina's phone", cwd=tmp_path / "calais-2016")
    assert result.code == 6
    assert "fake.jpg: markup (HTML/XML) content named .jpg" in " ".join(result.err.split())
    status = cli("status", "--json", cwd=tmp_path / "calais-2016").json()
    assert status["by_kind"] == {"photo": 1} and status["by_source"] == {"Amina's phone": 1}
    assert status["rejected"][0]["reason"] == "markup (HTML/XML) content named .jpg"
    listed = cli("ls", "--kind", "photo", "--json", cwd=tmp_path / "calais-2016").json()
    assert [i["name"] for i in listed] == ["IMG_20161024_070212.jpg"]
    shown = cli("show", listed[0]["id"][:8], "--json", cwd=tmp_path / "calais-2016").json()
    assert shown["custody"][0]["action"] == "ingested"
    assert shown["sightings"][0]["source"] == "Amina's phone"
    missing = cli("show", "ffffffff", cwd=tmp_path / "calais-2016")
    assert missing.code == 5 and "no such item" in missing.err


def test_every_command_has_help(cli) -> None:
    from temoin.cli.main import cli as group

    for name in group.commands:
        result = cli(name, "--help")
        assert result.code == 0 and "Usage:" in result.out, name


def test_outside_an_archive_the_error_is_one_line(cli, tmp_path: Path) -> None:
    result = cli("status", cwd=tmp_path)
    assert result.code == 3
    assert result.err.strip().startswith("error:") and len(result.err.strip().splitlines()) == 1


def test_jpeg_with_a_trailer_is_kept_and_a_cut_one_kept_as_damaged(
    archive: Archive, tmp_path: Path
) -> None:
    photo = make_photo(
        tmp_path / "src.jpg", seed=8, taken=datetime(2016, 10, 24, 9, 0)
    ).read_bytes()
    dump = tmp_path / "dump"
    dump.mkdir()
    # Motion photos append a video after the JPEG's end marker: still a complete photo.
    (dump / "PXL_20161024_070000000.MP.jpg").write_bytes(photo + b"\0\0\0\x18ftypmp42" + bytes(64))
    (dump / "cut.jpg").write_bytes(photo[: len(photo) - 200])
    report = archive.ingest([dump], source="phone")
    assert (report.stored, report.rejected) == (2, [])
    damaged = {i["name"]: i.get("damaged") for i in archive.list_items(kind="photo")}
    assert damaged["PXL_20161024_070000000.MP.jpg"] is None
    assert damaged["cut.jpg"].startswith("truncated image: ")
    assert [(Path(r.path).name, r.reason.split(":")[0]) for r in report.damaged] == [
        ("cut.jpg", "truncated image")
    ]


def test_settings_show_the_archive_values(cli, tmp_path: Path, monkeypatch) -> None:
    assert cli("init", str(tmp_path / "a"), "--timezone", "Europe/Paris").code == 0
    monkeypatch.setenv("TEMOIN_ZIP_MAX_DEPTH", "1")
    rows = {r["name"]: r for r in cli("-A", str(tmp_path / "a"), "settings", "--json").json()}
    assert rows["timezone"]["value"] == "Europe/Paris" and rows["timezone"]["default"] == "UTC"
    assert rows["zip_max_depth"]["value"] == 1 and rows["zip_max_depth"]["default"] == 2


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_a_cut_video_is_named_a_video_and_a_cut_voice_note_audio(
    archive: Archive, tmp_path: Path, keep: float
) -> None:
    from temoin.testing.media import make_audio, make_video

    dump = tmp_path / "dump"
    dump.mkdir()
    for suffix in (".mp4", ".mov"):
        clip = make_video(tmp_path / f"clip{suffix}", seconds=1.0).read_bytes()
        (dump / f"VID_1{suffix}").write_bytes(clip[: int(len(clip) * keep)])
    voice = make_audio(tmp_path / "voice.m4a", seconds=2.0).read_bytes()
    (dump / "PTT-1.m4a").write_bytes(voice[: int(len(voice) * keep)])
    report = archive.ingest([dump], source="phone")
    reasons = {Path(r.path).name: r.reason for r in report.rejected}
    assert reasons["VID_1.mp4"].startswith("video is truncated: ")
    assert reasons["VID_1.mov"].startswith("video is truncated: ")
    assert reasons["PTT-1.m4a"].startswith("audio is truncated: ")
