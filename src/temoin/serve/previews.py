"""Preview images for pages, always made from the redacted DERIVATIVE, never from the original.

For editors the detector's faces are drawn on top as numbered boxes (the numbers the face-link form
uses) and the boxes reviewers added are outlined apart, so a missed face is easy to see. Previews
are cached under ``<archive>/cache/previews/`` by the derivative's hash, and their addresses
carry that hash (``/items/<id>/preview/<sha256>.jpg``): a new rendering has a new address, so a
browser can never show an older rendering than the one the page is about, and a page asking for a
rendering that is no longer current gets nothing. The web app makes the queue's previews when it
redacts, so the queue is never blank while they are drawn. An encrypted archive's previews are
kept in the server's memory instead, never in its folder (see `strips.cache_folder`).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageOps
from sqlalchemy import select

from temoin.catalog.models import Derivative
from temoin.serve.strips import COLOURS, LABEL_SUFFIX, cache_folder

if TYPE_CHECKING:
    from temoin.archive import Archive

CACHE = Path("cache") / "previews"
PAGE, THUMB = 960, 320  # widths: the review page, the queue and timeline


@dataclass(frozen=True)
class Shown:
    """How a page shows a derivative: its preview's address and size (so the page does not jump)."""

    sha256: str
    width: int
    height: int
    decisions: str = ""  # the rendering's decisions (what the drawn labels say) in short

    def url(self, item_id: str, *, boxes: bool = False, width: int = PAGE) -> str:
        # the labels drawn on top follow decisions that may change without the pixels changing
        # (a face unlinked and dismissed stays uncovered): they are part of the address
        query = f"?boxes=1&d={self.decisions}" if boxes else ""
        size = "" if width == PAGE else f"-{width}"
        return f"/items/{item_id}/preview/{self.sha256}{size}.jpg{query}"

    def size(self, width: int = PAGE) -> tuple[int, int]:
        scale = min(1.0, width / self.width, 2 * width / self.height)
        return max(1, round(self.width * scale)), max(1, round(self.height * scale))


def shown(archive: Archive, item_ids: Iterable[str]) -> dict[str, Shown]:
    """Preview addresses and sizes for the photos and videos among ``item_ids``."""
    ids = list(item_ids)
    found: dict[str, Shown] = {}
    with archive.session() as session:
        for row in session.scalars(select(Derivative).where(Derivative.item_id.in_(ids))):
            if row.mime.startswith("audio/"):
                continue
            record = json.loads(row.record)
            width, height = record.get("width"), record.get("height")
            if isinstance(width, int) and isinstance(height, int):
                found[row.item_id] = Shown(row.sha256, width, height, row.inputs[:12])
    return found


def warm(archive: Archive, item_ids: Iterable[str]) -> None:
    """Make the previews pages will ask for, now rather than on first view."""
    for item_id in item_ids:
        for boxes, width in ((True, THUMB), (False, THUMB), (True, PAGE), (False, PAGE)):
            try:
                preview(archive, item_id, boxes=boxes, width=width)
            except (OSError, ValueError):
                break  # a broken derivative: the page says so when it is asked for


def derivative_of(archive: Archive, item_id: str) -> dict[str, Any] | None:
    with archive.session() as session:
        row = session.get(Derivative, item_id)
        if row is None:
            return None
        return {
            "path": archive.root / row.path,  # as stored: sealed in an encrypted archive
            "relative": row.path,
            "sha256": row.sha256,
            "inputs": row.inputs,
            "mime": row.mime,
            "detections": json.loads(row.record).get("detections"),
        }


def readable(archive: Archive, found: dict[str, Any]) -> Path:
    """The derivative's bytes as a path: itself, or a decrypted copy in memory, checked."""
    return archive.ctx.readable(found["relative"], found["sha256"])


def preview(
    archive: Archive, item_id: str, *, boxes: bool, width: int = PAGE, sha256: str | None = None
) -> Path | None:
    """The preview file, made if needed; None when there is nothing to show, or when
    ``sha256`` names a rendering that is no longer the item's current one."""
    found = derivative_of(archive, item_id)
    if found is None or not found["path"].is_file() or found["mime"].startswith("audio/"):
        return None
    if sha256 is not None and sha256 != found["sha256"]:
        return None
    folder = cache_folder(archive, CACHE)
    drawn = f"boxes-{found['inputs'][:12]}" if boxes else "plain"
    target = folder / f"{found['sha256']}-{width}-{drawn}.jpg"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    picture = _picture(readable(archive, found), found["mime"])
    picture.thumbnail((width, width * 2))
    if boxes:
        _draw(picture, found["detections"])
    tmp = folder / f".{secrets.token_hex(6)}.tmp"
    picture.save(tmp, "JPEG", quality=82)
    os.replace(tmp, target)
    return target


def _picture(path: Path, mime: str) -> Image.Image:
    if mime.startswith("video/"):
        import av

        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                return frame.to_image().convert("RGB")
        raise ValueError("the video has no frame")
    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def _draw(picture: Image.Image, detections: Any) -> None:
    if isinstance(detections, dict):  # a video: its face tracks where they are on frame 0
        detections = _tracks_on_first_frame(detections)
    draw = ImageDraw.Draw(picture)
    width, height = picture.size
    line = max(2, width // 300)
    for entry in detections or []:
        x, y, w, h = entry["box"]
        box = (x * width, y * height, (x + w) * width, (y + h) * height)
        manual = entry.get("source") == "manual"
        kind = (
            "manual"
            if manual
            else "dismissed"
            if entry.get("dismissed")
            else "detector"
            if entry.get("anonymised")
            else "visible"
        )
        colour = COLOURS[kind]
        draw.rectangle(box, outline=colour, width=line)
        # colour is not the only cue: what is left uncovered says so in its label
        label = "+" if manual else str(entry.get("n", "?")) + LABEL_SUFFIX.get(kind, "")
        size = max(14, width // 40)
        top = box[1] - size - 4 if box[1] >= size + 4 else box[1]  # inside at the top edge
        draw.rectangle((box[0], top, box[0] + size * len(label) + 6, top + size + 4), fill=colour)
        draw.text((box[0] + 3, top + 2), label, fill=(255, 255, 255), font_size=size)


def _tracks_on_first_frame(detections: dict[str, Any]) -> list[dict[str, Any]]:
    from temoin.protect.tracks import Margins, Track, boxes_at

    if "tracks" not in detections:
        return []
    width, height = int(detections["width"]), int(detections["height"])
    shown = {t["n"]: t for t in detections["tracks"]}
    tracks = [Track.from_record(t, width, height) for t in detections["tracks"]]
    placed = boxes_at(tracks, detections["cuts"], Margins(**detections["margins"]), 0)
    return [
        {
            "box": box.normalised(width, height),
            "n": f"T{number}",
            "anonymised": not shown[number].get("visible"),
            "dismissed": bool(shown[number].get("dismissed")),
            "source": origin,
        }
        for box, origin, number in placed
    ]
