"""Redacted derivatives of videos: upright, faces covered on every frame, no metadata.

The pipeline is two threads on purpose. A worker thread demuxes, decodes, turns frames upright and
runs the detector on a downscaled copy of every ``every``-th frame; the calling thread fills the
frames between detections, covers the faces and feeds x264. onnxruntime, OpenCV, NumPy and FFmpeg
all release the GIL, so on a two-core laptop both cores stay busy; encoding, not detection, sets
the floor.

Detecting on a subset of frames is only safe because of what happens between them. Boxes found on
consecutive detection frames are paired (overlap or nearby centres) and moved linearly across the
frames in between; a box with no partner on the next (or previous) detection frame is held where
it was for ``hold`` frames, growing a little each frame, so a face the detector missed once, or one
walking in or out, is still covered. Every frame's boxes are recorded for the review queue.

The output keeps the source's frame count and timestamps, is always upright (rotation is applied to
the pixels, not stored as a display matrix), and carries no metadata: the container is written
bit-exact (no encoder tag, zero dates), stream tags are emptied, and x264's SEI banner is removed.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from temoin.protect.anonymize import DEFAULT_MARGIN, Mode, Shape, anonymize_yuv420
from temoin.protect.detector import Box, FaceDetector
from temoin.protect.photo import Detection, NormBox, RedactionFailed

ManualBox = tuple[NormBox, float, float]  # normalised upright box, from second, to second
Progress = Callable[[int, int], None]

_COPYABLE_AUDIO = {"aac", "mp3"}
_QUEUE_FRAMES = 8  # decoded frames waiting for the encoder; bounds memory at ~8 frames
_HOLD_GROWTH = 0.04  # a held box grows by this share of its size per frame of holding
_MAX_HOLD_GROWTH = 0.4
_SEI_FILTER = "filter_units=remove_types=6"  # NAL type 6 carries x264's version banner


@dataclass
class VideoResult:
    frames: int
    fps: float
    width: int
    height: int
    detections: list[list[Detection]] = field(default_factory=list)  # one list per frame
    audio: str = "none"  # "copied", "aac" or "none"
    model_version: str = ""
    every: int = 1

    @property
    def covered(self) -> list[list[Detection]]:
        return [[d for d in frame if d.anonymised] for frame in self.detections]


Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class _Frame:
    index: int
    pts: int
    frame: av.VideoFrame  # upright, yuv420p, writable
    planes: Planes  # writable views into ``frame``
    found: list[Box] | None  # detector output when this is a detection frame
    boxes: list[tuple[Box, str]] = field(default_factory=list)


@dataclass
class _SourceInfo:
    time_base: Fraction
    rate: Fraction
    total: int
    audio: Any  # the input audio stream, or None
    start_pts: int = 0


_END = object()


def redact_video(
    src: Path,
    dst: Path,
    *,
    detector: FaceDetector,
    every: int = 3,
    detect_size: tuple[int, int] = (640, 360),
    keep_audio: bool = True,
    extra_boxes: Iterable[ManualBox] = (),
    progress: Progress | None = None,
    keep: Callable[[Box], bool] | None = None,
    hold: int | None = None,
    margin: float = DEFAULT_MARGIN,
    mode: Mode = "mosaic",
    shape: Shape = "rect",
    threshold: float = 0.2,
    crf: int = 20,
) -> VideoResult:
    """Write an H.264 MP4 of ``src`` to ``dst`` with faces covered on every frame.

    ``detect_size`` bounds the frame given to the detector as (long side, short side); faces far
    smaller than a tenth of the frame height may need a larger size. ``hold`` defaults to twice
    ``every``, which bridges one missed detection. Give the detector one thread
    (``FaceDetector(threads=1)``): the other core encodes. ``dst`` appears whole or not at all.
    """
    every = max(1, every)
    hold = 2 * every if hold is None else max(every, hold)
    manual = list(extra_boxes)
    tmp = Path(dst).with_name(f".{Path(dst).name}.part")
    source = _Source(Path(src), detector, every, detect_size, threshold, keep_audio)
    source.start()
    try:
        result = _encode(source, tmp, every, hold, manual, progress, keep, margin, mode, shape, crf)
        os.replace(tmp, dst)
    except av.error.FFmpegError as exc:
        raise RedactionFailed(f"{Path(src).name}: {exc}") from exc
    finally:
        source.stop()
        tmp.unlink(missing_ok=True)
    result.model_version = detector.model_version
    result.every = every
    return result


class _Source(threading.Thread):
    """Demux, decode, turn upright and detect, one step ahead of the encoder."""

    def __init__(
        self,
        path: Path,
        detector: FaceDetector,
        every: int,
        detect_size: tuple[int, int],
        threshold: float,
        keep_audio: bool,
    ) -> None:
        super().__init__(name="temoin-redact-source", daemon=True)
        self.path, self.detector, self.every = path, detector, every
        self.detect_size, self.threshold, self.keep_audio = detect_size, threshold, keep_audio
        self.items: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_FRAMES)
        self.info: _SourceInfo | None = None
        self.error: BaseException | None = None
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # handed to the encoding thread, which raises it
            self.error = exc
        finally:
            self._put(_END)

    def _put(self, item: Any) -> bool:
        while not self._stopping.is_set():
            try:
                self.items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        with av.open(str(self.path)) as container:
            if not container.streams.video:
                raise RedactionFailed(f"{self.path.name}: no video stream")
            video = container.streams.video[0]
            video.thread_type = "AUTO"
            wants_audio = self.keep_audio and container.streams.audio
            audio = container.streams.audio[0] if wants_audio else None
            rate = video.average_rate or video.guessed_rate or Fraction(25)
            total = video.frames or int(float(video.duration * video.time_base) * rate or 0)
            start = video.start_time or 0
            self.info = _SourceInfo(video.time_base, Fraction(rate), total, audio, start)
            self._put(self.info)
            index, last_pts = 0, None
            streams = [video] if audio is None else [video, audio]
            for packet in container.demux(*streams):
                if self._stopping.is_set():
                    return
                if packet.stream is audio:
                    if packet.size and packet.dts is not None:
                        self._put(packet)
                    continue
                for frame in packet.decode():
                    pts = frame.pts if frame.pts is not None else (last_pts or 0) + 1
                    if last_pts is not None and pts <= last_pts:
                        pts = last_pts + 1  # a broken timeline must not make x264 drop frames
                    last_pts = pts
                    upright = _upright(frame)
                    planes = _planes(upright)
                    found = self._detect(planes) if index % self.every == 0 else None
                    if not self._put(_Frame(index, pts, upright, planes, found)):
                        return
                    index += 1

    def _detect(self, planes: Planes) -> list[Box]:
        height, width = planes[0].shape
        small = _detector_input(planes, self.detect_size)
        small_h, small_w = small.shape[:2]
        biggest = max(small_w, small_h)
        found = self.detector.detect(small, threshold=self.threshold, max_side=biggest)
        return [b.scaled(width / small_w, height / small_h) for b in found]


def _detector_input(planes: Planes, detect_size: tuple[int, int]) -> np.ndarray:
    """A small RGB copy for the detector, scaled straight from the YUV planes.

    At 720p the chroma planes are already detector-sized, so only luma is shrunk and one small
    colour conversion is paid, instead of converting the whole frame to RGB.
    """
    luma, cb, cr = planes
    height, width = luma.shape
    long_side, short_side = max(detect_size), min(detect_size)
    factor = min(1.0, long_side / max(width, height), short_side / min(width, height))
    small_w = max(2, round(width * factor / 2) * 2)
    small_h = max(2, round(height * factor / 2) * 2)
    chroma = (small_w // 2, small_h // 2)
    parts = [
        cv2.resize(luma, (small_w, small_h), interpolation=cv2.INTER_AREA),
        cv2.resize(cb, chroma, interpolation=cv2.INTER_AREA),
        cv2.resize(cr, chroma, interpolation=cv2.INTER_AREA),
    ]
    i420 = np.concatenate([p.reshape(-1) for p in parts]).reshape(small_h * 3 // 2, small_w)
    return cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)


def _planes(frame: av.VideoFrame) -> Planes:
    """Writable views of a yuv420p frame's planes, without their row padding."""
    views = [
        np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        for plane in frame.planes
    ]
    return views[0], views[1], views[2]


def _upright(frame: av.VideoFrame) -> av.VideoFrame:
    """The frame as a player shows it, in yuv420p, safe to draw on.

    Decoded frames may still serve the decoder as references, so they are made writable (copied
    if shared) before anything is drawn on them.
    """
    turns = round((frame.rotation or 0) / 90) % 4  # counter-clockwise, as np.rot90 counts
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    else:
        frame.make_writable()
    if not turns:
        return frame
    rotated = [np.rot90(p, k=turns) for p in _planes(frame)]
    upright = av.VideoFrame(rotated[0].shape[1], rotated[0].shape[0], "yuv420p")
    for target, plane in zip(_planes(upright), rotated, strict=True):
        target[...] = plane
    return upright


def _encode(
    source: _Source,
    tmp: Path,
    every: int,
    hold: int,
    manual: list[ManualBox],
    progress: Progress | None,
    keep: Callable[[Box], bool] | None,
    margin: float,
    mode: Mode,
    shape: Shape,
    crf: int,
) -> VideoResult:
    items = _items(source)
    info = next(items)
    if not isinstance(info, _SourceInfo):
        raise RedactionFailed(f"{source.path.name}: no video frames")
    early_audio: list[av.Packet] = []
    first: _Frame | None = None
    for item in items:
        if isinstance(item, _Frame):
            first = item
            break
        early_audio.append(item)
    if first is None:
        raise RedactionFailed(f"{source.path.name}: no video frames")
    height, width = first.planes[0].shape
    tracker = _Tracker(every, hold)
    result = VideoResult(frames=0, fps=float(info.rate), width=width, height=height)
    options = {"movflags": "+faststart", "fflags": "+bitexact"}
    with av.open(str(tmp), "w", format="mp4", container_options=options) as out:
        video = _video_stream(out, info, width, height, crf)
        sei_filter = av.bitstream.BitStreamFilterContext(_SEI_FILTER, "h264")
        audio_out = _AudioOut(out, info.audio) if info.audio is not None else None
        result.audio = audio_out.kind if audio_out else "none"
        for packet in early_audio:
            if audio_out is not None:
                audio_out.write(packet)

        def write(done: _Frame) -> None:
            seconds = float((done.pts - info.start_pts) * info.time_base)
            boxes = done.boxes + [
                (Box.from_normalised(b, width, height), "manual")
                for b, t0, t1 in manual
                if t0 <= seconds <= t1
            ]
            records, covered = [], []
            for box, origin in boxes:
                hide = origin == "manual" or keep is None or not keep(box)
                records.append(Detection(box.normalised(width, height), box.score, hide, origin))
                if hide:
                    covered.append(box)
            anonymize_yuv420(done.planes, covered, margin=margin, mode=mode, shape=shape)
            frame = done.frame
            frame.pts, frame.time_base = done.pts, info.time_base
            frame.pict_type = av.video.frame.PictureType.NONE  # let x264 choose frame types
            _mux_video(out, video, sei_filter, video.encode(frame))
            result.detections.append(records)
            result.frames += 1
            if progress is not None:
                progress(result.frames, max(info.total, result.frames))

        for done in tracker.push(first):
            write(done)
        for item in items:
            if isinstance(item, _Frame):
                for done in tracker.push(item):
                    write(done)
            elif audio_out is not None:
                audio_out.write(item)
        for done in tracker.finish():
            write(done)
        _mux_video(out, video, sei_filter, video.encode(None))
        _mux_video(out, video, sei_filter, sei_filter.filter(None))
        if audio_out is not None:
            audio_out.flush()
    return result


def _items(source: _Source) -> Iterator[Any]:
    while True:
        item = source.items.get()
        if item is _END:
            if source.error is not None:
                if isinstance(source.error, RedactionFailed | av.error.FFmpegError):
                    raise source.error
                raise RedactionFailed(f"{source.path.name}: {source.error}") from source.error
            return
        yield item


def _video_stream(
    out: av.container.OutputContainer, info: _SourceInfo, width: int, height: int, crf: int
) -> av.VideoStream:
    stream = out.add_stream("libx264", rate=info.rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.time_base = info.time_base
    stream.options = {"preset": "veryfast", "crf": str(crf)}
    stream.metadata.clear()
    return stream


def _mux_video(
    out: av.container.OutputContainer,
    stream: av.VideoStream,
    sei_filter: av.bitstream.BitStreamFilterContext,
    packets: Iterable[av.Packet],
) -> None:
    for packet in packets:
        for clean in sei_filter.filter(packet) if packet.size else [packet]:
            clean.stream = stream
            out.mux(clean)


class _AudioOut:
    """Copies AAC/MP3 packets untouched; anything else is re-encoded to AAC."""

    def __init__(self, out: av.container.OutputContainer, source: Any) -> None:
        self.out = out
        self.copy = source.codec_context.name in _COPYABLE_AUDIO
        self.kind = "copied" if self.copy else "aac"
        if self.copy:
            self.stream = out.add_stream_from_template(source)
        else:
            ctx = source.codec_context
            self.stream = out.add_stream("aac", rate=ctx.sample_rate)
            self.stream.layout = ctx.layout
            self.resampler = av.AudioResampler("fltp", ctx.layout, ctx.sample_rate)
        self.stream.metadata.clear()

    def write(self, packet: av.Packet) -> None:
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


class _Tracker:
    """Gives every frame its boxes once the detection frames that bear on it are known.

    A frame is settled when a detection frame ``max(hold, every)`` frames later has arrived (or
    the stream ended): by then every box that could be interpolated or held onto it is known.
    """

    def __init__(self, every: int, hold: int) -> None:
        self.every, self.hold = every, hold
        self.pending: deque[_Frame] = deque()
        self.found: dict[int, list[Box]] = {}
        self.links: dict[int, dict[int, int]] = {}  # detection frame -> its box i -> next box j
        self.latest = -1

    def push(self, frame: _Frame) -> list[_Frame]:
        self.pending.append(frame)
        if frame.found is not None:
            self._add_detections(frame.index, frame.found)
        self.latest = frame.index
        return self._settle(final=False)

    def finish(self) -> list[_Frame]:
        return self._settle(final=True)

    def _add_detections(self, index: int, boxes: list[Box]) -> None:
        previous = max((i for i in self.found if i < index), default=None)
        self.found[index] = boxes
        if previous is not None:
            self.links[previous] = _match(self.found[previous], boxes)
        for old in [i for i in self.found if i < index - 2 * (self.hold + self.every)]:
            self.found.pop(old)
            self.links.pop(old, None)

    def _settle(self, *, final: bool) -> list[_Frame]:
        ready: list[_Frame] = []
        reach = max(self.hold, self.every)
        while self.pending and (final or self.pending[0].index + reach <= self._last_detection()):
            frame = self.pending.popleft()
            frame.boxes = self._boxes_for(frame.index, final)
            ready.append(frame)
        return ready

    def _last_detection(self) -> int:
        return max(self.found, default=-1)

    def _boxes_for(self, index: int, final: bool) -> list[tuple[Box, str]]:
        detections = sorted(self.found)
        before = max((d for d in detections if d <= index), default=None)
        after = min((d for d in detections if d > index), default=None)
        boxes: list[tuple[Box, str]] = []
        if before == index:
            boxes += [(b, "detector") for b in self.found[index]]
        elif before is not None and after is not None:
            t = (index - before) / (after - before)
            for i, j in self.links.get(before, {}).items():
                box = _lerp(self.found[before][i], self.found[after][j], t)
                boxes.append((box, "interpolated"))
        for d in detections:
            distance = abs(d - index)
            if d == index or distance > self.hold:
                continue
            if d < index:
                linked = self.links.get(d, {}) if self._has_next(d) else {}
                loose = [b for i, b in enumerate(self.found[d]) if i not in linked]
            else:
                previous = self._previous(d)
                links = self.links.get(previous, {}) if previous is not None else {}
                linked_back = set(links.values())
                loose = [b for i, b in enumerate(self.found[d]) if i not in linked_back]
            growth = min(_MAX_HOLD_GROWTH, _HOLD_GROWTH * distance)
            boxes += [(_grow(b, growth), "held") for b in loose]
        return boxes

    def _has_next(self, d: int) -> bool:
        return any(i > d for i in self.found)

    def _previous(self, d: int) -> int | None:
        return max((i for i in self.found if i < d), default=None)


def _match(a: list[Box], b: list[Box]) -> dict[int, int]:
    """Pair boxes of two detection frames, best overlap first; returns ``{i in a: j in b}``."""
    candidates: list[tuple[float, int, int]] = []
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            iou = _iou(p, q)
            size = max(p.width, p.height, q.width, q.height, 1.0)
            dx = (p.x0 + p.x1 - q.x0 - q.x1) / 2
            dy = (p.y0 + p.y1 - q.y0 - q.y1) / 2
            distance = float(np.hypot(dx, dy)) / size
            if iou > 0.1 or distance < 0.75:
                candidates.append((iou - distance, i, j))
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in sorted(candidates, reverse=True):
        if i not in pairs and j not in used:
            pairs[i] = j
            used.add(j)
    return pairs


def _iou(p: Box, q: Box) -> float:
    iw = min(p.x1, q.x1) - max(p.x0, q.x0)
    ih = min(p.y1, q.y1) - max(p.y0, q.y0)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (p.area + q.area - inter)


def _lerp(p: Box, q: Box, t: float) -> Box:
    return Box(
        p.x0 + (q.x0 - p.x0) * t,
        p.y0 + (q.y0 - p.y0) * t,
        p.x1 + (q.x1 - p.x1) * t,
        p.y1 + (q.y1 - p.y1) * t,
        min(p.score, q.score),
    )


def _grow(box: Box, share: float) -> Box:
    dx, dy = box.width * share / 2, box.height * share / 2
    return Box(box.x0 - dx, box.y0 - dy, box.x1 + dx, box.y1 + dy, box.score)
