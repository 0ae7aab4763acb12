"""Video derivatives: every frame's faces covered, frames and timing kept, audio as asked."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from skimage import data

from temoin.protect.anonymize import DEFAULT_MARGIN, enlarge
from temoin.protect.audit import audit_file
from temoin.protect.detector import Box, FaceDetector
from temoin.protect.scrub import assert_clean
from temoin.protect.video import VideoResult, redact_video

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
WALKING = SAMPLES / "intel_walking_and_pause.mp4"


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(threads=1)


def panning_frames(count: int = 30) -> list[np.ndarray]:
    """The astronaut's face sliding across a 480x272 frame: motion between detections."""
    portrait = data.astronaut()[:272, :]
    canvas = np.zeros((272, 480 + 512, 3), np.uint8)
    frames = []
    for i in range(count):
        canvas[:] = 30
        left = 10 + i * 8
        canvas[:, left : left + 512] = portrait
        frames.append(canvas[:, 256 : 256 + 480].copy())
    return frames


def write_clip(
    path: Path,
    frames: list[np.ndarray],
    *,
    fps: int = 12,
    audio: bool = False,
    rotation: int = 0,
    tags: dict[str, str] | None = None,
) -> Path:
    with av.open(str(path), "w", format="mp4") as out:
        if tags:
            out.metadata.update(tags)
        video = out.add_stream("libx264", rate=fps)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        if rotation:
            video.set_display_rotation(rotation)
        sound = out.add_stream("aac", rate=48000) if audio else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if sound is not None:
            seconds = len(frames) / fps
            t = np.arange(int(48000 * seconds)) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, tone.size, 1024):
                chunk = tone[start : start + 1024].reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                frame.sample_rate, frame.pts = 48000, start
                frame.time_base = Fraction(1, 48000)
                out.mux(sound.encode(frame))
            out.mux(sound.encode())
    return path


def read_frames(path: Path) -> tuple[list[np.ndarray], list[int], int]:
    with av.open(str(path)) as container:
        frames, pts = [], []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            pts.append(frame.pts)
        return frames, pts, len(container.streams.audio)


def contained(face: Box, covers: list[tuple[int, int, int, int]]) -> float:
    best = 0.0
    for x0, y0, x1, y1 in covers:
        iw = min(face.x1, x1) - max(face.x0, x0)
        ih = min(face.y1, y1) - max(face.y0, y0)
        if iw > 0 and ih > 0:
            best = max(best, iw * ih / face.area)
    return best


def assert_every_face_covered(src: Path, result: VideoResult, detector: FaceDetector) -> None:
    """Faces found on every source frame (at full size) must lie inside a covered region."""
    frames, _, _ = read_frames(src)
    assert result.frames == len(frames)
    for index, rgb in enumerate(frames):
        h, w = rgb.shape[:2]
        covers = [
            enlarge(Box.from_normalised(d.box, w, h), DEFAULT_MARGIN, w, h)
            for d in result.covered[index]
        ]
        for face in detector.detect(rgb):
            if face.score >= 0.5:
                assert contained(face, covers) >= 0.9, f"frame {index}: {face} uncovered"


def test_panning_face_covered_on_every_frame_with_audio(
    tmp_path: Path, detector: FaceDetector
) -> None:
    src = write_clip(
        tmp_path / "pan.mp4",
        panning_frames(),
        audio=True,
        tags={"location": "+50.9500+001.8500/", "creation_time": "2024-05-01T10:00:00Z"},
    )
    seen: list[tuple[int, int]] = []
    result = redact_video(
        src,
        tmp_path / "out.mp4",
        detector=detector,
        every=4,
        progress=lambda d, t: seen.append((d, t)),
    )
    frames, pts, audio_streams = read_frames(tmp_path / "out.mp4")
    _, source_pts, _ = read_frames(src)
    assert len(frames) == result.frames == 30 and pts == source_pts
    assert audio_streams == 1 and result.audio == "copied"
    assert seen[-1] == (30, 30)
    assert all(result.covered[i] for i in range(30))
    assert {d.source for frame in result.covered for d in frame} >= {"detector", "tracked"}
    assert_every_face_covered(src, result, detector)
    assert assert_clean(tmp_path / "out.mp4") == []
    assert audit_file(tmp_path / "out.mp4") == []


def test_mute_drops_audio(tmp_path: Path, detector: FaceDetector) -> None:
    src = write_clip(tmp_path / "pan.mp4", panning_frames(12), audio=True)
    result = redact_video(src, tmp_path / "out.mp4", detector=detector, keep_audio=False)
    assert result.audio == "none"
    assert read_frames(tmp_path / "out.mp4")[2] == 0


def test_rotated_phone_video_is_detected_upright(tmp_path: Path, detector: FaceDetector) -> None:
    upright = np.ascontiguousarray(data.astronaut()[:, 96:416])  # 512 high, 320 wide
    stored = np.ascontiguousarray(np.rot90(upright, k=1))  # as the sensor wrote it
    src = write_clip(tmp_path / "rot.mp4", [stored] * 6, rotation=-90)
    result = redact_video(src, tmp_path / "out.mp4", detector=detector, every=2)
    frames, _, _ = read_frames(tmp_path / "out.mp4")
    assert frames[0].shape[:2] == (512, 320)
    assert (result.width, result.height) == (320, 512)
    assert all(len(f) >= 1 for f in result.covered)
    assert result.covered[0][0].box[1] < 0.35  # the face is near the top of the upright frame
    assert assert_clean(tmp_path / "out.mp4") == []


def test_manual_box_covers_its_time_range_only(tmp_path: Path, detector: FaceDetector) -> None:
    frames = [np.full((240, 320, 3), 90, np.uint8) for _ in range(12)]
    for f in frames:
        f[::2, ::2] = 200  # texture a mosaic would flatten
    src = write_clip(tmp_path / "plain.mp4", frames)
    manual = ((0.5, 0.5, 0.25, 0.25), 0.5, 0.75)  # seconds; 12 fps: frames 6..9
    result = redact_video(src, tmp_path / "out.mp4", detector=detector, extra_boxes=[manual])
    marked = [i for i, f in enumerate(result.covered) if any(d.source == "manual" for d in f)]
    assert marked == [6, 7, 8, 9]


def test_real_clip_every_frame_covered(tmp_path: Path, detector: FaceDetector) -> None:
    if not WALKING.exists():
        pytest.skip("../shared/samples not available")
    result = redact_video(WALKING, tmp_path / "out.mp4", detector=detector, every=3)
    assert result.frames == 41
    assert all(len(f) >= 3 for f in result.covered)
    assert_every_face_covered(WALKING, result, detector)
    assert assert_clean(tmp_path / "out.mp4") == []
    assert audit_file(tmp_path / "out.mp4") == []


def test_same_video_same_decisions_same_derivative(tmp_path: Path, detector: FaceDetector) -> None:
    """The mosaic's noise changes from frame to frame but is seeded from the original itself."""
    src = write_clip(tmp_path / "pan.mp4", panning_frames(12))
    redact_video(src, tmp_path / "a.mp4", detector=detector)
    redact_video(src, tmp_path / "b.mp4", detector=detector)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
