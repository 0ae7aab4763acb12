"""Read a voice note's metadata (M4A, ADTS AAC, Ogg Opus/Vorbis, MP3, WAV, AMR) and prove it plays.

Voice notes are often the only record of what was said at an eviction, and phones cut them short
when a battery dies or an upload stalls. So besides duration and codec we check that the file is
whole: the container's own sizes where it has them, the last frame's declared length where it
does not, and a decode of the first frames. Mutagen reads the stream parameters of the formats it
knows; PyAV covers AMR, the tags FFmpeg normalises (``creation_time``, ``date``) and the decode.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import av
import av.container
import av.error
import av.packet
import av.stream
import mutagen
import mutagen.aac
import mutagen.mp3
import mutagen.mp4
import mutagen.oggopus
import mutagen.oggvorbis
import mutagen.wave

from temoin.collect.readers.base import AUDIO, MediaInfo
from temoin.collect.readers.video import (
    codec_name,
    container_name,
    ffmpeg_reason,
    parse_time,
    truncation_reason,
)
from temoin.errors import Rejected

# Decode this many packets: enough to meet a broken stream early, cheap for hour-long recordings.
_PACKETS_TO_DECODE = 50

_MP3_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_MP3_RATES = (44100, 48000, 32000)
# Speech bytes after the table-of-contents byte, by AMR-NB frame type (3GPP TS 26.101).
_AMR_NB_FRAME_BYTES = (12, 13, 15, 17, 19, 20, 26, 31, 5, 6, 5, 5, 0, 0, 0, 0)


def read_audio(path: Path, mime: str) -> MediaInfo:
    """Read one audio file; raise Rejected when it is cut short, unreadable or undecodable."""
    reason = truncation_reason(path) or _frame_walk_truncation(path)
    if reason is not None:
        raise Rejected(f"audio is truncated: {reason}")
    meta = _mutagen_info(path)
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            meta = _ffmpeg_info(container, path) | meta
            tags = _tags(container)
            family = "quicktime" if container.format.name.startswith("mov,") else "tag"
    except av.error.FFmpegError as exc:
        raise Rejected(f"audio cannot be decoded: {ffmpeg_reason(exc)}") from exc
    captured_at, source = _capture_time(tags, family)
    if "date" in tags:
        meta["date_tag"] = tags["date"]
    return MediaInfo(
        kind=AUDIO, mime=mime, meta=meta, captured_at=captured_at, capture_source=source
    )


def _mutagen_info(path: Path) -> dict[str, Any]:
    """Stream parameters from Mutagen for the formats it parses; {} for the others (AMR)."""
    reader = _mutagen_class(path)
    if reader is None:
        return {}
    try:
        info = reader(str(path)).info
    except mutagen.MutagenError as exc:
        detail = str(exc).strip() or f"not a valid {reader.__name__} file"
        raise Rejected(f"audio cannot be read: {detail}") from exc
    if info is None:
        raise Rejected("audio cannot be read: no stream information")
    found: dict[str, Any] = {"duration_s": round(float(info.length), 3)}
    for name, attribute in (("sample_rate", "sample_rate"), ("channels", "channels")):
        value = getattr(info, attribute, None)
        if value:
            found[name] = int(value)
    bitrate = getattr(info, "bitrate", None)
    if bitrate:
        found["bitrate"] = int(bitrate)
    return found


def _mutagen_class(path: Path) -> type[mutagen.FileType] | None:
    """Pick Mutagen's parser from the bytes: the archive copy may have lost its file name."""
    with path.open("rb") as fh:
        head = fh.read(64)
    if head[4:8] == b"ftyp":
        return mutagen.mp4.MP4
    if head[:4] == b"OggS":
        return mutagen.oggopus.OggOpus if b"OpusHead" in head else mutagen.oggvorbis.OggVorbis
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return mutagen.wave.WAVE
    if head[:3] == b"ID3":
        return mutagen.mp3.MP3
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF0 == 0xF0:
        return mutagen.aac.AAC if head[1] & 0x06 == 0 else mutagen.mp3.MP3
    return None


def _ffmpeg_info(container: av.container.InputContainer, path: Path) -> dict[str, Any]:
    """Codec name, fallbacks for what Mutagen did not say, and the decode check."""
    if not container.streams.audio:
        raise Rejected("no audio stream in the file")
    stream = container.streams.audio[0]
    context = stream.codec_context
    found: dict[str, Any] = {
        "codec": codec_name(stream),
        "sample_rate": context.sample_rate or None,
        "channels": context.channels or None,
        "bitrate": container.bit_rate or None,
        "duration_s": round(container.duration / av.time_base, 3) if container.duration else None,
        "container": container_name(container, path),
    }
    _check_packets(container, stream)
    return found


def _check_packets(container: av.container.InputContainer, stream: av.stream.Stream) -> None:
    """Decode the first packets and only demux the rest: a cut last frame shows without decoding."""
    decoded = 0
    last: av.packet.Packet | None = None
    for index, packet in enumerate(container.demux(stream)):
        if packet.size == 0:
            continue
        if index < _PACKETS_TO_DECODE:
            decoded += len(packet.decode())
        last = packet
    if last is None or decoded == 0:
        raise Rejected("audio cannot be decoded: no audio frame could be decoded")
    if _frame_cut_short(bytes(last)):
        raise Rejected("audio is truncated: the last frame is incomplete")


def _frame_cut_short(frame: bytes) -> bool:
    """An MP3 frame states its own length; a shorter last packet was cut by the file's end."""
    if len(frame) < 4 or frame[0] != 0xFF or frame[1] & 0xE0 != 0xE0:
        return False
    declared = _mp3_frame_length(frame)
    return declared is not None and len(frame) < declared


def _frame_walk_truncation(path: Path) -> str | None:
    """ADTS and AMR have no container sizes, and FFmpeg silently drops a cut last frame: walk them.

    Each frame header gives its length, so the walk reads a few bytes per frame and never the audio.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(6)
        if head == b"#!AMR\n":
            return _amr_walk(fh, size)
        if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
            return _adts_walk(fh, size)
    return None


def _adts_walk(fh: BinaryIO, size: int) -> str | None:
    position = 0
    while position < size:
        fh.seek(position)
        header = fh.read(7)
        if header[:3] == b"TAG" and size - position == 128:  # ID3v1 tag at the end
            return None
        if len(header) < 7:
            return "the file ends inside an ADTS frame header"
        if header[0] != 0xFF or header[1] & 0xF6 != 0xF0:
            return f"ADTS frame sync lost at byte {position}"
        length = ((header[3] & 0x03) << 11) | (header[4] << 3) | (header[5] >> 5)
        if length < 7:
            return f"ADTS frame at byte {position} has an impossible length"
        if position + length > size:
            return "the last ADTS frame is incomplete"
        position += length
    return None


def _amr_walk(fh: BinaryIO, size: int) -> str | None:
    position = 6
    while position < size:
        fh.seek(position)
        frame_type = (fh.read(1)[0] >> 3) & 0x0F
        length = 1 + _AMR_NB_FRAME_BYTES[frame_type]
        if position + length > size:
            return "the last AMR frame is incomplete"
        position += length
    return None


def _mp3_frame_length(header: bytes) -> int | None:
    version = (header[1] >> 3) & 0x03  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    layer = (header[1] >> 1) & 0x03  # 1: Layer III
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 0x03
    if layer != 1 or version == 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    table = _MP3_BITRATES_V1 if version == 3 else _MP3_BITRATES_V2
    rate = _MP3_RATES[rate_index] // {3: 1, 2: 2, 0: 4}[version]
    samples_factor = 144 if version == 3 else 72
    padding = (header[2] >> 1) & 0x01
    return samples_factor * table[bitrate_index] * 1000 // rate + padding


def _tags(container: av.container.InputContainer) -> dict[str, str]:
    """FFmpeg maps ©day, TDRC, Vorbis DATE and RIFF ICRD to `date`; Ogg keeps tags per stream."""
    tags: dict[str, str] = {}
    for source in [container.metadata, *(s.metadata for s in container.streams.audio[:1])]:
        for key, value in source.items():
            tags.setdefault(key.lower(), value)
    return tags


def _capture_time(tags: dict[str, str], family: str) -> tuple[datetime | None, str | None]:
    """QuickTime's creation_time is UTC; a date tag counts only when it carries a time of day."""
    moment = parse_time(tags.get("creation_time"))
    if moment is not None and moment.year > 1970:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.astimezone(UTC), f"{family}:creation_time"
    date = tags.get("date", "")
    if len(date) > 10:
        moment = parse_time(date)
        if moment is not None:
            return moment, "tag:date"
    return None, None
