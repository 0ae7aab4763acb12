"""The video reader on real clips written by the factory, and on cut and garbage files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from temoin.collect.readers.video import has_video_stream, parse_iso6709, read_video
from temoin.errors import Rejected
from temoin.testing.media import make_audio, make_video

PARIS = timezone(timedelta(hours=2))
SHOT_AT = datetime(2016, 10, 24, 9, 2, 12, tzinfo=PARIS)
CALAIS = "+50.9513+001.8587+012.000/"
SAMPLE = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"


@pytest.mark.parametrize(
    ("suffix", "container", "video_codec", "audio_codec"),
    [
        (".mp4", "mp4", "h264", "aac"),
        (".mov", "mov", "h264", "aac"),
        (".3gp", "3gp", "h264", "aac"),
        (".m4v", "m4v", "h264", "aac"),
        (".mkv", "matroska", "h264", "aac"),
        (".webm", "webm", "vp8", "opus"),
    ],
)
def test_reads_each_container(
    tmp_path: Path, suffix: str, container: str, video_codec: str, audio_codec: str
) -> None:
    path = make_video(
        tmp_path / f"clip{suffix}",
        seconds=1.0,
        size=(320, 240),
        creation_time=SHOT_AT,
        location=CALAIS,
    )
    info = read_video(path, "video/x-test")
    assert info.kind == "video"
    assert info.mime == "video/x-test"
    assert info.meta["duration_s"] == pytest.approx(1.0, abs=0.05)
    assert (info.meta["width"], info.meta["height"]) == (320, 240)
    assert info.meta["fps"] == pytest.approx(25.0)
    assert info.meta["video_codec"] == video_codec
    assert info.meta["audio_codec"] == audio_codec
    assert info.meta["container"] == container
    assert info.meta["rotation"] == 0
    assert info.meta["bitrate"] > 0
    assert info.meta["gps"] == pytest.approx({"lat": 50.9513, "lon": 1.8587, "alt": 12.0})
    assert info.captured_at == datetime(2016, 10, 24, 7, 2, 12, tzinfo=UTC)
    family = "matroska" if container in ("matroska", "webm") else "quicktime"
    assert info.capture_source == f"{family}:creation_time"


def test_apple_creationdate_keeps_the_local_offset(tmp_path: Path) -> None:
    path = make_video(
        tmp_path / "IMG_0042.MOV",
        seconds=0.5,
        size=(320, 240),
        creation_time=SHOT_AT,
        location=CALAIS,
        apple_tags=True,
        rotation=90,
    )
    info = read_video(path, "video/quicktime")
    assert info.captured_at == SHOT_AT
    assert info.captured_at.utcoffset() == timedelta(hours=2)
    assert info.capture_source == "quicktime:creationdate"
    assert (info.meta["make"], info.meta["model"]) == ("Apple", "iPhone 7")
    assert info.meta["gps"]["lat"] == pytest.approx(50.9513)
    assert info.meta["rotation"] == 90


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_comes_from_the_display_matrix(tmp_path: Path, rotation: int) -> None:
    path = make_video(
        tmp_path / "r.mp4", seconds=0.2, size=(64, 48), rotation=rotation, audio=False
    )
    assert read_video(path, "video/mp4").meta["rotation"] == rotation


def test_no_tags_means_no_time_and_no_place(tmp_path: Path) -> None:
    path = make_video(tmp_path / "bare.mp4", seconds=0.2, size=(64, 48), audio=False)
    info = read_video(path, "video/mp4")
    assert info.captured_at is None
    assert info.capture_source is None
    assert "gps" not in info.meta
    assert info.meta["audio_codec"] is None


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_truncated_video_is_rejected(tmp_path: Path, suffix: str, keep: float) -> None:
    whole = make_video(tmp_path / f"whole{suffix}", seconds=0.5, size=(160, 120)).read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(Rejected, match=r"^video is truncated: "):
        read_video(cut, "video/mp4")


def test_garbage_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(Rejected, match=r"^video cannot be decoded: "):
        read_video(path, "video/mp4")


def test_scrambled_picture_data_is_rejected(tmp_path: Path) -> None:
    """Boxes intact, coded pictures replaced by zeros: only a decode can tell."""
    data = bytearray(
        make_video(tmp_path / "v.mp4", seconds=0.2, size=(64, 48), audio=False).read_bytes()
    )
    start = data.index(b"mdat") + 4
    moov = data.index(b"moov") - 4
    data[start:moov] = bytes(moov - start)
    path = tmp_path / "zeroed.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(Rejected, match=r"^video cannot be decoded: "):
        read_video(path, "video/mp4")


def test_audio_only_mp4_is_not_a_video(tmp_path: Path) -> None:
    voice = make_audio(tmp_path / "voice.m4a", seconds=0.3)
    clip = make_video(tmp_path / "clip.mp4", seconds=0.2, size=(64, 48))
    assert not has_video_stream(voice)
    assert has_video_stream(clip)
    assert not has_video_stream(tmp_path)  # not even a file
    with pytest.raises(Rejected, match="no video stream"):
        read_video(voice, "audio/mp4")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+48.8566+002.3522+035.000/", {"lat": 48.8566, "lon": 2.3522, "alt": 35.0}),
        ("-33.8688+151.2093/", {"lat": -33.8688, "lon": 151.2093, "alt": None}),
        ("+4851.396+00221.132/", {"lat": 48.8566, "lon": 2.3522, "alt": None}),
        ("+485123.76-0022107.9CRSWGS_84/", {"lat": 48.856600, "lon": -2.352194, "alt": None}),
    ],
)
def test_parse_iso6709(text: str, expected: dict[str, float | None]) -> None:
    assert parse_iso6709(text) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("text", ["", "Paris", "+91.0+000.0/", "+00.0000+000.0000/"])
def test_parse_iso6709_refuses_non_points(text: str) -> None:
    assert parse_iso6709(text) is None


def test_real_sample_clip() -> None:
    sample = (SAMPLE / "intel_walking_and_pause.mp4").resolve()
    if not sample.exists():
        pytest.skip("shared samples are not checked out next to the repository")
    info = read_video(sample, "video/mp4")
    assert info.meta["duration_s"] == pytest.approx(3.42, abs=0.02)
    assert (info.meta["width"], info.meta["height"], info.meta["fps"]) == (480, 270, 12.0)
    assert info.meta["video_codec"] == "h264"
    assert info.meta["audio_codec"] is None
