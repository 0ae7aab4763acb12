"""Capture times: which clock wins, per-device corrections, and offsets estimated from evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from temoin.archive import Archive
from temoin.errors import NotFound
from temoin.sort.clock import (
    CONFIDENCE,
    Clocks,
    GpsSample,
    PairSample,
    estimate_from_gps,
    estimate_from_pairs,
    format_offset,
    parse_offset,
    resolve,
)
from temoin.testing.photos import make_photo

PARIS = timedelta(hours=2)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("+00:03:20", 200), ("-00:01:00", -60), ("+01:00:00", 3600), ("+20", 20), ("-1:30", -90)],
)
def test_offsets_read_and_write(text: str, seconds: float) -> None:
    assert parse_offset(text) == seconds
    assert parse_offset(format_offset(seconds)) == seconds


@pytest.mark.parametrize("text", ["00:03:20", "+00:61:00", "+a:b", "+", "+1:2:3:4"])
def test_bad_offsets_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_offset(text)


def _resolve(**fields: object) -> tuple[datetime | None, str | None, float | None]:
    args = {
        "source": "phone",
        "name": "x.jpg",
        "meta": {},
        "captured_raw": None,
        "capture_source": None,
        "mtime": None,
        "clocks": Clocks("Europe/Paris", offsets={"phone": 200}),
    }
    args.update(fields)
    found = resolve(**args)  # type: ignore[arg-type]
    return found.time_utc, found.source, found.confidence


def test_each_clock_in_order_with_its_confidence() -> None:
    gps = {"gps": {"lat": 1, "lon": 2, "time_utc": "2016-10-24T05:00:00+00:00"}}
    aware = "2016-10-24T07:00:00+02:00"
    naive = "2016-10-24T07:00:00"
    slow = timedelta(seconds=200)
    assert _resolve(captured_raw=aware, capture_source="exif:DateTimeOriginal", meta=gps) == (
        datetime(2016, 10, 24, 5) + slow,
        "exif+offset",
        0.95,
    )
    assert _resolve(captured_raw=naive, capture_source="exif:DateTimeOriginal", meta=gps) == (
        datetime(2016, 10, 24, 5),  # GPS is true UTC: no device offset
        "gps",
        0.99,
    )
    assert _resolve(captured_raw=naive, capture_source="exif:DateTimeOriginal")[1:] == ("exif", 0.8)
    assert _resolve(captured_raw=aware, capture_source="quicktime:creation_time")[1] == "media"
    assert _resolve(captured_raw=naive, capture_source="chat:whatsapp")[1:] == ("chat", 0.9)
    telegram = _resolve(captured_raw="2016-10-24T05:00:00+00:00", capture_source="chat:telegram")
    assert telegram[0] == datetime(2016, 10, 24, 5)  # server time: no device offset
    assert _resolve(name="IMG_20161024_070000.jpg")[1:] == ("filename", 0.6)
    assert _resolve(name="IMG-20161024-WA0003.jpg")[1:] == ("filename-day", 0.3)
    mtime = _resolve(mtime=datetime(2016, 10, 24, 9))
    assert mtime == (datetime(2016, 10, 24, 9) + slow, "mtime", 0.1)
    assert _resolve(name="x.jpg") == (None, None, None)


def test_a_phone_file_time_ranks_between_the_file_name_and_the_server_file_time() -> None:
    """The upload page's lastModified: a device clock (its offset applies), trusted less than
    anything the file states or its name says, more than when the server wrote the bytes."""
    said = {"captured_raw": "2016-10-24T09:00:00+00:00", "capture_source": "phone:lastModified"}
    late = datetime(2016, 10, 25, 18)  # the upload moment, as the server's file time
    found = _resolve(**said, mtime=late)
    assert found == (datetime(2016, 10, 24, 9) + timedelta(seconds=200), "phone", 0.2)
    assert _resolve(**said, name="IMG_20161024_070000.jpg")[1] == "filename"
    assert _resolve(**said, name="IMG-20161024-WA0003.jpg")[1] == "filename-day"
    assert CONFIDENCE["mtime"] < CONFIDENCE["phone"] < CONFIDENCE["filename-day"]


def test_gps_estimate_recovers_a_known_skew_and_sets_stale_fixes_aside() -> None:
    clocks = Clocks("UTC")
    true = datetime(2016, 10, 24, 5)
    samples = [
        GpsSample("Jules", true + timedelta(minutes=m), true + timedelta(minutes=m, seconds=-200))
        for m in range(0, 50, 10)
    ]
    samples.append(GpsSample("Jules", true, true + timedelta(minutes=9)))  # a fix 9 min old
    [proposal] = estimate_from_gps(samples, clocks).values()
    assert proposal.offset_seconds == pytest.approx(200, abs=1)
    assert (proposal.samples, proposal.outliers) == (5, 1)
    assert 0.5 < proposal.confidence < 0.99


def test_duplicates_on_two_devices_carry_an_offset_from_an_anchor() -> None:
    true = datetime(2016, 10, 24, 5)
    pairs = [
        PairSample("Jules", true - timedelta(seconds=200), "Tom", true + timedelta(hours=1)),
        PairSample(
            "Tom", true + timedelta(hours=1, minutes=5), "Jules", true + timedelta(seconds=100)
        ),
    ]
    proposals = estimate_from_pairs(pairs, {"Jules": 200.0}, Clocks("UTC"))
    assert proposals["Tom"].offset_seconds == pytest.approx(-3600, abs=1)
    assert proposals["Tom"].evidence == "duplicates:Jules"


def test_clock_estimate_from_photos_recovers_the_skew_within_a_second(
    tmp_path: Path, archive: Archive
) -> None:
    skew = timedelta(minutes=3, seconds=20)
    for n in range(4):
        true = datetime(2016, 10, 24, 5, 10 * n, 7)
        make_photo(
            tmp_path / f"j/IMG_{n}.jpg",
            seed=n,
            taken=true + PARIS - skew,
            gps=(50.95, 1.85),
            gps_time=true,
        )
    make_photo(tmp_path / "j/IMG_nogps.jpg", seed=9, taken=datetime(2016, 10, 24, 9, 0) - skew)
    archive.ingest([tmp_path / "j"], source="Jules's phone")
    proposed = archive.estimate_clock()
    [jules] = proposed["proposals"]
    assert abs(jules["offset_seconds"] - skew.total_seconds()) < 1
    assert jules["offset"] == "+00:03:20" and proposed["applied"] == []
    applied = archive.estimate_clock(apply=True)
    assert applied["applied"] == ["Jules's phone"]
    [item] = [i for i in archive.list_items() if i["name"] == "IMG_nogps.jpg"]
    archive.timeline()
    [item] = [i for i in archive.list_items() if i["name"] == "IMG_nogps.jpg"]
    assert item["time_utc"] == "2016-10-24T07:00:00Z"


def test_a_hand_set_offset_moves_every_item_and_is_logged(tmp_path: Path, archive: Archive) -> None:
    make_photo(tmp_path / "p/a.jpg", seed=1, taken=datetime(2016, 10, 24, 7, 0))
    make_photo(tmp_path / "q/b.jpg", seed=2, taken=datetime(2016, 10, 24, 7, 0))
    archive.ingest([tmp_path / "p"], source="Jules's phone")
    archive.ingest([tmp_path / "q"], source="Other")
    archive.set_clock("Jules's phone", 200, reason="3 min 20 s slow by the church clock")
    archive.timeline()
    times = {i["name"]: i["time_utc"] for i in archive.list_items()}
    assert times == {"a.jpg": "2016-10-24T05:03:20Z", "b.jpg": "2016-10-24T05:00:00Z"}
    [event] = [e for e in archive.custody_log() if e["action"] == "clock-set"]
    assert event["detail"]["source"] == "Jules's phone"
    assert event["detail"]["offset_seconds"] == 200
    assert "church" in event["detail"]["reason"]
    assert archive.verify().ok  # the chain still holds with the new event in it
    archive.set_clock("Jules's phone", 0, reason="undo")
    archive.timeline()
    assert {i["name"]: i["time_utc"] for i in archive.list_items()}["a.jpg"] == (
        "2016-10-24T05:00:00Z"
    )
    assert [json.dumps(c["offset"]) for c in archive.clocks()] == ['"+00:03:20"', '"+00:00:00"']


def test_a_source_time_zone_reads_its_naive_times(tmp_path: Path, archive: Archive) -> None:
    make_photo(tmp_path / "p/a.jpg", taken=datetime(2016, 10, 24, 7, 0))
    archive.ingest([tmp_path / "p"], source="visitor")
    archive.set_clock("visitor", 0, timezone="Europe/London", reason="phone still on UK time")
    archive.timeline()
    [item] = archive.list_items()
    assert item["time_utc"] == "2016-10-24T06:00:00Z"


def test_unknown_source_is_refused(archive: Archive) -> None:
    with pytest.raises(NotFound):
        archive.set_clock("nobody", 10)


def test_utc_is_utc() -> None:
    clocks = Clocks("Europe/Paris")
    aware = datetime(2016, 10, 24, 5, tzinfo=UTC)
    assert clocks.to_utc(aware, "x", "media") == datetime(2016, 10, 24, 5)


def test_xmp_gps_and_modified_times_each_count_with_their_own_confidence() -> None:
    """XMP is the EXIF copied by an editor: the device's clock (its offset applies), trusted a
    little less. EXIF DateTime is when the file was modified: under a time in the file name."""
    slow = timedelta(seconds=200)
    xmp = _resolve(captured_raw="2016-10-24T07:00:00+02:00", capture_source="xmp:CreateDate")
    assert xmp == (datetime(2016, 10, 24, 5) + slow, "xmp+offset", 0.85)
    naive = _resolve(captured_raw="2016-10-24T07:00:00", capture_source="xmp:DateTimeOriginal")
    assert naive[1:] == ("xmp", 0.75)
    gps = _resolve(captured_raw="2016-10-24T05:00:00+00:00", capture_source="gps:GPSDateTime")
    assert gps == (datetime(2016, 10, 24, 5), "gps", 0.99)  # satellite time: no device offset
    modified = {"captured_raw": "2017-03-01T10:00:00+01:00", "capture_source": "exif:DateTime"}
    assert _resolve(**modified)[1:] == ("modified", 0.5)
    assert _resolve(**modified, name="IMG_20161024_070000.jpg")[1] == "filename"
    assert _resolve(**modified, name="IMG-20161024-WA0003.jpg")[1] == "modified"
    day = {"captured_raw": "2016-10-24T00:00:00", "capture_source": "xmp:DateCreated"}
    assert _resolve(**day, meta={"capture_precision": "day"})[1:] == ("xmp-day", 0.3)
    assert (
        _resolve(**day, meta={"capture_precision": "day"}, name="IMG_20161024_070000.jpg")[1]
        == "filename"
    )
    assert CONFIDENCE["exif"] > CONFIDENCE["xmp"] > CONFIDENCE["modified"] > CONFIDENCE["xmp-day"]
