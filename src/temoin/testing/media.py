"""Real video and audio files for tests and the demo, written with PyAV.

Tests must exercise the same bytes a phone would hand us, so these factories encode actual frames
and samples (a moving pattern, a tone) and write the container tags phones write: QuickTime
``creation_time``, the ISO 6709 ``location`` string, Apple's ``com.apple.quicktime.*`` keys and
the display matrix that makes a portrait clip play upright.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# container name -> (PyAV format, default video codec, audio codec)
_VIDEO_CONTAINERS: dict[str, tuple[str, str, str]] = {
    ".mp4": ("mp4", "libx264", "aac"),
    ".m4v": ("ipod", "libx264", "aac"),
    ".mov": ("mov", "libx264", "aac"),
    ".3gp": ("3gp", "libx264", "aac"),
    ".mkv": ("matroska", "libx264", "aac"),
    ".webm": ("webm", "libvpx", "libopus"),
}
_MOV_FAMILY = {"mp4", "ipod", "mov", "3gp"}

# suffix -> (PyAV format, codec, sample rate, channels)
_AUDIO_FORMATS: dict[str, tuple[str, str, int, int]] = {
    ".m4a": ("ipod", "aac", 44100, 1),
    ".aac": ("adts", "aac", 44100, 1),
    ".ogg": ("ogg", "libopus", 48000, 1),
    ".opus": ("opus", "libopus", 48000, 1),
    ".mp3": ("mp3", "libmp3lame", 44100, 1),
    ".wav": ("wav", "pcm_s16le", 16000, 1),
    ".amr": ("amr", "libopencore_amrnb", 8000, 1),
}


def make_video(
    path: Path,
    *,
    seconds: float = 2.0,
    size: tuple[int, int] = (640, 360),
    fps: int = 25,
    codec: str | None = None,
    container: str | None = None,
    creation_time: datetime | None = None,
    location: str | None = None,
    rotation: int = 0,
    audio: bool = True,
    apple_tags: bool = False,
    scene: np.ndarray | None = None,
) -> Path:
    """Write a short clip whose frames all differ, so decoders and dedup have real work to do.

    `container` is a suffix such as ".mov" (default: the path's suffix); `codec` defaults to H.264,
    or VP8 for WebM. `rotation` is the clockwise turn a player applies (90 for an upright phone, as
    the legacy `rotate` tag and exiftool count it). `apple_tags` adds the iPhone keys
    (creationdate with its local offset, ISO 6709 location, make and model) to mov/mp4 files.
    `scene` (an RGB picture) makes the frames a slow pan across it instead of the synthetic
    pattern: perceptual hashes and face detectors behave on it as on real footage.
    """
    suffix = (container or path.suffix).lower()
    if suffix not in _VIDEO_CONTAINERS:
        raise ValueError(f"make_video: unknown container {suffix!r}")
    fmt, default_codec, audio_codec = _VIDEO_CONTAINERS[suffix]
    options = {"movflags": "use_metadata_tags"} if apple_tags and fmt in _MOV_FAMILY else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=fmt, options=options) as out:
        out.metadata.update(_video_tags(creation_time, location, apple_tags))
        video = out.add_stream(codec or default_codec, rate=fps)
        assert isinstance(video, av.VideoStream)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        if rotation:
            # PyAV counts counter-clockwise; phones and exiftool count the player's clockwise turn.
            video.set_display_rotation(-rotation)
        sound = _add_audio_stream(out, audio_codec, 48000, 2) if audio else None
        frames = (
            _pattern_frames(size, fps, seconds)
            if scene is None
            else _panning_frames(scene, size, fps, seconds)
        )
        for frame in frames:
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            _encode_tone(out, sound, seconds)
    return path


def make_audio(path: Path, *, seconds: float = 1.0, tags: dict[str, str] | None = None) -> Path:
    """Write a voice-note-like tone in the suffix's format (.m4a .aac .ogg .opus .mp3 .wav .amr).

    `tags` go into the container as written (for example ``{"creation_time": ...}`` for .m4a or
    ``{"date": "2016-10-24"}`` for Ogg), so tests can check that the reader finds them.
    """
    suffix = path.suffix.lower()
    if suffix not in _AUDIO_FORMATS:
        raise ValueError(f"make_audio: unknown audio suffix {suffix!r}")
    fmt, codec, rate, channels = _AUDIO_FORMATS[suffix]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=fmt) as out:
        out.metadata.update(tags or {})
        stream = _add_audio_stream(out, codec, rate, channels)
        _encode_tone(out, stream, seconds)
    return path


def quicktime_time(moment: datetime) -> str:
    """Render a time the way FFmpeg's mov muxer expects `creation_time`: UTC with a Z."""
    if moment.tzinfo is None:
        raise ValueError("creation_time must be aware: QuickTime stores UTC")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _video_tags(
    creation_time: datetime | None, location: str | None, apple_tags: bool
) -> dict[str, str]:
    tags: dict[str, str] = {}
    if creation_time is not None:
        tags["creation_time"] = quicktime_time(creation_time)
    if location is not None:
        tags["location"] = location
    if apple_tags:
        tags["com.apple.quicktime.make"] = "Apple"
        tags["com.apple.quicktime.model"] = "iPhone 7"
        if location is not None:
            tags["com.apple.quicktime.location.ISO6709"] = location
        if creation_time is not None:
            tags["com.apple.quicktime.creationdate"] = creation_time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return tags


def _pattern_frames(size: tuple[int, int], fps: int, seconds: float) -> Iterator[av.VideoFrame]:
    width, height = size
    xs = np.arange(width, dtype=np.int32)[None, :]
    ys = np.arange(height, dtype=np.int32)[:, None]
    for index in range(max(1, round(seconds * fps))):
        image = np.empty((height, width, 3), dtype=np.uint8)
        image[:, :, 0] = ((xs + 6 * index) % 256).astype(np.uint8)
        image[:, :, 1] = ((ys + 3 * index) % 256).astype(np.uint8)
        image[:, :, 2] = ((xs + ys + 9 * index) % 256).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = index
        frame.time_base = Fraction(1, fps)
        yield frame


def _panning_frames(
    scene: np.ndarray, size: tuple[int, int], fps: int, seconds: float
) -> Iterator[av.VideoFrame]:
    """A window of 80 % of the picture drifting from its top left towards its bottom right."""
    import cv2

    height, width = scene.shape[:2]
    win_w, win_h = int(width * 0.8), int(height * 0.8)
    count = max(1, round(seconds * fps))
    for index in range(count):
        t = index / max(1, count - 1)
        x, y = round((width - win_w) * t), round((height - win_h) * t)
        crop = scene[y : y + win_h, x : x + win_w]
        image = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image, np.uint8), format="rgb24")
        frame.pts = index
        frame.time_base = Fraction(1, fps)
        yield frame


def _add_audio_stream(
    out: av.container.OutputContainer, codec: str, rate: int, channels: int
) -> av.AudioStream:
    stream = out.add_stream(codec, rate=rate)
    assert isinstance(stream, av.AudioStream)
    stream.layout = "stereo" if channels == 2 else "mono"
    if codec == "libopencore_amrnb":
        stream.bit_rate = 12200
    return stream


def _encode_tone(out: av.container.OutputContainer, stream: av.AudioStream, seconds: float) -> None:
    """Feed a 440 Hz tone in the encoder's own sample format, frame_size samples at a time."""
    rate = stream.codec_context.sample_rate
    layout = stream.codec_context.layout.name
    channels = stream.codec_context.layout.nb_channels
    sample_format = stream.codec_context.format.name
    chunk = stream.codec_context.frame_size or 1024
    total = round(seconds * rate)
    for start in range(0, total, chunk):
        count = min(chunk, total - start)
        t = np.arange(start, start + count) / rate
        wave = 0.3 * np.sin(2 * np.pi * 440 * t)
        frame = av.AudioFrame.from_ndarray(
            _samples(wave, channels, sample_format), format=sample_format, layout=layout
        )
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _samples(wave: np.ndarray, channels: int, sample_format: str) -> np.ndarray:
    """Lay out a mono wave as PyAV wants: planar formats one row per channel, packed interleaved."""
    if sample_format.startswith("s16"):
        values = (wave * 32767).astype(np.int16)
    elif sample_format.startswith("s32"):
        values = (wave * 2_147_483_647).astype(np.int32)
    else:
        values = wave.astype(np.float32)
    if sample_format.endswith("p"):
        return np.repeat(values[None, :], channels, axis=0)
    return np.repeat(values, channels)[None, :]
