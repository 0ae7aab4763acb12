"""Face redaction against deface and against an independent reference, judged from the pixels.

One run, on material made from the shared samples:

* ``sample 720p``: the real sample clip (three people walking towards the camera), upscaled to
  1280x720 and looped three times (the loops are hard cuts);
* ``hard 720p``: five shots filmed by a virtual camera over the sample photos, with hard cuts
  between them: a zoom into a close-up whose face then leaves through the right edge, a close-up
  sinking out through the bottom edge, a face turned away crossing the left edge, a group, a
  mirrored turned face filling a third of the frame;
* ``small faces 1080p``: the crowd and classroom samples panned at 1920x1080;
* the six sample photos, plus close-ups cut by each edge of the frame.

Every tool redacts the same files: the deface CLI (default, and ``--scale 640x360``) and temoin
with each recall profile. Then, on every frame of every original, the reference
(`temoin.protect.recall`: CenterFace at full resolution on the plain, mirrored and half-size
frame, and OpenCV's Haar cascades, doubtful finds confirmed by the next frame) lists the faces,
and each is judged covered or not from the tool's output pixels. deface's output may hold a
different number of frames; its frames are matched to the source's by timestamp.

Printed per tool: fps (whole run of the CLI or of ``redact_video``, model loading included),
recall over reference face-frames, faces left per 1,000 face-frames, and the ratio to deface's
default speed. ``--dump DIR`` writes a picture of every face left (original beside output), so a
person can check whether the reference was right.

    .venv/bin/python bench/redact.py [--dump DIR] [--cache DIR] [--skip-deface]

The machine is shared, so the load average is printed with the figures; compare ratios, not
absolute fps, across runs. The reference is slow (about a second per 720p frame); ``--cache``
keeps it between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image

from temoin.protect.detector import Box, FaceDetector
from temoin.protect.photo import redact_photo
from temoin.protect.profiles import PROFILES
from temoin.protect.recall import (
    COVERED_BELOW,
    ReferenceFace,
    reference_faces,
    reference_frames,
    similarity,
)
from temoin.protect.video import redact_video
from temoin.testing.footage import Key, Shot, turned, write_clip

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples"
EXCLUSIONS = Path(__file__).with_name("redact-exclusions.json")
DEFACE = Path(sys.executable).parent / "deface"
PHOTOS = [
    "nasa_astronaut_eileen_collins.png",
    "deface_city_crowd.jpg",
    "intel_classroom.png",
    "intel_headpose_pair.png",
    "intel_walking.png",
]


def _rgb(name: str) -> np.ndarray:
    return np.asarray(Image.open(SAMPLES / name).convert("RGB"))


# -- material ------------------------------------------------------------------------------------


def sample_clip(folder: Path) -> Path:
    clip = folder / "sample720.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", "2", "-i",
         str(SAMPLES / "intel_walking_and_pause.mp4"), "-vf", "scale=1280:720:flags=bicubic",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-an",
         str(clip)],
        check=True,
    )  # fmt: skip
    return clip


def hard_clip(folder: Path) -> Path:
    pair, walk = _rgb("intel_headpose_pair.png"), _rgb("intel_walking.png")
    astro = _rgb("nasa_astronaut_eileen_collins.png")
    shots = [
        Shot(pair, 3.0, [Key(0, 240, 135, 270), Key(1.0, 330, 105, 130), Key(1.6, 330, 105, 130),
                         Key(3.0, 200, 105, 130)]),
        Shot(astro, 2.0, [Key(0, 225, 120, 200), Key(2.0, 225, -10, 200)]),
        Shot(turned(pair, (28, 88, 75, 78)), 2.0, [Key(0, 80, 125, 150), Key(2.0, 200, 125, 150)]),
        Shot(walk, 2.0, [Key(0, 240, 135, 270), Key(2.0, 240, 110, 160)]),
        Shot(np.ascontiguousarray(turned(astro, (178, 58, 95, 128))[:, ::-1]), 2.0,
             [Key(0, 300, 130, 260), Key(2.0, 330, 130, 180)]),
    ]  # fmt: skip
    return write_clip(folder / "hard720.mp4", shots, size=(1280, 720), fps=25)


def small_faces_clip(folder: Path) -> Path:
    crowd, room = _rgb("deface_city_crowd.jpg"), _rgb("intel_classroom.png")
    shots = [
        Shot(crowd, 1.2, [Key(0, 400, 282, 564), Key(1.2, 420, 290, 520)]),
        Shot(room, 0.8, [Key(0, 240, 135, 270), Key(0.8, 250, 140, 250)]),
    ]
    return write_clip(folder / "small1080.mp4", shots, size=(1920, 1080), fps=25)


def photos(folder: Path) -> list[Path]:
    """The sample photos, and close-ups of the astronaut and of the pair cut by each edge."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in PHOTOS:
        path = folder / Path(name).with_suffix(".png").name
        Image.fromarray(_rgb(name)).save(path)
        paths.append(path)
    astro, pair = _rgb("nasa_astronaut_eileen_collins.png"), _rgb("intel_headpose_pair.png")
    crops = {
        "astro_right": astro[0:300, 0:260],  # face cut by the right edge
        "astro_bottom": astro[0:140, 100:400],  # cut by the bottom edge
        "astro_left": astro[20:260, 215:512],  # cut by the left edge
        "man_top": cv2.resize(pair[95:200, 260:420], (480, 315)),  # close-up cut at the top
        "woman_turned": cv2.resize(turned(pair, (28, 88, 75, 78))[60:200, 0:200], (400, 280)),
    }
    for name, crop in crops.items():
        path = folder / f"{name}.png"
        Image.fromarray(np.ascontiguousarray(crop)).save(path)
        paths.append(path)
    return paths


# -- the reference --------------------------------------------------------------------------------


def frames_of(path: Path) -> tuple[list[np.ndarray], list[float]]:
    frames, times = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.time or 0.0))
    return frames, times


def video_reference(
    path: Path, detector: FaceDetector, cache: Path | None
) -> list[list[ReferenceFace]]:
    stored = cache / f"{path.stem}.reference.json" if cache else None
    if stored is not None and stored.exists():
        return [[_face(f) for f in frame] for frame in json.loads(stored.read_text())]
    kept = reference_frames(frames_of(path)[0], detector)
    if stored is not None:
        stored.write_text(json.dumps([[_row(f) for f in frame] for frame in kept]))
    return kept


def _row(face: ReferenceFace) -> list[object]:
    b = face.box
    return [b.x0, b.y0, b.x1, b.y1, b.score, face.by]


def _face(row: list[object]) -> ReferenceFace:
    x0, y0, x1, y1, score, by = row
    return ReferenceFace(Box(float(x0), float(y0), float(x1), float(y1), float(score)), str(by))  # type: ignore[arg-type]


# -- judging ----------------------------------------------------------------------------------------


def load_exclusions() -> list[dict[str, object]]:
    """Reference finds a person looked at and judged not to be a face (or not recognisable)."""
    return json.loads(EXCLUSIONS.read_text()) if EXCLUSIONS.exists() else []


def excluded(
    exclusions: list[dict[str, object]], label: str, index: int, face: ReferenceFace
) -> bool:
    cx, cy = (face.box.x0 + face.box.x1) / 2, (face.box.y0 + face.box.y1) / 2
    for rule in exclusions:
        first, last = rule["frames"]  # type: ignore[misc]
        x0, y0, x1, y1 = rule["region"]  # type: ignore[misc]
        if rule["clip"] == label and first <= index <= last and x0 <= cx <= x1 and y0 <= cy <= y1:
            return True
    return False


@dataclass
class Score:
    faces: int = 0
    covered: int = 0
    by: dict[str, list[int]] = field(default_factory=dict)  # reference -> [covered, faces]
    left: list[tuple[str, int, ReferenceFace, float]] = field(default_factory=list)

    def add(self, label: str, index: int, face: ReferenceFace, value: float) -> None:
        self.faces += 1
        counts = self.by.setdefault(face.by, [0, 0])
        counts[1] += 1
        if value < COVERED_BELOW:
            self.covered += 1
            counts[0] += 1
        else:
            self.left.append((label, index, face, value))

    @property
    def recall(self) -> float:
        return 100.0 * self.covered / self.faces if self.faces else 100.0

    @property
    def per_thousand(self) -> float:
        return 1000.0 * (self.faces - self.covered) / self.faces if self.faces else 0.0


def judge_video(
    label: str,
    original: Path,
    output: Path,
    reference: list[list[ReferenceFace]],
    score: Score,
    exclusions: list[dict[str, object]],
) -> None:
    source, source_times = frames_of(original)
    result, result_times = frames_of(output)
    for index, faces in enumerate(reference):
        if len(result) == len(source):
            match = index
        else:  # deface may change the frame count: take the output frame nearest in time
            match = int(np.argmin(np.abs(np.asarray(result_times) - source_times[index])))
        out = result[match]
        if out.shape != source[index].shape:
            out = cv2.resize(out, (source[index].shape[1], source[index].shape[0]))
        for face in faces:
            if excluded(exclusions, label, index, face):
                continue
            score.add(label, index, face, similarity(source[index], out, face.box))


def judge_photo(
    label: str, original: Path, output: Path, faces: list[ReferenceFace], score: Score
) -> None:
    source = np.asarray(Image.open(original).convert("RGB"))
    result = np.asarray(Image.open(output).convert("RGB"))
    for face in faces:
        score.add(label, 0, face, similarity(source, result, face.box))


# -- tools ------------------------------------------------------------------------------------------


def run_deface(src: Path, dst: Path, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(DEFACE), str(src), "-o", str(dst), *extra],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def run_temoin(src: Path, dst: Path, profile: str) -> float:
    start = time.perf_counter()
    detector = FaceDetector(threads=2)  # as `temoin redact` loads it
    redact_video(src, dst, detector=detector, profile=profile)
    return time.perf_counter() - start


def run_temoin_photo(src: Path, dst: Path, profile: str) -> float:
    start = time.perf_counter()
    redact_photo(src, dst, detector=_photo_detector(), passes=PROFILES[profile].photo)
    return time.perf_counter() - start


_DETECTORS: dict[int, FaceDetector] = {}


def _photo_detector() -> FaceDetector:
    if 2 not in _DETECTORS:
        _DETECTORS[2] = FaceDetector(threads=2)
    return _DETECTORS[2]


# -- report -----------------------------------------------------------------------------------------


def dump(folder: Path, tool: str, score: Score, originals: dict[str, Path]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    listing = [
        {"clip": label, "frame": index, "by": face.by, "value": round(value, 2),
         "box": [round(v) for v in (face.box.x0, face.box.y0, face.box.x1, face.box.y1)]}
        for label, index, face, value in score.left
    ]  # fmt: skip
    (folder / f"{tool}.json").write_text(json.dumps(listing, indent=1))
    cache: dict[str, list[np.ndarray]] = {}
    for n, (label, index, face, value) in enumerate(score.left):
        path = originals[label]
        if label not in cache:
            cache[label] = (
                frames_of(path)[0]
                if path.suffix == ".mp4"
                else [np.asarray(Image.open(path).convert("RGB"))]
            )
        rgb = cache[label][index]
        b = face.box
        pad = int(0.3 * max(b.width, b.height))
        x0, y0 = max(0, int(b.x0) - pad), max(0, int(b.y0) - pad)
        x1 = min(rgb.shape[1], int(b.x1) + pad)
        y1 = min(rgb.shape[0], int(b.y1) + pad)
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        cv2.rectangle(
            crop, (int(b.x0) - x0, int(b.y0) - y0), (int(b.x1) - x0, int(b.y1) - y0), (255, 0, 0), 2
        )
        name = f"{tool}-{label}-{index:04d}-{face.by}-{value:.2f}-{n}.png".replace(" ", "_")
        Image.fromarray(crop).save(folder / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", type=Path, help="write a picture of every face left here")
    parser.add_argument("--cache", type=Path, help="keep the reference here between runs")
    parser.add_argument("--skip-deface", action="store_true", help="measure temoin only")
    args = parser.parse_args()
    if not SAMPLES.exists():
        sys.exit(f"samples missing: {SAMPLES} (expected at ../shared/samples)")
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clips = {
            "sample 720p": sample_clip(folder),
            "hard 720p": hard_clip(folder),
            "small faces 1080p": small_faces_clip(folder),
        }
        pictures = photos(folder / "photos")
        exclusions = load_exclusions()
        reference_detector = FaceDetector(threads=2)
        started = time.perf_counter()
        references = {
            label: video_reference(path, reference_detector, args.cache)
            for label, path in clips.items()
        }
        photo_refs = {
            p.stem: reference_faces(np.asarray(Image.open(p).convert("RGB")), reference_detector)
            for p in pictures
        }
        dropped = sum(
            excluded(exclusions, label, i, f)
            for label, frames in references.items()
            for i, faces in enumerate(frames)
            for f in faces
        )
        print(f"reference: {time.perf_counter() - started:.0f} s; "
              f"{sum(len(f) for r in references.values() for f in r)} face-frames on video, "
              f"{dropped} of them set aside by eye ({EXCLUSIONS.name}), "
              f"{sum(len(f) for f in photo_refs.values())} faces on photos")  # fmt: skip

        tools: dict[str, tuple[str, ...]] = {} if args.skip_deface else {
            "deface default": (),
            "deface --scale 640x360": ("--scale", "640x360"),
        }  # fmt: skip
        video_rows: list[tuple[str, float, Score, dict[str, tuple[Score, float]]]] = []
        frames_total = {label: len(frames_of(path)[1]) for label, path in clips.items()}
        for tool in [*tools, *(f"temoin {p}" for p in PROFILES)]:
            seconds, score, per_clip = 0.0, Score(), {}
            for label, path in clips.items():
                out = folder / f"{tool.replace(' ', '_')}-{path.name}"
                if tool.startswith("deface"):
                    took = run_deface(path, out, *tools[tool])
                else:
                    took = run_temoin(path, out, tool.split()[1])
                seconds += took
                clip_score = Score()
                judge_video(label, path, out, references[label], clip_score, exclusions)
                judge_video(label, path, out, references[label], score, exclusions)
                per_clip[label] = (clip_score, frames_total[label] / took)
            video_rows.append((tool, sum(frames_total.values()) / seconds, score, per_clip))
            if args.dump:
                dump(args.dump, tool.replace(" ", "_"), score, clips)

        photo_rows: list[tuple[str, float, Score]] = []
        photo_tools = ([] if args.skip_deface else ["deface default"]) + [
            f"temoin {p}" for p in PROFILES
        ]
        for tool in photo_tools:
            seconds, score = 0.0, Score()
            for path in pictures:
                out = folder / f"{tool.replace(' ', '_')}-{path.name}"
                if tool.startswith("deface"):
                    seconds += run_deface(path, out)
                else:
                    seconds += run_temoin_photo(path, out, tool.split()[1])
                judge_photo(path.stem, path, out, photo_refs[path.stem], score)
            photo_rows.append((tool, seconds / len(pictures), score))
            if args.dump:
                dump(
                    args.dump,
                    "photo-" + tool.replace(" ", "_"),
                    score,
                    {p.stem: p for p in pictures},
                )

    print(f"\nload average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"{sum(frames_total.values())} frames in {len(clips)} clips "
          f"({', '.join(f'{k}: {v}' for k, v in frames_total.items())})")  # fmt: skip
    base = video_rows[0][1] if tools else None
    print(
        f"\n{'video':26} {'fps':>6} {'x deface':>9} {'recall':>8} {'left/1000':>10}   per clip (recall)"
    )
    for tool, fps, score, per_clip in video_rows:
        ratio = f"{fps / base:9.2f}" if base else f"{'-':>9}"
        clips_text = "  ".join(
            f"{k}: {s.recall:.2f}% at {f:.1f} fps" for k, (s, f) in per_clip.items()
        )
        print(
            f"{tool:26} {fps:6.1f} {ratio} {score.recall:7.2f}% {score.per_thousand:10.1f}   {clips_text}"
        )
    print(f"\n{'photos':26} {'s/photo':>8} {'recall':>8} {'faces left':>11}")
    for tool, per_photo, score in photo_rows:
        print(
            f"{tool:26} {per_photo:8.2f} {score.recall:7.2f}% {score.faces - score.covered:6d}/{score.faces}"
        )
    print("\nby reference (video, covered/faces):")
    for tool, _, score, _ in video_rows:
        print(
            f"  {tool:26} " + "  ".join(f"{k}: {v[0]}/{v[1]}" for k, v in sorted(score.by.items()))
        )


if __name__ == "__main__":
    main()
