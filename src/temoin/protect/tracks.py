"""Faces on video as tracks: one face, from the first frame it is seen to the last, as one unit.

Detection runs on some frames only (every few frames, and on every scene cut). A track joins the
boxes that one face left on successive detection frames: each live track's box is predicted on the
new frame from its last two hits (constant motion), and detections are paired with predictions by
overlap or nearby centres, best pairs first. A detection that pairs with nothing starts a track.

What a track covers is a pure function of its hits, so a derivative can be rendered again from the
stored tracks, with the same numbers, without running the detector:

* every frame from its first hit to its last, the box moved linearly between hits (frames where
  the detector missed the face in between are still covered);
* ``before`` frames ahead of its first hit and ``after`` frames past its last, the box carried on
  along the track's motion and also held where it was, growing a little each frame, so a face
  walking in or out through an edge stays covered while the detector cannot see it whole;
* never across a scene cut: a cut ends every track, and margins stop at it.

Tracks are found offline over a short look-ahead window rather than frame by frame (as online
trackers such as norfair do): a frame is only encoded once the detection frames that can still
change its boxes have been seen, so a track that is found late also covers the frames before.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from temoin.protect.detector import Box

GROWTH = 0.04  # a carried box grows by this share of its size per frame beyond its hits
MAX_GROWTH = 0.5
_PAIR_IOU = 0.1
_PAIR_DISTANCE = 0.75  # centres closer than this share of the box size may pair


@dataclass(frozen=True)
class Hit:
    frame: int
    box: Box


@dataclass
class Track:
    number: int  # 1, 2, … in the order tracks were started: what a reviewer refers to
    scene: int  # first frame of the scene the track lives in
    hits: list[Hit] = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.hits[0].frame

    @property
    def last(self) -> int:
        return self.hits[-1].frame

    @property
    def score(self) -> float:
        return max(h.box.score for h in self.hits)

    def add(self, hit: Hit) -> None:
        """Hits stay in frame order (a backward pass adds them before the first)."""
        frames = [h.frame for h in self.hits]
        self.hits.insert(bisect.bisect(frames, hit.frame), hit)

    def predict(self, frame: int) -> Box:
        """Where the face should be on ``frame`` if it keeps moving as between its last hits."""
        if len(self.hits) == 1:
            return self.hits[0].box
        if frame >= self.last:
            a, b = self.hits[-2], self.hits[-1]
        else:
            a, b = self.hits[0], self.hits[1]
        return _extend(a, b, frame)

    def box_at(self, frame: int, margins: Margins, scene_end: int | None) -> tuple[Box, str] | None:
        """This track's box on ``frame`` and how it was found, or None if it does not reach it.

        "detector" on a hit, "tracked" between hits, "held" in the margins.
        """
        first, last = self.first, self.last
        if frame < self.scene or (scene_end is not None and frame > scene_end):
            return None
        if first <= frame <= last:
            index = bisect.bisect_left([h.frame for h in self.hits], frame)
            hit = self.hits[index]
            if hit.frame == frame:
                return hit.box, "detector"
            before = self.hits[index - 1]
            share = (frame - before.frame) / (hit.frame - before.frame)
            return _lerp(before.box, hit.box, share), "tracked"
        distance = first - frame if frame < first else frame - last
        if distance > (margins.before if frame < first else margins.after):
            return None
        anchor = self.hits[0] if frame < first else self.hits[-1]
        growth = min(MAX_GROWTH, GROWTH * distance)
        held = _grow(anchor.box, growth)
        moved = self.predict(frame)
        if moved.width < anchor.box.width / 2 or moved.height < anchor.box.height / 2:
            return held, "held"  # a shrinking face's path gives no sensible box this far out
        return _union(held, _grow(moved, growth)), "held"

    def as_record(self, width: int, height: int) -> dict[str, Any]:
        return {
            "n": self.number,
            "scene": self.scene,
            "first": self.first,
            "last": self.last,
            "score": round(self.score, 3),
            "size": round(
                max(max(h.box.width / width, h.box.height / height) for h in self.hits), 4
            ),
            "hits": [
                [
                    h.frame,
                    *(round(v, 5) for v in h.box.normalised(width, height)),
                    round(h.box.score, 3),
                ]
                for h in self.hits
            ],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], width: int, height: int) -> Track:
        hits = [
            Hit(int(h[0]), Box.from_normalised((h[1], h[2], h[3], h[4]), width, height, h[5]))
            for h in record["hits"]
        ]
        return cls(int(record["n"]), int(record["scene"]), hits)


@dataclass(frozen=True)
class Margins:
    """How far beyond its first and last hits a track is covered, and how long it survives
    missed detections; all in frames."""

    before: int
    after: int
    max_gap: int

    @classmethod
    def for_video(cls, every: int, fps: float) -> Margins:
        """A fifth of a second plus one detection interval each side; a track survives up to
        two missed detections (half a second at least), so a face that only one pass of an
        alternating profile finds stays one track."""
        margin = every + round(0.2 * fps)
        return cls(before=margin, after=margin, max_gap=max(3 * every, round(0.5 * fps)))

    @property
    def reach(self) -> int:
        """Frames of look-ahead after which a frame's boxes can no longer change.

        A frame's box from a track whose first hit lies ``before`` frames ahead is carried back
        along the track's motion, which its second hit (up to ``max_gap`` frames later) sets.
        """
        return self.before + self.max_gap + 1


class Tracker:
    """Builds tracks from detection frames given in order; tells which frames are settled."""

    def __init__(self, margins: Margins) -> None:
        self.margins = margins
        self.tracks: list[Track] = []
        self.cuts: list[int] = [0]  # first frame of each scene
        self._live: list[Track] = []
        self._sweep = Sweep(self.tracks, self.cuts, margins)

    def cut(self, frame: int) -> None:
        """A new scene starts at ``frame``: no track continues across it."""
        if frame > self.cuts[-1]:
            self.cuts.append(frame)
        self._live = []

    def detected(self, frame: int, boxes: Iterable[Box]) -> list[Track]:
        """Pair ``boxes`` found on ``frame`` with live tracks; returns the tracks this started."""
        boxes = list(boxes)
        self._live = [t for t in self._live if frame - t.last <= self.margins.max_gap]
        predicted = [t.predict(frame) for t in self._live]
        pairs = pair(predicted, boxes)
        for i, j in pairs.items():
            self._live[i].add(Hit(frame, boxes[j]))
        started = []
        for j, box in enumerate(boxes):
            if j in pairs.values():
                continue
            track = Track(len(self.tracks) + 1, self.cuts[-1], [Hit(frame, box)])
            self.tracks.append(track)
            self._live.append(track)
            started.append(track)
        return started

    def extend_back(self, tracks: list[Track], frame: int, boxes: list[Box]) -> list[Track]:
        """A backward pass found ``boxes`` on an earlier ``frame``: each of ``tracks`` takes the
        box that continues it backwards, if any. Returns the tracks that found one."""
        pairs = pair([t.predict(frame) for t in tracks], boxes)
        for i, j in pairs.items():
            tracks[i].add(Hit(frame, boxes[j]))
        return [tracks[i] for i in sorted(pairs)]

    def boxes_at(self, frame: int) -> list[tuple[Box, str, int]]:
        """Boxes on a settled frame; frames must be asked for in increasing order."""
        return self._sweep.at(frame)


class Sweep:
    """Every track's box frame after frame, in increasing order, without walking the tracks that
    ended long ago: a long crowd video makes thousands of tracks, each frame meets a few.

    ``tracks`` must be in the order of their first frames (the order they were started in), and
    may grow while the sweep runs, as long as new tracks start after the frames already asked for.
    """

    def __init__(self, tracks: list[Track], cuts: list[int], margins: Margins) -> None:
        self.tracks, self.cuts, self.margins = tracks, cuts, margins
        self._next = 0
        self._active: list[Track] = []

    def at(self, frame: int) -> list[tuple[Box, str, int]]:
        margins = self.margins
        while (
            self._next < len(self.tracks)
            and self.tracks[self._next].first - margins.before <= frame
        ):
            self._active.append(self.tracks[self._next])
            self._next += 1
        self._active = [t for t in self._active if t.last + margins.after >= frame]
        return boxes_at(self._active, self.cuts, margins, frame)


class Contacts:
    """Keeps a linked track visible only until it touches another track.

    Tracks follow faces by position: where two faces meet, a track may carry on with the other
    face. From the first frame on which a visible track's box touches another track's box, that
    track is covered for the rest of the video: covering a consenting person too much is
    acceptable, showing someone else is not.
    """

    def __init__(self, visible: set[int]) -> None:
        self.visible = set(visible)
        self.covered_from: dict[int, int] = {}

    def shown(self, frame: int, boxes: list[tuple[Box, str, int]]) -> set[int]:
        """The tracks left visible on this frame (frames given in increasing order)."""
        for box, _, number in boxes:
            if number not in self.visible or number in self.covered_from:
                continue
            if any(n != number and box.iou(other) > 0 for other, _, n in boxes if n):
                self.covered_from[number] = frame
        return self.visible - set(self.covered_from)


def boxes_at(
    tracks: list[Track], cuts: list[int], margins: Margins, frame: int
) -> list[tuple[Box, str, int]]:
    """Every track's box on ``frame``: (box, how it was found, track number)."""
    found = []
    for track in tracks:
        if track.first - margins.before > frame or track.last + margins.after < frame:
            continue
        following = bisect.bisect_right(cuts, track.scene)
        scene_end = cuts[following] - 1 if following < len(cuts) else None
        placed = track.box_at(frame, margins, scene_end)
        if placed is not None:
            found.append((placed[0], placed[1], track.number))
    return found


def pair(a: list[Box], b: list[Box]) -> dict[int, int]:
    """Pair boxes of two lists, best overlap first; returns ``{i in a: j in b}``."""
    candidates: list[tuple[float, int, int]] = []
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            iou = p.iou(q)
            size = max(p.width, p.height, q.width, q.height, 1.0)
            dx = (p.x0 + p.x1 - q.x0 - q.x1) / 2
            dy = (p.y0 + p.y1 - q.y0 - q.y1) / 2
            distance = float(np.hypot(dx, dy)) / size
            if iou > _PAIR_IOU or distance < _PAIR_DISTANCE:
                candidates.append((iou - distance, i, j))
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in sorted(candidates, reverse=True):
        if i not in pairs and j not in used:
            pairs[i] = j
            used.add(j)
    return pairs


def _extend(a: Hit, b: Hit, frame: int) -> Box:
    """The box moving on from ``a`` through ``b`` (or back before ``a``) at the same pace."""
    span = b.frame - a.frame
    if span <= 0:
        return b.box
    t = (frame - a.frame) / span
    return _lerp(a.box, b.box, t)


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


def _union(p: Box, q: Box) -> Box:
    return Box(min(p.x0, q.x0), min(p.y0, q.y0), max(p.x1, q.x1), max(p.y1, q.y1), p.score)
