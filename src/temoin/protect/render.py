"""Rendering a derivative as a pure function: an original's file and the decisions in, the
redacted file, its detections and tracks out.

Nothing here opens the catalog, holds the signing key or writes custody: the decisions arrive as
plain data (`Inputs`, `Request`), so the same call runs in the archive's own process and in a
worker on another machine that reaches only the archive folder. Recording the result (signing,
the derivative's row, the ``redacted`` event) is `derivatives.record`, on the side that holds the
key.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import av

from temoin.keep.custody import canonical
from temoin.kinds import Kind
from temoin.protect.anonymize import DEFAULT_MARGIN, Mode
from temoin.protect.audio import redact_audio
from temoin.protect.detector import MODEL_VERSION, Box, FaceDetector
from temoin.protect.photo import PhotoResult, redact_photo, upright_size
from temoin.protect.profiles import PROFILES, Profile
from temoin.protect.tracks import Margins, Track
from temoin.protect.video import StoredTracks, VideoResult, redact_video

RENDER_VERSION = 2  # bump when rendering changes in a way that must redo every derivative
TRACKS_VERSION = 1  # bump when tracking changes: stored tracks of older versions are not replayed
LINK_IOU = 0.5  # a detected face is the linked one when their boxes overlap this much
MODE: Mode = "mosaic"
SUFFIX = {Kind.PHOTO: ".jpg", Kind.VIDEO: ".mp4", Kind.AUDIO: ".m4a"}

Progress = Callable[[int, int], None]  # items done, items to do
# Frames done and to do of the video being rendered, for whoever waits on a reviewer's decision
# (the web app's job page): decisions render again deep below the call that made them.
_FRAMES: ContextVar[Progress | None] = ContextVar("temoin_render_frames", default=None)


@contextmanager
def frame_progress(callback: Progress) -> Iterator[None]:
    """Report the frames of every video rendered in this block to ``callback``."""
    token = _FRAMES.set(callback)
    try:
        yield
    finally:
        _FRAMES.reset(token)


NormBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class Link:
    """A reviewer's link of a face (photo) or face track (video) to a person in the register."""

    box: NormBox
    person: int
    consents: bool  # the person's current consent covers "face"
    track: int | None = None
    analysis: str | None = None  # the video analysis whose track numbers ``track`` refers to

    def as_list(self) -> list[Any]:
        return [list(self.box), self.person, self.consents, self.track, self.analysis]


@dataclass(frozen=True)
class Dismissed:
    """A detection a reviewer said is not a face: a photo's box, or a video's track."""

    box: NormBox
    track: int | None = None
    analysis: str | None = None

    def as_list(self) -> list[Any]:
        return [list(self.box), self.track, self.analysis]


@dataclass(frozen=True)
class Inputs:
    """What a rendering follows: links with the linked person's face consent, manual boxes,
    dismissed detections and muting."""

    kind: str
    links: list[Link]
    boxes: list[tuple[NormBox, float | None, float | None]]
    mute: bool = False  # a reviewer removed the sound of this video
    dismissed: list[Dismissed] = field(default_factory=list)

    def fingerprint(self) -> str:
        body = {
            "v": RENDER_VERSION,
            "model": MODEL_VERSION,
            "kind": self.kind,
            "mute": self.mute,
            "links": sorted((link.as_list() for link in self.links), key=canonical),
            "boxes": sorted(
                ([list(b), s, e] for b, s, e in self.boxes), key=lambda r: canonical(r)
            ),
            "dismissed": sorted((d.as_list() for d in self.dismissed), key=canonical),
        }
        return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()

    def dismisses(self, box: Sequence[float]) -> bool:
        """Whether a detected box on a photo is one a reviewer said is not a face."""
        return any(d.track is None and same_face(d.box, box) for d in self.dismissed)

    def dismissed_tracks(self, analysis: str) -> set[int]:
        return {d.track for d in self.dismissed if d.track is not None and d.analysis == analysis}

    def keeps(self, box: Sequence[float]) -> int | None:
        """The consenting person a detected face on a photo was linked to, if any."""
        for link in self.links:
            if link.track is None and link.consents and same_face(link.box, box):
                return link.person
        return None

    def as_json(self) -> dict[str, Any]:
        """The inputs as JSON, to hand to a worker (`from_json` gives them back unchanged)."""
        return {
            "kind": self.kind,
            "links": [link.as_list() for link in self.links],
            "boxes": [[list(b), s, e] for b, s, e in self.boxes],
            "mute": self.mute,
            "dismissed": [d.as_list() for d in self.dismissed],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inputs:
        return cls(
            str(data["kind"]),
            [Link(_box(b), int(p), bool(c), t, a) for b, p, c, t, a in data["links"]],
            [(_box(b), s, e) for b, s, e in data["boxes"]],
            bool(data["mute"]),
            [Dismissed(_box(b), t, a) for b, t, a in data["dismissed"]],
        )

    def kept_tracks(self, analysis: str) -> dict[int, int]:
        """Track number -> consenting person, for links made on this very analysis."""
        return {
            link.track: link.person
            for link in self.links
            if link.track is not None and link.analysis == analysis and link.consents
        }


@dataclass(frozen=True)
class Request:
    """Everything one rendering follows, as plain data: what a worker is handed.

    ``source`` is the original's path relative to the archive folder (its vault address), so a
    worker on another machine finds it in the shared folder; ``prior`` is the previous
    derivative's signed record (a video's tracks are replayed from it).
    """

    item: str
    kind: str
    original_sha256: str
    source: str
    inputs: Inputs
    profile: str
    every: int | None = None
    prior: dict[str, Any] | None = None
    threads: int = 2

    @property
    def suffix(self) -> str:
        return SUFFIX[Kind(self.kind)]

    @property
    def fingerprint(self) -> str:
        return self.inputs.fingerprint()

    def as_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "kind": self.kind,
            "original_sha256": self.original_sha256,
            "source": self.source,
            "inputs": self.inputs.as_json(),
            "profile": self.profile,
            "every": self.every,
            "prior": self.prior,
            "threads": self.threads,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Request:
        return cls(
            str(data["item"]),
            str(data["kind"]),
            str(data["original_sha256"]),
            str(data["source"]),
            Inputs.from_json(data["inputs"]),
            str(data["profile"]),
            data.get("every"),
            data.get("prior"),
            int(data.get("threads", 2)),
        )


def render(request: Request, root: Path, out: Path) -> Rendered:
    """Render ``request`` into the file ``out``; ``root`` is the archive folder holding the
    original. Pure: reads the original, writes ``out``, touches nothing else."""
    source = root / request.source
    profile = PROFILES[request.profile]
    if request.kind == Kind.PHOTO:
        return _render_photo(source, out, request.inputs, request.threads, profile)
    if request.kind == Kind.VIDEO:
        return _render_video(
            source,
            out,
            request.original_sha256,
            request.inputs,
            request.threads,
            request.every,
            profile,
            request.prior,
        )
    if request.kind == Kind.AUDIO:
        return _render_audio(source, out)
    raise ValueError(f"{request.item[:12]}: a {request.kind} is not rendered")


@dataclass
class Rendered:
    """What a rendering did, for the signed record."""

    detections: Any
    operations: list[dict[str, Any]]
    recall: str | None = None
    sound: bool = False
    covered: int = 0  # regions (photo), tracks (video) covered
    size: tuple[int, int] | None = None  # width, height of a picture or video

    def as_json(self) -> dict[str, Any]:
        return {
            "detections": self.detections,
            "operations": self.operations,
            "recall": self.recall,
            "sound": self.sound,
            "covered": self.covered,
            "size": list(self.size) if self.size else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rendered:
        size = data.get("size")
        return cls(
            data["detections"],
            list(data["operations"]),
            data.get("recall"),
            bool(data.get("sound")),
            int(data.get("covered", 0)),
            (int(size[0]), int(size[1])) if size else None,
        )


def _render_photo(
    source: Path, tmp: Path, inputs: Inputs, threads: int, profile: Profile
) -> Rendered:
    width, height = _upright_size(source)

    def keep(box: Box) -> bool:
        normal = box.normalised(width, height)
        return inputs.keeps(normal) is not None or inputs.dismisses(normal)

    result: PhotoResult = redact_photo(
        source,
        tmp,
        detector=_detector(threads),
        keep=keep,
        extra_boxes=[b for b, _, _ in inputs.boxes],
        mode=MODE,
        passes=profile.photo,
    )
    detections: list[dict[str, Any]] = []
    number = 0
    for d in result.detections:
        entry: dict[str, Any] = {
            "box": [round(v, 5) for v in d.box],
            "score": round(d.score, 3),
            "anonymised": d.anonymised,
            "source": d.source,
        }
        if d.source == "detector":
            number += 1
            entry["n"] = number
        if not d.anonymised:
            entry["person"] = inputs.keeps(d.box)
            if entry["person"] is None:
                entry["dismissed"] = True  # left uncovered: a reviewer said it is not a face
        detections.append(entry)
    kept = [d["person"] for d in detections if d.get("person") is not None]
    operations: list[dict[str, Any]] = [
        {"op": "upright", "from": "exif-orientation"},
        {
            "op": "detect-faces",
            "model": MODEL_VERSION,
            "threshold": 0.2,
            "recall": profile.name,
            "passes": list(profile.photo),
        },
        {"op": "cover", "mode": MODE, "margin": DEFAULT_MARGIN, "regions": len(result.anonymised)},
        {"op": "keep-consenting", "faces": len(kept), "people": sorted(set(kept))},
        {"op": "leave-dismissed", "regions": sum(1 for d in detections if d.get("dismissed"))},
        {"op": "encode", "format": "jpeg", "metadata": "none"},
    ]
    return Rendered(
        detections,
        operations,
        profile.name,
        False,
        len(result.anonymised),
        (result.width, result.height),
    )


def analysis_key(original_sha256: str, profile: Profile, every: int) -> str:
    """Names one run of detection and tracking over one original: the same key, the same tracks.

    Links to face tracks are made against this key, so a track number never comes to mean
    another face after the model, the profile, the tracker or the video decoder changed (frame
    numbers are the decoder's). Stored tracks that still do not fit the video as it decodes make
    the rendering fail (`TracksMismatch`) rather than place boxes on the wrong frames.
    """
    body: dict[str, Any] = {
        "original": original_sha256,
        "model": MODEL_VERSION,
        "recall": profile.as_record(),
        "every": every,
        "tracks": TRACKS_VERSION,
        "decoder": av.library_versions.get("libavcodec"),
    }
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def _render_video(
    source: Path,
    tmp: Path,
    original_sha256: str,
    inputs: Inputs,
    threads: int,
    every: int | None,
    profile: Profile,
    prior: dict[str, Any] | None,
) -> Rendered:
    spacing = every or _previous_every(prior, profile) or profile.every
    key = analysis_key(original_sha256, profile, spacing)
    stored = _stored_tracks(prior, key)
    manual = [(b, s or 0.0, e if e is not None else math.inf) for b, s, e in inputs.boxes]

    dismissed = inputs.dismissed_tracks(key) if stored is not None else set()

    def run(stored: StoredTracks | None) -> tuple[VideoResult, dict[int, int]]:
        kept = inputs.kept_tracks(key) if stored is not None else {}
        result = redact_video(
            source,
            tmp,
            detector=_detector(threads),
            profile=profile,
            every=spacing,
            keep_audio=not inputs.mute,
            extra_boxes=manual,
            keep_tracks=set(kept) | dismissed,
            stored=stored,
            progress=_FRAMES.get(),
            mode=MODE,
        )
        return result, kept

    result, kept = run(stored)
    width, height = result.width, result.height
    assert result.margins is not None
    margins = result.margins
    tracks = []
    for t in result.tracks:
        entry = {**t.as_record(width, height), "visible": t.number in kept or t.number in dismissed}
        if t.number in kept:
            entry["person"] = kept[t.number]
        elif t.number in dismissed:
            entry["dismissed"] = True
        if entry["visible"]:
            entry["covered_from"] = result.covered_from.get(t.number)
        tracks.append(entry)
    detections = {
        "frames": result.frames,
        "fps": round(result.fps, 3),
        "width": width,
        "height": height,
        "analysis": key,
        "recall": profile.name,
        "every": result.every,
        "detect_short_side": result.detect_short_side,
        "cuts": result.cuts,
        "margins": {"before": margins.before, "after": margins.after, "max_gap": margins.max_gap},
        "tracks": tracks,
        "faces_max": max((len(f) for f in result.detections), default=0),
        "frames_with_faces": sum(1 for f in result.detections if f),
        "kept": result.kept_frames,
    }
    operations: list[dict[str, Any]] = [
        {"op": "upright", "from": "display-matrix"},
        {
            "op": "detect-faces",
            "model": MODEL_VERSION,
            "threshold": 0.2,
            "recall": profile.name,
            "passes": [list(p) for p in profile.video_cycle],
            "every": result.every,
            "scene_cuts": len(result.cuts) - 1,
            "backward_search": True,
            "replayed": result.replayed,
        },
        {"op": "track-faces", "tracks": len(result.tracks), "margins": detections["margins"]},
        {"op": "cover", "mode": MODE, "margin": DEFAULT_MARGIN, "manual_boxes": len(manual)},
        {"op": "keep-consenting", "tracks": sorted(kept), "people": sorted(set(kept.values()))},
        {"op": "leave-dismissed", "tracks": sorted(dismissed)},
        {"op": "drop-audio"} if inputs.mute else {"op": "keep-audio", "audio": result.audio},
        {"op": "encode", "format": "h264-mp4", "metadata": "none"},
    ]
    covered_tracks = sum(1 for t in tracks if not t["visible"])
    return Rendered(
        detections,
        operations,
        profile.name,
        result.audio != "none",
        covered_tracks,
        (result.width, result.height),
    )


def _previous_every(prior: dict[str, Any] | None, profile: Profile) -> int | None:
    """The detection spacing the previous rendering used, if it ran this same profile."""
    found = (prior or {}).get("detections")
    if isinstance(found, dict) and found.get("recall") == profile.name:
        every = found.get("every")
        return int(every) if isinstance(every, int) else None
    return None


def _stored_tracks(prior: dict[str, Any] | None, key: str) -> StoredTracks | None:
    """The tracks of the previous rendering, if it ran the same analysis on the same original."""
    if prior is None:
        return None
    found = prior.get("detections")
    if not isinstance(found, dict) or found.get("analysis") != key or "tracks" not in found:
        return None
    width, height = int(found["width"]), int(found["height"])
    margins = Margins(**found["margins"])
    tracks = [Track.from_record(t, width, height) for t in found["tracks"]]
    return StoredTracks(tracks, [int(c) for c in found["cuts"]], margins, int(found["frames"]))


def _render_audio(source: Path, tmp: Path) -> Rendered:
    result = redact_audio(source, tmp)
    operations = [
        {
            "op": "copy-sound" if result.sound == "copied" else "re-encode-sound",
            "from": result.codec,
        },
        {"op": "encode", "format": "m4a", "metadata": "none"},
    ]
    return Rendered({"seconds": result.seconds}, operations, None, True, 0)


def _upright_size(source: Path) -> tuple[int, int]:
    """Width and height as the viewer sees the photo (EXIF orientations 5-8 swap them)."""
    return upright_size(source)


@cache
def _detector(threads: int) -> FaceDetector:
    """One loaded network per thread count for the whole process: loading costs about a second."""
    return FaceDetector(threads=threads)


def same_face(a: Any, b: Any) -> bool:
    """Whether two boxes of one photo (normalised x, y, w, h) are taken as the same face."""
    return _iou(_box(a), _box(b)) >= LINK_IOU


def _box(values: Any) -> NormBox:
    x, y, w, h = (float(v) for v in values)
    return (x, y, w, h)


def _iou(a: NormBox, b: NormBox) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw, ih = min(ax1, bx1) - max(a[0], b[0]), min(ay1, by1) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)
