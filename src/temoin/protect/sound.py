"""Sound tracks written into derivatives: copied untouched where the codec allows, else AAC.

A video's sound and a voice note go through the same writer, so both come out the same way: no
stream tags, no encoder banner, timestamps from the source.
"""

from __future__ import annotations

from typing import Any

import av

COPYABLE = {"aac", "mp3"}
AAC_BITRATE = 96_000  # per stream; speech and ambient sound, not music mastering


class SoundOut:
    """One output sound stream fed with the source stream's packets."""

    def __init__(self, out: av.container.OutputContainer, source: Any) -> None:
        self.out = out
        self.copy = source.codec_context.name in COPYABLE
        self.kind = "copied" if self.copy else "aac"
        if self.copy:
            self.stream = out.add_stream_from_template(source)
        else:
            ctx = source.codec_context
            rate = ctx.sample_rate or 48000
            self.stream = out.add_stream("aac", rate=rate)
            self.stream.layout = ctx.layout
            self.stream.bit_rate = AAC_BITRATE
            self.resampler = av.AudioResampler("fltp", ctx.layout, rate)
        self.stream.metadata.clear()

    def write(self, packet: av.Packet[av.AudioStream]) -> None:
        if self.copy:
            packet.stream = self.stream
            self.out.mux(packet)
            return
        for frame in packet.decode():
            for resampled in self.resampler.resample(frame):
                resampled.pts = None
                self.out.mux(self.stream.encode(resampled))

    def flush(self) -> None:
        if not self.copy:
            for resampled in self.resampler.resample(None):
                resampled.pts = None
                self.out.mux(self.stream.encode(resampled))
            self.out.mux(self.stream.encode(None))
