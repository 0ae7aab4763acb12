"""Derivatives of voice notes: the sound alone, in an M4A file that carries nothing else.

A voice note's container holds tags (recording app, device, dates, sometimes a location) and the
file's name holds its time. The derivative is a fresh MP4 audio file: the sound copied untouched
when it is AAC or MP3, re-encoded to AAC otherwise (Opus, AMR and WAV notes), written bit-exact
with zero dates and empty tags. Nothing is done to the voices themselves: whether a voice may be
heard is the reviewer's decision, recorded as voice links and checked by the gate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av

from temoin.errors import RedactionFailed
from temoin.protect.sound import SoundOut


@dataclass(frozen=True)
class AudioResult:
    seconds: float
    sound: str  # "copied" or "aac"
    codec: str  # of the source


def redact_audio(src: Path, dst: Path) -> AudioResult:
    """Write ``src``'s first sound stream to ``dst`` as bare M4A; ``dst`` appears whole or not at all."""
    tmp = Path(dst).with_name(f".{Path(dst).name}.part")
    options = {"movflags": "+faststart", "fflags": "+bitexact"}
    try:
        with av.open(str(src)) as container:
            if not container.streams.audio:
                raise RedactionFailed(f"{Path(src).name}: no sound stream")
            stream = container.streams.audio[0]
            codec = stream.codec_context.name
            last = 0.0
            with av.open(str(tmp), "w", format="mp4", container_options=options) as out:
                sound = SoundOut(out, stream)
                for packet in container.demux(stream):
                    if packet.size and packet.dts is not None:
                        if packet.pts is not None and packet.time_base is not None:
                            end = packet.pts + (packet.duration or 0)
                            last = max(last, float(end * packet.time_base))
                        sound.write(packet)
                sound.flush()
        os.replace(tmp, dst)
    except av.error.FFmpegError as exc:
        raise RedactionFailed(f"{Path(src).name}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return AudioResult(round(last, 3), sound.kind, codec)
