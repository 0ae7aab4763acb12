"""Redacted derivatives of videos: upright, every face track covered on every frame, no metadata.

The pipeline is two threads on purpose. A worker thread demuxes, decodes, turns frames upright,
watches for hard cuts, runs the detection passes of the recall profile on detection frames and
builds face tracks (see `temoin.protect.tracks`); it holds each frame back until no later detection
can change its boxes. The calling thread covers the faces and feeds x264. onnxruntime, OpenCV,
NumPy and FFmpeg all release the GIL, so on a two-core laptop both cores stay busy.

Detection frames are every ``every``-th frame of a scene, and the first frame of every scene: a
hard cut is found by comparing each frame's thumbnail with the previous one, so the faces of a new
shot are covered from its first frame rather than from the next scheduled detection. A cut is a
frame whose thumbnail changed a lot *and* whose colour histogram did too: a fast pan moves every
pixel but keeps the colours, a cut replaces both. When a
detection frame starts a new track (a face walking in, or one the detector only now sees), the
frames skipped since the previous detection are searched again, backwards, for that face, so it is
covered from the frame where it appeared; the track's margin then covers a little more.

Tracks are returned with the result and stored with the derivative. Rendering the same original
again with the same detection settings (after a reviewer's decision) replays them instead of
detecting, so the numbers a reviewer saw keep naming the same faces.

The output keeps the source's frame count and timestamps, is always upright (rotation is applied to
the pixels, not stored as a display matrix), and carries no metadata: the container is written
bit-exact (no encoder tag, zero dates), stream tags are emptied, and x264's SEI banner is removed.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import cv2
import numpy as np

from temoin.errors import RedactionFailed
from temoin.protect.anonymize import DEFAULT_MARGIN, Mode, Shape, anonymize_yuv420
from temoin.protect.detector import Box, FaceDetector
from temoin.protect.passes import look
from temoin.protect.photo import Detection, NormBox
from temoin.protect.profiles import DEFAULT_PROFILE, PROFILES, PassName, Profile
from temoin.protect.sound import SoundOut
from temoin.protect.tracks import Contacts, Margins, Sweep, Track, Tracker

ManualBox = tuple[NormBox, float, float]  # normalised upright box, from second, to second
Progress = Callable[[int, int], None]

DETECT_SHORT_SIDE = 360  # lines of the detector's copy of a frame below 1080 lines
CUT_LEVEL = 12.0  # mean luma change of a 64x36 thumbnail (0-255) ...
CUT_COLOURS = 0.12  # ... and share of its colour histogram that moved, for a hard cut
_THUMB = (64, 36)
_CHROMA_THUMB = (32, 18)
_QUEUE_FRAMES = 8  # settled frames waiting for the encoder
_SEI_FILTER = "filter_units=remove_types=6"  # NAL type 6 carries x264's version banner


@dataclass(frozen=True)
class StoredTracks:
    """The tracks of an earlier rendering of the same original with the same settings."""

    tracks: list[Track]
    cuts: list[int]
    margins: Margins
    frames: int  # how many frames they were found on: a replay must decode exactly as many


class TracksMismatch(RedactionFailed):
    """Stored tracks do not fit the video as it decodes now (another decoder?): analyse again."""


@dataclass
class VideoResult:
    frames: int
    fps: float
    width: int
    height: int
    detections: list[list[Detection]] = field(default_factory=list)  # one list per frame
    tracks: list[Track] = field(default_factory=list)
    cuts: list[int] = field(default_factory=list)  # first frame of each scene
    margins: Margins | None = None
    audio: str = "none"  # "copied", "aac" or "none"
    model_version: str = ""
    profile: str = DEFAULT_PROFILE
    every: int = 1
    detect_short_side: int = DETECT_SHORT_SIDE
    detection_frames: int = 0  # frames the passes ran on, backward passes included
    replayed: bool = False  # rendered from stored tracks, without running the detector
    covered_from: dict[int, int] = field(
        default_factory=dict
    )  # visible track -> first covered frame

    @property
    def covered(self) -> list[list[Detection]]:
        return [[d for d in frame if d.anonymised] for frame in self.detections]

    @property
    def kept_frames(self) -> int:
        """Frames on which a face was left visible (a linked track of a consenting person)."""
        return sum(1 for frame in self.detections if any(not d.anonymised for d in frame))


Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class _Frame:
    index: int
    pts: int
    frame: av.VideoFrame  # upright, yuv420p, writable
    planes: Planes  # writable views into ``frame``
    boxes: list[tuple[Box, str, int]] = field(default_factory=list)  # box, origin, track
    small: np.ndarray | None = None  # the detector's RGB copy, made on demand


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
    profile: Profile | str = DEFAULT_PROFILE,
    every: int | None = None,
    detect_short_side: int | None = None,
    keep_audio: bool = True,
    extra_boxes: Iterable[ManualBox] = (),
    progress: Progress | None = None,
    keep_tracks: Collection[int] = (),
    stored: StoredTracks | None = None,
    margin: float = DEFAULT_MARGIN,
    mode: Mode = "mosaic",
    shape: Shape = "rect",
    threshold: float = 0.2,
    crf: int = 20,
) -> VideoResult:
    """Write an H.264 MP4 of ``src`` to ``dst`` with every face track covered on every frame.

    ``profile`` names the detection passes (see `temoin.protect.passes`); ``every`` overrides its
    spacing of detection frames. ``keep_tracks`` are track numbers left visible (a reviewer
    linked them to a person whose consent covers faces); they only make sense with ``stored``,
    the tracks those numbers refer to. A kept track is covered again from the first frame on
    which it touches another track (`temoin.protect.tracks.Contacts`). Stored tracks that do not
    fit the video as it decodes raise `TracksMismatch`. ``dst`` appears whole or not at all.

    On two cores, a detector with two threads (without spinning) measured faster than one: the
    encoder waits on detection often enough to leave it the second core.
    """
    chosen = PROFILES[profile] if isinstance(profile, str) else profile
    spacing = max(1, every or chosen.every)
    if keep_tracks and stored is None:
        raise ValueError("keep_tracks names tracks of a stored analysis; give it as `stored`")
    manual = list(extra_boxes)
    tmp = Path(dst).with_name(f".{Path(dst).name}.part")
    source = _Source(
        Path(src), detector, chosen, spacing, detect_short_side, threshold, keep_audio, stored
    )
    source.start()
    try:
        result = _encode(source, tmp, manual, progress, set(keep_tracks), margin, mode, shape, crf)
        if stored is not None and result.frames != stored.frames:
            raise TracksMismatch(
                f"{Path(src).name}: {result.frames} frames decoded, the stored tracks were "
                f"found on {stored.frames}"
            )
        os.replace(tmp, dst)
    except av.error.FFmpegError as exc:
        raise RedactionFailed(f"{Path(src).name}: {exc}") from exc
    finally:
        source.stop()
        tmp.unlink(missing_ok=True)
    result.model_version = detector.model_version
    result.profile, result.every = chosen.name, spacing
    result.detect_short_side = source.short_side
    result.detection_frames = source.looks
    result.replayed = stored is not None
    if stored is not None:
        result.tracks, result.cuts, result.margins = stored.tracks, stored.cuts, stored.margins
    else:
        assert source.tracker is not None
        result.tracks, result.cuts = source.tracker.tracks, source.tracker.cuts
        result.margins = source.tracker.margins
    return result


class _Source(threading.Thread):
    """Demux, decode, turn upright, detect and track, a look-ahead window before the encoder."""

    def __init__(
        self,
        path: Path,
        detector: FaceDetector,
        profile: Profile,
        every: int,
        detect_short_side: int | None,
        threshold: float,
        keep_audio: bool,
        stored: StoredTracks | None,
    ) -> None:
        super().__init__(name="temoin-redact-source", daemon=True)
        self.path, self.detector, self.profile, self.every = path, detector, profile, every
        self.threshold, self.keep_audio, self.stored = threshold, keep_audio, stored
        self.wanted_short_side = detect_short_side
        self.short_side = detect_short_side or DETECT_SHORT_SIDE
        self.items: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_FRAMES)
        self.info: _SourceInfo | None = None
        self.error: BaseException | None = None
        self.tracker: Tracker | None = None
        self.looks = 0  # detection passes run (frames looked at)
        self._stopping = threading.Event()
        self._buffer: deque[_Frame] = deque()
        self._thumb: tuple[np.ndarray, np.ndarray] | None = None
        self._scene_start = 0
        self._last_detection = -1
        self._detections = 0
        self._replay = (
            Sweep(sorted(stored.tracks, key=lambda t: t.first), stored.cuts, stored.margins)
            if stored is not None
            else None
        )

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
            if self.detector.threads == 1:  # one core for the whole rendering (a queue worker)
                video.thread_count = 1
            else:
                video.thread_type = "AUTO"
            wants_audio = self.keep_audio and container.streams.audio
            audio = container.streams.audio[0] if wants_audio else None
            rate = video.average_rate or video.guessed_rate or Fraction(25)
            base = video.time_base
            if base is None:
                raise RedactionFailed(f"{self.path.name}: the video stream has no time base")
            length = video.duration
            total = video.frames or (int(float(length * base) * rate) if length else 0)
            start = video.start_time or 0
            self.info = _SourceInfo(base, Fraction(rate), total, audio, start)
            if self.stored is None:
                self.tracker = Tracker(Margins.for_video(self.every, float(rate)))
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
                    if not isinstance(frame, av.VideoFrame):
                        continue
                    pts = frame.pts if frame.pts is not None else (last_pts or 0) + 1
                    if last_pts is not None and pts <= last_pts:
                        pts = last_pts + 1  # a broken timeline must not make x264 drop frames
                    last_pts = pts
                    upright = _upright(frame)
                    if not self._take(_Frame(index, pts, upright, _planes(upright))):
                        return
                    index += 1
            if self.stored is None:
                if self._buffer and self._buffer[-1].index > self._last_detection:
                    self._detect(self._buffer[-1])  # the last frames get a look too
                self._settle(final=True)

    def _take(self, item: _Frame) -> bool:
        if item.index == 0:
            height, width = item.planes[0].shape
            if self.wanted_short_side is None and min(width, height) >= 1080:
                self.short_side = self.profile.hd_short_side
        if self._replay is not None:
            item.boxes = self._replay.at(item.index)
            return self._put(item)
        assert self.tracker is not None
        if self._is_cut(item) and item.index > 0:
            previous = self._buffer[-1] if self._buffer else None
            if previous is not None and previous.index > self._last_detection:
                self._detect(previous)  # the end of the old shot gets a look before the cut
            self.tracker.cut(item.index)
            self._scene_start = item.index
        self._buffer.append(item)
        if (item.index - self._scene_start) % self.every == 0:
            self._detect(item)
        return self._settle(final=False)

    def _is_cut(self, item: _Frame) -> bool:
        luma, cb, cr = item.planes
        thumb = cv2.resize(luma, _THUMB, interpolation=cv2.INTER_AREA)
        colours = [np.bincount((thumb // 8).ravel(), minlength=32) / thumb.size]
        for plane in (cb, cr):
            small = cv2.resize(plane, _CHROMA_THUMB, interpolation=cv2.INTER_AREA)
            colours.append(np.bincount((small // 16).ravel(), minlength=16) / small.size)
        current = (thumb.astype(np.int16), np.concatenate(colours))
        previous, self._thumb = self._thumb, current
        if previous is None:
            return False
        moved = float(np.abs(current[0] - previous[0]).mean())
        recoloured = float(np.abs(current[1] - previous[1]).sum()) / 3
        return moved > CUT_LEVEL and recoloured > CUT_COLOURS

    def _detect(self, item: _Frame) -> None:
        assert self.tracker is not None
        passes = self.profile.video_passes(self._detections)
        self._detections += 1
        started = self.tracker.detected(item.index, self._look(item, passes))
        if started and item.index > self._scene_start:
            self._search_back(item.index, started, passes)
        self._last_detection = item.index

    def _search_back(self, index: int, started: list[Track], passes: tuple[PassName, ...]) -> None:
        """Look for the new tracks' faces on the frames skipped before this detection frame."""
        assert self.tracker is not None
        stop = max(self._scene_start, self._last_detection + 1)
        frames = {f.index: f for f in self._buffer}
        pending = started
        for earlier in range(index - 1, stop - 1, -1):
            if not pending or earlier not in frames:
                return
            found = self._look(frames[earlier], passes)
            pending = self.tracker.extend_back(pending, earlier, found)

    def _look(self, item: _Frame, passes: tuple[PassName, ...]) -> list[Box]:
        height, width = item.planes[0].shape
        if item.small is None:
            item.small = _detector_input(item.planes, self.short_side)
        small_h, small_w = item.small.shape[:2]
        self.looks += 1
        found = look(
            self.detector,
            item.small,
            passes,
            threshold=self.threshold,
            max_side=max(small_w, small_h),
        )
        return [b.scaled(width / small_w, height / small_h) for b in found]

    def _settle(self, *, final: bool) -> bool:
        """Hand over every frame whose boxes can no longer change."""
        assert self.tracker is not None
        reach = self.tracker.margins.reach
        while self._buffer and (final or self._buffer[0].index + reach <= self._last_detection):
            item = self._buffer.popleft()
            item.boxes = self.tracker.boxes_at(item.index)
            item.small = None
            if not self._put(item):
                return False
        return True


def _detector_input(planes: Planes, short_side: int) -> np.ndarray:
    """A small RGB copy for the detector, scaled straight from the YUV planes.

    At 720p the chroma planes are already detector-sized, so only luma is shrunk and one small
    colour conversion is paid, instead of converting the whole frame to RGB.
    """
    luma, cb, cr = planes
    height, width = luma.shape
    factor = min(1.0, short_side / min(width, height))
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
        np.frombuffer(cast(Any, plane), np.uint8).reshape(plane.height, plane.line_size)[
            :, : plane.width
        ]
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
    manual: list[ManualBox],
    progress: Progress | None,
    keep_tracks: set[int],
    margin: float,
    mode: Mode,
    shape: Shape,
    crf: int,
) -> VideoResult:
    items = _items(source)
    info = next(items)
    if not isinstance(info, _SourceInfo):
        raise RedactionFailed(f"{source.path.name}: no video frames")
    early_audio: list[av.Packet[Any]] = []
    first: _Frame | None = None
    for item in items:
        if isinstance(item, _Frame):
            first = item
            break
        early_audio.append(item)
    if first is None:
        raise RedactionFailed(f"{source.path.name}: no video frames")
    height, width = first.planes[0].shape
    result = VideoResult(frames=0, fps=float(info.rate), width=width, height=height)
    contacts = Contacts(keep_tracks)
    # The mosaic's noise changes every frame (averaging frames must not recover the true block
    # means) but is drawn from a seed taken from the first frame's own pixels, which nobody
    # outside the archive has: the same video and the same decisions give the same derivative.
    seed = int.from_bytes(hashlib.sha256(first.planes[0].tobytes()).digest()[:8], "big")
    noise = np.random.default_rng(seed)
    options = {"movflags": "+faststart", "fflags": "+bitexact"}
    with av.open(str(tmp), "w", format="mp4", container_options=options) as out:
        video = _video_stream(out, info, width, height, crf, source.detector.threads)
        sei_filter = av.bitstream.BitStreamFilterContext(_SEI_FILTER, "h264")
        sound = SoundOut(out, info.audio) if info.audio is not None else None
        result.audio = sound.kind if sound else "none"
        for packet in early_audio:
            if sound is not None:
                sound.write(packet)

        def write(done: _Frame) -> None:
            seconds = float((done.pts - info.start_pts) * info.time_base)
            boxes = done.boxes + [
                (Box.from_normalised(b, width, height), "manual", 0)
                for b, t0, t1 in manual
                if t0 <= seconds <= t1
            ]
            records, covered = [], []
            shown = contacts.shown(done.index, done.boxes) if keep_tracks else set()
            for box, origin, track in boxes:
                hide = origin == "manual" or track not in shown
                records.append(
                    Detection(box.normalised(width, height), box.score, hide, origin, track or None)
                )
                if hide:
                    covered.append(box)
            anonymize_yuv420(done.planes, covered, margin=margin, mode=mode, shape=shape, rng=noise)
            frame = done.frame
            frame.pts, frame.time_base = done.pts, info.time_base
            frame.pict_type = av.video.frame.PictureType.NONE  # let x264 choose frame types
            _mux_video(out, video, sei_filter, video.encode(frame))
            result.detections.append(records)
            result.frames += 1
            if progress is not None:
                progress(result.frames, max(info.total, result.frames))

        write(first)
        for item in items:
            if isinstance(item, _Frame):
                write(item)
            elif sound is not None:
                sound.write(item)
        _mux_video(out, video, sei_filter, video.encode(None))
        _mux_video(out, video, sei_filter, sei_filter.filter(None))
        if sound is not None:
            sound.flush()
    result.covered_from = dict(contacts.covered_from)
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
    out: av.container.OutputContainer,
    info: _SourceInfo,
    width: int,
    height: int,
    crf: int,
    threads: int,
) -> av.VideoStream:
    """x264 on as many threads as it likes, or on one where the detector runs on one: a queue
    worker then holds one core, and two workers on two cores do not fight over them."""
    stream = out.add_stream("libx264", rate=info.rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.time_base = info.time_base
    stream.options = {"preset": "veryfast", "crf": str(crf)}
    if threads == 1:
        stream.options["threads"] = "1"
    stream.metadata.clear()
    return stream


def _mux_video(
    out: av.container.OutputContainer,
    stream: av.VideoStream,
    sei_filter: av.bitstream.BitStreamFilterContext,
    packets: Iterable[av.Packet[Any]],
) -> None:
    for packet in packets:
        for clean in sei_filter.filter(packet) if packet.size else [packet]:
            clean.stream = stream
            out.mux(clean)
