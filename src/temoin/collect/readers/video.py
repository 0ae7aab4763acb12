"""Read a phone video's metadata (MP4, MOV, 3GP, M4V, MKV, WebM) and prove it decodes.

A witness's clip matters for when and where it was shot, so we read the capture time and the
ISO 6709 location phones write, and the display rotation that makes a portrait clip upright. We
decode exactly one frame: enough to reject a file a player could not open, cheap enough for a
phone dump of hundreds of clips. Cut-off files are caught by comparing the container's own box
or segment sizes with the file size, which a first-frame decode alone would miss.
"""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import av
import av.container
import av.error
import av.stream
import av.video.frame
import av.video.stream

from temoin.collect.readers.base import VIDEO, MediaInfo
from temoin.errors import Rejected

# Packets to demux while waiting for the first picture; decoders with frame delay need a few.
_MAX_PACKETS_FOR_FIRST_FRAME = 500

_LOCATION_KEYS = ("com.apple.quicktime.location.iso6709", "location", "location-eng")
_MAKE_KEYS = ("com.apple.quicktime.make", "com.android.manufacturer", "make")
_MODEL_KEYS = ("com.apple.quicktime.model", "com.android.model", "model")
_SOFTWARE_KEYS = ("com.apple.quicktime.software", "com.android.version")

# ISO 6709 as phones write it: "+48.8566+002.3522+035.000/" (altitude and CRS optional).
_ISO6709 = re.compile(
    r"^(?P<lat>[+-]\d+(?:\.\d+)?)(?P<lon>[+-]\d+(?:\.\d+)?)(?P<alt>[+-]\d+(?:\.\d+)?)?"
    r"(?:CRS[^/]*)?/?$"
)


def read_video(path: Path, mime: str) -> MediaInfo:
    """Read one video file; raise Rejected when it is cut short, undecodable or has no picture."""
    reason = truncation_reason(path)
    if reason is not None:
        raise Rejected(f"video is truncated: {reason}")
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            return _read_open_video(container, path, mime)
    except av.error.FFmpegError as exc:
        raise Rejected(f"video cannot be decoded: {ffmpeg_reason(exc)}") from exc


def has_video_stream(path: Path) -> bool:
    """Tell a video from audio in the same container (an .m4a is an MP4 too) for the sniffer.

    Cover art is stored as a one-picture video stream; it does not make a file a video.
    """
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            return _picture_stream(container) is not None
    except av.error.FFmpegError:
        return False


def parse_iso6709(value: str) -> dict[str, float | None] | None:
    """Turn an ISO 6709 point into {"lat", "lon", "alt"} degrees/metres, or None when not a point.

    Phones write decimal degrees, but the standard also allows packed DDMM(SS) forms, which some
    cameras use; both are read. The (0, 0) point is what some firmware writes without a fix.
    """
    match = _ISO6709.match(value.strip())
    if match is None:
        return None
    lat = _iso6709_degrees(match["lat"], degree_digits=2)
    lon = _iso6709_degrees(match["lon"], degree_digits=3)
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
        return None
    alt = float(match["alt"]) if match["alt"] else None
    return {"lat": lat, "lon": lon, "alt": alt}


def ffmpeg_reason(exc: av.error.FFmpegError) -> str:
    """FFmpeg's message without the file name it appends, which is only our temporary copy."""
    return str(exc.strerror or "unknown FFmpeg error").strip()


def truncation_reason(path: Path) -> str | None:
    """Say why the container's own sizes show the file was cut short, or None if they agree.

    Knows ISO BMFF (MP4/MOV/3GP/M4A), Matroska/WebM, RIFF/WAVE and Ogg; other formats get None.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(12)
        if head[4:8] == b"ftyp":
            return _isobmff_truncation(fh, size)
        if head[:4] == b"\x1a\x45\xdf\xa3":
            return _matroska_truncation(fh, size)
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            return _riff_truncation(head, size)
        if head[:4] == b"OggS":
            return _ogg_truncation(fh, size)
    return None


def _read_open_video(container: av.container.InputContainer, path: Path, mime: str) -> MediaInfo:
    stream = _picture_stream(container)
    if stream is None:
        raise Rejected("no video stream in the file (audio only?)")
    frame = _first_frame(container, stream)
    tags = _lower_keys(container.metadata)
    stream_tags = _lower_keys(stream.metadata)
    family = "matroska" if container.format.name.startswith("matroska") else "quicktime"
    meta: dict[str, Any] = {
        "duration_s": _duration(container, stream),
        "width": stream.codec_context.width,
        "height": stream.codec_context.height,
        "fps": _fps(stream),
        "video_codec": codec_name(stream),
        "audio_codec": _audio_codec(container),
        "rotation": _rotation(frame, stream_tags),
        "container": container_name(container, path),
        "bitrate": container.bit_rate or None,
    }
    meta.update(_device(tags))
    gps = _location(tags)
    if gps is not None:
        meta["gps"] = gps
    captured_at, source = _capture_time(tags, stream_tags, family)
    return MediaInfo(
        kind=VIDEO, mime=mime, meta=meta, captured_at=captured_at, capture_source=source
    )


def _picture_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _first_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> av.video.frame.VideoFrame:
    for count, packet in enumerate(container.demux(stream)):
        frames = [f for f in packet.decode() if isinstance(f, av.video.frame.VideoFrame)]
        if frames:
            return frames[0]
        if count >= _MAX_PACKETS_FOR_FIRST_FRAME:
            break
    raise Rejected("video cannot be decoded: no frame could be decoded")


def _duration(container: av.container.InputContainer, stream: av.stream.Stream) -> float | None:
    if container.duration:
        return round(container.duration / av.time_base, 3)
    if stream.duration and stream.time_base:
        return round(float(stream.duration * stream.time_base), 3)
    return None


def _fps(stream: av.stream.Stream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate
    return round(float(rate), 3) if rate else None


def _audio_codec(container: av.container.InputContainer) -> str | None:
    audio = container.streams.audio
    return codec_name(audio[0]) if audio else None


def _rotation(frame: av.video.frame.VideoFrame, stream_tags: dict[str, str]) -> int:
    """Clockwise degrees a player turns the picture (90 for an upright phone), as `rotate` counts.

    FFmpeg reports the display matrix counter-clockwise; old files only carry the `rotate` tag.
    """
    degrees = round(frame.rotation or 0)
    if degrees:
        return (-degrees) % 360
    try:
        return int(float(stream_tags.get("rotate", "0"))) % 360
    except ValueError:
        return 0


def container_name(container: av.container.InputContainer, path: Path) -> str:
    """Name the container as a person would (FFmpeg says "mov,mp4,m4a,3gp,3g2,mj2" for all)."""
    name = container.format.name
    if name.startswith("matroska"):
        return _matroska_doctype(path)
    if not name.startswith("mov,"):
        return name.split(",")[0]
    brand = container.metadata.get("major_brand", "").strip().lower()
    if brand == "qt":
        return "mov"
    if brand.startswith("3g"):
        return "3gp"
    return brand if brand in ("m4v", "m4a") else "mp4"


def codec_name(stream: av.stream.Stream) -> str:
    """The codec's canonical name ("mp3", "amr_nb", "av1"), not the decoder's ("mp3float")."""
    codec = stream.codec_context.codec
    return str(getattr(codec, "canonical_name", None) or codec.name)


def _device(tags: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, keys in (("make", _MAKE_KEYS), ("model", _MODEL_KEYS), ("software", _SOFTWARE_KEYS)):
        value = _first_tag(tags, keys)
        if value:
            found[name] = value
    return found


def _location(tags: dict[str, str]) -> dict[str, float | None] | None:
    for key in _LOCATION_KEYS:
        value = tags.get(key)
        if value and (point := parse_iso6709(value)) is not None:
            return point
    return None


def _capture_time(
    tags: dict[str, str], stream_tags: dict[str, str], family: str
) -> tuple[datetime | None, str | None]:
    """Prefer Apple's creationdate, which keeps the local offset; creation_time is UTC only."""
    local = parse_time(tags.get("com.apple.quicktime.creationdate"))
    if local is not None:
        return local, "quicktime:creationdate"
    for source in (tags, stream_tags):
        moment = parse_time(source.get("creation_time"))
        # Cameras with an unset clock write the epoch; that states nothing about the capture.
        if moment is not None and moment.year > 1970:
            aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            return aware.astimezone(UTC), f"{family}:creation_time"
    return None, None


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _iso6709_degrees(text: str, *, degree_digits: int) -> float | None:
    sign = -1.0 if text[0] == "-" else 1.0
    whole, _, fraction = text[1:].partition(".")
    fraction = f".{fraction}" if fraction else ""
    if len(whole) == degree_digits:
        return sign * float(whole + fraction)
    if len(whole) == degree_digits + 2:
        return sign * (int(whole[:degree_digits]) + float(whole[degree_digits:] + fraction) / 60)
    if len(whole) == degree_digits + 4:
        minutes = int(whole[degree_digits : degree_digits + 2])
        seconds = float(whole[degree_digits + 2 :] + fraction)
        return sign * (int(whole[:degree_digits]) + minutes / 60 + seconds / 3600)
    return None


def _first_tag(tags: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = tags.get(key, "").strip()
        if value:
            return value
    return None


def _lower_keys(tags: dict[str, str]) -> dict[str, str]:
    """Matroska upper-cases tag names; QuickTime keeps them as written."""
    return {key.lower(): value for key, value in tags.items()}


def _isobmff_truncation(fh: BinaryIO, size: int) -> str | None:
    """Walk the top-level boxes: a box that claims more bytes than remain was cut."""
    position = 0
    while position < size:
        fh.seek(position)
        header = fh.read(16)
        if len(header) < 8:
            return "the file ends inside a box header"
        box_size, box_type = struct.unpack(">I4s", header[:8])
        header_size = 8
        if box_size == 1:
            if len(header) < 16:
                return "the file ends inside a box header"
            box_size = struct.unpack(">Q", header[8:16])[0]
            header_size = 16
        elif box_size == 0:  # "extends to the end of the file"
            return None
        name = box_type.decode("ascii") if box_type.isalnum() else box_type.hex()
        if box_size < header_size:
            return f"box {name!r} has an impossible size"
        if position + box_size > size:
            return f"box {name!r} needs {position + box_size - size} more bytes"
        position += box_size
    return None


def _matroska_truncation(fh: BinaryIO, size: int) -> str | None:
    """The Segment element states its length unless it was written live (unknown size)."""
    fh.seek(0)
    head = fh.read(4096)
    try:
        _, header_size, offset = _ebml_element(head, 0)
        if header_size is None:
            return "the Matroska header states no size"
        segment_id, segment_size, data_start = _ebml_element(head, offset + header_size)
    except IndexError:
        return "the file ends inside the Matroska header"
    if segment_id != 0x18538067:
        return None
    if segment_size is not None and data_start + segment_size > size:
        return f"the Matroska segment needs {data_start + segment_size - size} more bytes"
    return None


def _ebml_element(data: bytes, position: int) -> tuple[int, int | None, int]:
    """Return (id, data size or None when unknown, data start) of the element at `position`."""
    id_length = _vint_length(data[position])
    element_id = int.from_bytes(data[position : position + id_length], "big")
    size_at = position + id_length
    size_length = _vint_length(data[size_at])
    raw = data[size_at : size_at + size_length]
    if len(raw) < size_length:
        raise IndexError("short EBML size")
    value = int.from_bytes(raw, "big") & ((1 << (7 * size_length)) - 1)
    unknown = value == (1 << (7 * size_length)) - 1
    return element_id, None if unknown else value, size_at + size_length


def _vint_length(first: int) -> int:
    for length in range(1, 9):
        if first & (0x80 >> (length - 1)):
            return length
    raise IndexError("invalid EBML variable-length integer")


def _matroska_doctype(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(64)
    return "webm" if b"webm" in head else "matroska"


def _riff_truncation(head: bytes, size: int) -> str | None:
    declared = struct.unpack("<I", head[4:8])[0]
    if declared in (0, 0xFFFFFFFF):  # written by a recorder that could not seek back
        return None
    if 8 + declared > size:
        return f"the RIFF chunk needs {8 + declared - size} more bytes"
    return None


def _ogg_truncation(fh: BinaryIO, size: int) -> str | None:
    """A finished Ogg stream ends with a whole page flagged end-of-stream."""
    tail_start = max(0, size - 65536)
    fh.seek(tail_start)
    tail = fh.read()
    at = tail.rfind(b"OggS")
    while at >= 0 and len(tail) - at < 27:
        at = tail.rfind(b"OggS", 0, at)
    if at < 0:
        return "no Ogg page found at the end of the file"
    segments = tail[at + 26]
    table = tail[at + 27 : at + 27 + segments]
    if len(table) < segments or at + 27 + segments + sum(table) > len(tail):
        return "the last Ogg page is incomplete"
    if not tail[at + 5] & 0x04:
        return "the Ogg stream has no end-of-stream page"
    return None
