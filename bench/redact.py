"""Redaction speed and coverage against deface, the peer every volunteer would otherwise use.

One run: builds a 720p, ~10 s clip from the real sample clip (upscaled, looped), times the
deface CLI (default, and ``--scale 640x360``) and temoin's ``redact_video``, then measures which
share of deface's own detections temoin's output covers. deface's detections come from running
its CenterFace class on every source frame at its CLI defaults (full-size input, threshold 0.2),
rather than from parsing its video: its output has no box list and a different frame count, so
a frame-by-frame comparison needs the boxes themselves. A deface box counts as covered when at
least 90% of its area lies inside a region temoin anonymised on the same frame.

Run from the repository root: ``.venv/bin/python bench/redact.py``. The machine is shared, so the
load average is printed with the figures; compare ratios, not absolute fps, across runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

from temoin.protect.anonymize import DEFAULT_MARGIN, enlarge
from temoin.protect.detector import Box, FaceDetector
from temoin.protect.video import VideoResult, redact_video

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "samples" / "intel_walking_and_pause.mp4"
DEFACE = Path(sys.executable).parent / "deface"


def make_clip(folder: Path) -> Path:
    """The sample clip, upscaled to 1280x720 and looped to about 10 s (123 frames at 12 fps)."""
    clip = folder / "clip720.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", "2", "-i", str(SAMPLE),
         "-vf", "scale=1280:720:flags=bicubic", "-c:v", "libx264", "-preset", "veryfast",
         "-crf", "18", "-pix_fmt", "yuv420p", "-an", str(clip)],
        check=True,
    )  # fmt: skip
    return clip


def count_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def time_deface(clip: Path, out: Path, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(DEFACE), str(clip), "-o", str(out), *extra],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def deface_boxes(clip: Path, in_shape: tuple[int, int] | None) -> list[list[Box]]:
    """deface's own detections on every frame, as its CLI would compute them."""
    from deface.centerface import CenterFace  # the peer, used only to measure against it

    centerface = CenterFace(in_shape=in_shape, backend="auto")
    frames: list[list[Box]] = []
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            dets, _ = centerface(frame.to_ndarray(format="rgb24"), threshold=0.2)
            frames.append([Box(*map(float, d[:4]), float(d[4])) for d in dets])
    return frames


def coverage(
    reference: list[list[Box]], result: VideoResult, width: int, height: int
) -> tuple[int, int]:
    covered = total = 0
    for index, faces in enumerate(reference):
        regions = [
            enlarge(Box.from_normalised(d.box, width, height), DEFAULT_MARGIN, width, height)
            for d in (result.covered[index] if index < len(result.covered) else [])
        ]
        for face in faces:
            total += 1
            if any(_inside(face, r) >= 0.9 for r in regions):
                covered += 1
    return covered, total


def _inside(face: Box, region: tuple[int, int, int, int]) -> float:
    iw = min(face.x1, region[2]) - max(face.x0, region[0])
    ih = min(face.y1, region[3]) - max(face.y0, region[1])
    return max(0.0, iw) * max(0.0, ih) / max(face.area, 1e-9)


def main() -> None:
    if not SAMPLE.exists():
        sys.exit(f"sample clip missing: {SAMPLE.name} (expected in ../shared/samples)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = make_clip(folder)
        frames = count_frames(clip)
        rows: list[tuple[str, float, int]] = []
        seconds = time_deface(clip, folder / "deface.mp4")
        rows.append(("deface CLI, default", frames / seconds, count_frames(folder / "deface.mp4")))
        seconds = time_deface(clip, folder / "deface360.mp4", "--scale", "640x360")
        rows.append(("deface CLI, --scale 640x360", frames / seconds, count_frames(folder / "deface360.mp4")))  # fmt: skip
        detector = FaceDetector(threads=1)
        results = {}
        for every in (3, 5):
            start = time.perf_counter()
            results[every] = redact_video(clip, folder / f"temoin{every}.mp4", detector=detector, every=every)  # fmt: skip
            seconds = time.perf_counter() - start
            rows.append((f"temoin redact_video, every={every}", frames / seconds, results[every].frames))  # fmt: skip
        reference = {
            "deface default": deface_boxes(clip, None),
            "deface 640x360": deface_boxes(clip, (640, 360)),
        }
    base = rows[0][1]
    print(
        f"720p clip: {frames} frames; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    print(f"{'tool':36} {'fps':>6} {'x deface':>9} {'frames out':>10}")
    for name, fps, out_frames in rows:
        print(f"{name:36} {fps:6.1f} {fps / base:9.2f} {out_frames:10d}")
    print()
    print(f"{'deface detections covered by':36} {'reference':16} {'covered':>12} {'share':>7}")
    for every, result in results.items():
        for ref_name, boxes in reference.items():
            done, total = coverage(boxes, result, result.width, result.height)
            share = 100 * done / total if total else 100.0
            print(
                f"{'temoin every=' + str(every):36} {ref_name:16} {done:5d}/{total:<6d} {share:6.2f}%"
            )


if __name__ == "__main__":
    main()
