"""The audio reader on real voice notes written by the factory, and on cut and garbage files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from temoin.collect.readers.audio import read_audio
from temoin.errors import Rejected
from temoin.testing.media import make_audio, make_video

FORMATS = [
    # suffix, codec, sample rate, container
    (".m4a", "aac", 44100, "m4a"),
    (".aac", "aac", 44100, "aac"),
    (".ogg", "opus", 48000, "ogg"),
    (".opus", "opus", 48000, "ogg"),
    (".mp3", "mp3", 44100, "mp3"),
    (".wav", "pcm_s16le", 16000, "wav"),
    (".amr", "amr_nb", 8000, "amr"),
]


@pytest.mark.parametrize(("suffix", "codec", "rate", "container"), FORMATS)
def test_reads_each_voice_note_format(
    tmp_path: Path, suffix: str, codec: str, rate: int, container: str
) -> None:
    info = read_audio(make_audio(tmp_path / f"note{suffix}", seconds=1.5), "audio/x-test")
    assert info.kind == "audio"
    assert info.mime == "audio/x-test"
    assert info.meta["codec"] == codec
    assert info.meta["sample_rate"] == rate
    assert info.meta["channels"] == 1
    assert info.meta["container"] == container
    assert info.meta["duration_s"] == pytest.approx(1.5, abs=0.1)
    assert info.meta["bitrate"] > 0
    assert info.captured_at is None


def test_m4a_creation_time_is_utc(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "note.m4a", tags={"creation_time": "2016-10-24T07:02:12.000000Z"})
    info = read_audio(path, "audio/mp4")
    assert info.captured_at == datetime(2016, 10, 24, 7, 2, 12, tzinfo=UTC)
    assert info.capture_source == "quicktime:creation_time"


def test_date_tag_with_a_time_of_day_is_a_capture_time(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "note.ogg", tags={"date": "2016-10-24T09:02:12+02:00"})
    info = read_audio(path, "audio/ogg")
    assert info.captured_at == datetime(2016, 10, 24, 7, 2, 12, tzinfo=UTC)
    assert info.capture_source == "tag:date"


def test_date_only_tag_is_kept_but_not_a_capture_time(tmp_path: Path) -> None:
    info = read_audio(make_audio(tmp_path / "note.mp3", tags={"date": "2016"}), "audio/mpeg")
    assert info.captured_at is None
    assert info.meta["date_tag"] == "2016"


def test_the_audio_of_a_video_file_can_be_read(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mp4", seconds=0.5, size=(64, 48))
    info = read_audio(clip, "video/mp4")
    assert (info.meta["codec"], info.meta["channels"]) == ("aac", 2)


@pytest.mark.parametrize("suffix", [f[0] for f in FORMATS])
@pytest.mark.parametrize("keep", [0.5, 0.995])
def test_truncated_audio_is_rejected(tmp_path: Path, suffix: str, keep: float) -> None:
    whole = make_audio(tmp_path / f"whole{suffix}", seconds=1.0).read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(Rejected, match=r"^audio (is truncated|cannot be (read|decoded)): \S"):
        read_audio(cut, "audio/x-test")


@pytest.mark.parametrize("suffix", [".mp3", ".ogg", ".m4a", ".amr", ".wav"])
def test_garbage_is_rejected(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(bytes(range(256)) * 16)
    with pytest.raises(Rejected, match=r"^audio "):
        read_audio(path, "audio/x-test")
