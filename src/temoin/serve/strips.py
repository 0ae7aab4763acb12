"""A video's filmstrip for review: frames of the REDACTED derivative, each with the boxes placed on
that very frame.

A reviewer cannot judge a video from one still with boxes taken from another frame. The strip
holds at least one frame a second, the first frame of the video and of every scene, and the first
and last frame of every face track, each drawn with the boxes the renderer placed there: detected,
tracked between detections, held in a track's margin, added by a reviewer, left visible for a
consenting person, or dismissed as not a face, in the colours of the page's legend. Frames come
from the derivative, never from the original, and are cached by the derivative's hash: in the
archive's cache folder, or for an encrypted archive in the server's memory (see `cache_folder`).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw
from sqlalchemy import select

from temoin.catalog.models import Derivative, Item, RedactBox

if TYPE_CHECKING:
    from temoin.archive import Archive

CACHE = Path("cache") / "strips"
WIDTH = 320
MAX_FRAMES = 120
LABEL_SUFFIX = {"visible": " shown", "dismissed": " not a face"}  # not by colour alone
COLOURS = {  # the legend on the review page names these
    "detector": (220, 30, 30),
    "tracked": (235, 120, 0),
    "held": (150, 60, 200),
    "manual": (240, 200, 0),
    "visible": (20, 160, 60),
    "dismissed": (120, 120, 120),
}


@dataclass(frozen=True)
class StripFrame:
    frame: int
    seconds: float
    name: str  # the file's name in the strip's folder
    key: str  # the rendering's hash and its decisions in short: the strip's folder and address


def strip(archive: Archive, item_id: str, sha256: str) -> list[StripFrame] | None:
    """The strip of the item's current rendering, made once; None if ``sha256`` is not it, or
    if the rendering no longer follows the item's decisions (its boxes would not be the ones
    drawn from the catalog)."""
    from temoin.protect.derivatives import is_current

    with archive.session() as session:
        row = session.get(Derivative, item_id)
        item = session.get(Item, item_id)
        if row is None or item is None or row.sha256 != sha256 or not row.mime.startswith("video/"):
            return None
        if not is_current(session, item, row):
            return None
        detections = json.loads(row.record).get("detections") or {}
        manual = [
            (b.box, b.start, b.end)
            for b in session.scalars(select(RedactBox).where(RedactBox.item_id == item_id))
        ]
        stored, key = (
            row.path,
            f"{sha256}-{row.inputs[:12]}",
        )  # labels follow decisions, not only pixels
    if "tracks" not in detections:
        return None
    fps = float(detections.get("fps") or 25.0)
    frames = chosen_frames(detections)
    folder = cache_folder(archive, CACHE) / key
    listed = [StripFrame(f, round(f / fps, 2), f"{f:06d}.jpg", key) for f in frames]
    with _lock_for(key):  # one decoding per rendering, however many pages ask at once
        if not (folder / "complete").is_file():
            path = archive.ctx.readable(stored, sha256)
            _render(path, folder, detections, manual, set(frames))
    return listed


def cache_folder(archive: Archive, relative: Path) -> Path:
    """Where drawn pictures are kept: under the archive folder, or for an encrypted archive in
    this process's memory, since they show what the vault keeps sealed; they go with the keys."""
    if not archive.ctx.encrypted:
        return archive.root / relative
    folder = archive.ctx.scratch(relative.as_posix()) / relative.name
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(sha256: str) -> threading.Lock:
    with _LOCKS_GUARD:
        if len(_LOCKS) > 256:
            _LOCKS.clear()  # bounded: a lock only matters while its strip is being drawn
        return _LOCKS.setdefault(sha256, threading.Lock())


def chosen_frames(detections: dict[str, Any]) -> list[int]:
    total = int(detections.get("frames") or 0)
    if total <= 0:
        return []
    step = max(1, round(float(detections.get("fps") or 25.0)))
    wanted = set(range(0, total, step)) | {total - 1}
    wanted |= {int(c) for c in detections.get("cuts", [])}
    for track in detections.get("tracks", []):
        wanted |= {int(track["first"]), int(track["last"])}
    ordered = sorted(f for f in wanted if 0 <= f < total)
    if len(ordered) > MAX_FRAMES:  # long videos: keep every track's ends, thin the rest
        ends = {int(t[k]) for t in detections.get("tracks", []) for k in ("first", "last")}
        others = [f for f in ordered if f not in ends]
        keep = max(1, MAX_FRAMES - len(ends))
        ordered = sorted(ends | set(others[:: -(-len(others) // keep)]))
    return ordered


def _render(
    path: Path,
    folder: Path,
    detections: dict[str, Any],
    manual: list[tuple[Any, float | None, float | None]],
    wanted: set[int],
) -> None:
    import av

    from temoin.protect.tracks import Margins, Track, boxes_at

    width, height = int(detections["width"]), int(detections["height"])
    fps = float(detections.get("fps") or 25.0)
    tracks = [Track.from_record(t, width, height) for t in detections["tracks"]]
    records = {t["n"]: t for t in detections["tracks"]}
    margins = Margins(**detections["margins"])
    folder.mkdir(parents=True, exist_ok=True)
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index not in wanted:
                continue
            picture = frame.to_image().convert("RGB")
            boxes: list[tuple[tuple[float, float, float, float], str, str]] = []
            for box, origin, number in boxes_at(tracks, detections["cuts"], margins, index):
                shown = records.get(number, {})
                kind = origin
                if shown.get("dismissed"):
                    kind = "dismissed"
                elif shown.get("visible") and (
                    shown.get("covered_from") is None or index < shown["covered_from"]
                ):
                    kind = "visible"
                label = f"T{number}{LABEL_SUFFIX.get(kind, '')}"
                boxes.append((box.normalised(width, height), kind, label))
            seconds = index / fps
            for box, start, end in manual:
                if (start or 0.0) <= seconds <= (end if end is not None else float("inf")):
                    boxes.append((tuple(box), "manual", "+"))
            picture.thumbnail((WIDTH, WIDTH * 2))
            _draw(picture, boxes)
            tmp = folder / f".{secrets.token_hex(6)}.tmp"
            picture.save(tmp, "JPEG", quality=80)
            os.replace(tmp, folder / f"{index:06d}.jpg")
    (folder / "complete").write_text("")


def _draw(
    picture: Image.Image, boxes: list[tuple[tuple[float, float, float, float], str, str]]
) -> None:
    draw = ImageDraw.Draw(picture)
    width, height = picture.size
    for (x, y, w, h), kind, label in boxes:
        colour = COLOURS[kind]
        area = (x * width, y * height, (x + w) * width, (y + h) * height)
        draw.rectangle(area, outline=colour, width=2)
        top = max(0.0, area[1] - 13)
        draw.rectangle((area[0], top, area[0] + 7 * len(label) + 4, top + 12), fill=colour)
        draw.text((area[0] + 2, top), label, fill=(255, 255, 255), font_size=11)
