"""A mixed day from several devices comes out as one correctly ordered timeline."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from temoin.archive import Archive
from temoin.catalog.models import DiaryEntry, FigureRow, Item
from temoin.testing.chats import make_whatsapp_export
from temoin.testing.diaries import ENGLISH_DIARY, FRENCH_DIARY
from temoin.testing.media import make_video
from temoin.testing.photos import make_photo

DAY = datetime(2016, 10, 24)
PARIS = timedelta(hours=2)  # Europe/Paris was UTC+2 on 24 October 2016
SLOW = timedelta(minutes=3, seconds=20)  # Jules's phone ran this much slow
FAST = timedelta(hours=1)  # Tom's camera was still on winter time plus one: an hour fast


def _utc(hour: int, minute: int, second: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute, second=second) - PARIS


def _resized_copy(original: Path, target: Path) -> Path:
    """What WhatsApp makes of a photo: smaller, recompressed, without EXIF."""
    with Image.open(original) as image:
        small = image.resize((image.width // 2, image.height // 2))
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=55)
    target.write_bytes(buffer.getvalue())
    return target


def build_day(tmp_path: Path, archive: Archive) -> dict[str, datetime]:
    """Ingest the day; return each item's name (or text) with its true UTC time."""
    truth: dict[str, datetime] = {}
    jules = tmp_path / "jules"
    # Jules: naive EXIF from a slow clock; three of the photos carry a GPS stamp (true UTC).
    for n, (hour, minute) in enumerate([(7, 4), (7, 31), (9, 12), (9, 40), (14, 20)]):
        true = _utc(hour, minute, 10)
        name = f"IMG_J{n}.jpg"
        make_photo(
            jules / name,
            seed=10 + n,
            taken=true + PARIS - SLOW,
            make="Fairphone",
            model="FP2",
            gps=(50.9581, 1.8515) if n < 3 else None,
            gps_time=true if n < 3 else None,
        )
        truth[name] = true
    archive.ingest([jules], source="Jules's phone")

    # Tom's camera: an hour fast, no GPS; its clock is corrected by hand.
    tom = tmp_path / "tom"
    for n, (hour, minute) in enumerate([(8, 5), (10, 45)]):
        true = _utc(hour, minute)
        make_photo(tom / f"DSC_{n}.jpg", seed=30 + n, taken=true + PARIS + FAST, make="Canon")
        truth[f"DSC_{n}.jpg"] = true
    make_video(
        tom / "MVI_0001.mp4",
        seconds=0.4,
        size=(160, 96),
        creation_time=(_utc(12, 40) + FAST).replace(tzinfo=UTC),
        audio=False,
    )
    truth["MVI_0001.mp4"] = _utc(12, 40)
    (tom / "dispatch.txt").write_text(ENGLISH_DIARY, encoding="utf-8")
    archive.ingest([tom], source="Tom's camera")

    # Amina: right clock with an offset in EXIF, and a WhatsApp export carrying Jules's first photo.
    amina = tmp_path / "amina"
    make_photo(amina / "IMG_A0.jpg", seed=40, taken=DAY.replace(hour=11, minute=5), offset="+02:00")
    truth["IMG_A0.jpg"] = _utc(11, 5)
    copy = _resized_copy(jules / "IMG_J0.jpg", tmp_path / "IMG-20161024-WA0003.jpg")
    messages = [
        (DAY.replace(hour=7, minute=2), "Amina", "Police at the north gate, 6 vans"),
        (DAY.replace(hour=7, minute=6), "Jules", "", "IMG-20161024-WA0003.jpg"),
        (DAY.replace(hour=8, minute=20), "Amina", "The bus queue is huge"),
        (DAY.replace(hour=15, minute=2), "Jules", "Last buses leaving now"),
    ]
    export = make_whatsapp_export(
        tmp_path / "amina_wa.zip",
        messages=messages,
        attachments={"IMG-20161024-WA0003.jpg": copy.read_bytes()},
    )
    amina.mkdir(exist_ok=True)
    archive.ingest([amina, export], source="Amina's phone")
    for when, _author, text, *_ in messages:
        truth[text or "attachment"] = when - PARIS

    notes = tmp_path / "camille"
    notes.mkdir()
    (notes / "notes.txt").write_text(FRENCH_DIARY, encoding="utf-8")
    archive.ingest([notes], source="Camille")
    return truth


def _flat(result: dict) -> list[dict]:
    return [row for day in result["days"] for m in day["moments"] for row in m["items"]]


def test_mixed_day_is_one_correctly_ordered_timeline(tmp_path: Path, archive: Archive) -> None:
    truth = build_day(tmp_path, archive)
    estimate = archive.estimate_clock(apply=True)
    [jules] = [p for p in estimate["proposals"] if p["source"] == "Jules's phone"]
    assert abs(jules["offset_seconds"] - SLOW.total_seconds()) < 1
    archive.set_clock("Tom's camera", -FAST.total_seconds(), reason="winter time")

    rows = _flat(archive.timeline())
    times = [row["time_utc"] for row in rows]
    assert times == sorted(times)
    placed = {}
    for row in rows:
        key = row.get("name") if row["kind"] != "message" else (row["text"] or "attachment")
        if key in truth and row["kind"] in ("photo", "video", "message"):
            placed[key] = datetime.fromisoformat(row["time_utc"].rstrip("Z"))
    for key, true in truth.items():
        assert abs((placed[key] - true).total_seconds()) <= 1, key
    order = [key for key, _ in sorted(placed.items(), key=lambda kv: kv[1])]
    assert order == [key for key, _ in sorted(truth.items(), key=lambda kv: kv[1])]

    # the two diaries are timed entries, interleaved with everything else
    entries = [row for row in rows if row["kind"] == "entry"]
    assert any(row["text"].startswith("les CRS sont en place") for row in entries)
    french_8h = next(r for r in entries if r["text"].startswith("les CRS sont en place"))
    assert french_8h["time"] == "2016-10-24T08:00:00+02:00"
    assert any(row["kind"] == "dispatch" and row["source"] == "Tom's camera" for row in rows)
    english_245 = next(r for r in entries if r["text"].startswith("riot police block"))
    assert english_245["time"] == "2016-10-24T14:45:00+02:00"


def test_times_carry_their_clock_and_confidence(tmp_path: Path, archive: Archive) -> None:
    build_day(tmp_path, archive)
    archive.timeline()
    with archive.session() as session:
        by_name = {i.name: i for i in session.scalars(select(Item).where(Item.kind != "message"))}
        message = session.scalars(select(Item).where(Item.kind == "message")).first()
    assert (by_name["IMG_J0.jpg"].time_source, by_name["IMG_J0.jpg"].capture_confidence) == (
        "gps",
        0.99,
    )
    assert by_name["IMG_J4.jpg"].time_source == "exif"  # no GPS stamp: the camera's naive time
    assert by_name["IMG_A0.jpg"].time_source == "exif+offset"
    assert by_name["MVI_0001.mp4"].time_source == "media"
    assert by_name["notes.txt"].time_source == "diary"
    assert by_name["IMG-20161024-WA0003.jpg"].time_source == "filename-day"
    assert message is not None and message.time_source == "chat"


def test_diary_entries_and_figures_are_stored(tmp_path: Path, archive: Archive) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text(FRENCH_DIARY, encoding="utf-8")
    archive.ingest([notes], source="Camille")
    archive.timeline()
    with archive.session() as session:
        entries = session.scalars(select(DiaryEntry).order_by(DiaryEntry.seq)).all()
        figures = {(f.value, f.what) for f in session.scalars(select(FigureRow))}
    assert any(e.local == "2016-10-24T14:30:00" for e in entries)
    assert any(e.is_dispatch for e in entries)
    assert (1051, "personnes") in figures
    assert (40, "bus") in figures


def test_day_filter_and_display_zone(tmp_path: Path, archive: Archive) -> None:
    make_photo(tmp_path / "p/late.jpg", taken=datetime(2016, 10, 24, 23, 30), offset="+02:00")
    archive.ingest([tmp_path / "p"], source="phone")
    paris = archive.timeline(day=date(2016, 10, 24))
    assert [r["time"] for r in _flat(paris)] == ["2016-10-24T23:30:00+02:00"]
    london = archive.timeline(day=date(2016, 10, 24), timezone="Europe/London")
    assert [r["time"] for r in _flat(london)] == ["2016-10-24T22:30:00+01:00"]
    assert _flat(archive.timeline(day=date(2016, 10, 25))) == []


def test_moments_split_on_gaps_and_keep_their_names(tmp_path: Path, archive: Archive) -> None:
    for n, minute in enumerate([0, 5, 12, 50, 55]):
        make_photo(
            tmp_path / f"p/{n}.jpg",
            seed=n,
            taken=DAY.replace(hour=9, minute=minute),
            offset="+02:00",
        )
    archive.ingest([tmp_path / "p"], source="phone")
    [day] = archive.timeline()["days"]
    assert [len(m["items"]) for m in day["moments"]] == [3, 2]
    second = day["moments"][1]["id"]
    archive.name_moment(str(second), "Bulldozers arrive")
    archive.set_clock("phone", 60, reason="a minute slow")  # forces a rebuild
    [day] = archive.timeline()["days"]
    assert [m["name"] for m in day["moments"]] == [None, "Bulldozers arrive"]
