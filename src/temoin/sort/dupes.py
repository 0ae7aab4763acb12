"""Near-duplicates: burst shots and the recompressed copies chat apps make, grouped, never deleted.

The same photo comes back three times in a dump: the camera original, the WhatsApp copy a friend
sent back, the screenshot of it. A reader wants it once, with the best copy in front; the record
keeps all of them, because which copy went where is itself evidence.

Photos are compared by perceptual hash (imagehash's pHash, confirmed by dHash); videos by the pHash
of frames sampled at fixed fractions of their length, so a re-encoded copy samples the same
pictures. Pairs are found with a multi-index hash: each 64-bit hash is cut into four 16-bit
chunks; two hashes within distance d share at least one chunk within d // 4 bits (pigeonhole), so
probing each chunk's table with those few bit flips finds every pair without comparing all pairs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from temoin.catalog.models import Blob, DupeMember, Item, PerceptualHash
from temoin.kinds import Kind

PHASH_MAX = 7  # bits of 64: recompressed and resized copies land at 0–4, burst shots at 2–7
DHASH_MAX = 16  # the confirmation: near-uniform pictures (night, pocket) share a pHash, not a dHash
VIDEO_FRAMES = (0.1, 0.3, 0.5, 0.7, 0.9)  # where in a clip its frames are sampled
_CHUNKS = 4
_CHUNK_BITS = 64 // _CHUNKS


# -- hashing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hashes:
    phash: int  # unsigned 64-bit
    dhash: int


def photo_hashes(path: Path) -> list[Hashes]:
    """One pair of hashes of the picture as shown (EXIF orientation applied)."""
    import imagehash
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        if image.format == "JPEG":
            image.draft("L", (128, 128))  # decode at 1/8 size: the hashes look at 32×32 anyway
        shown = ImageOps.exif_transpose(image)
        return [_hashes(shown, imagehash)]


def video_hashes(path: Path) -> list[Hashes]:
    """Hashes of frames at VIDEO_FRAMES of the duration, found by seeking to the nearest keyframe
    and decoding forward, so a long clip costs a handful of decodes."""
    import av
    import imagehash

    found: list[Hashes] = []
    with av.open(str(path), metadata_errors="replace") as container:
        stream = container.streams.video[0]
        if stream.time_base is None:  # no way to seek to a time in it
            raise ValueError("the video stream has no time base")
        duration = _seconds(container, stream)
        for fraction in VIDEO_FRAMES:
            target = duration * fraction
            container.seek(int(target / stream.time_base), stream=stream, backward=True)
            frame = None
            for candidate in container.decode(stream):
                frame = candidate
                if candidate.time is None or candidate.time >= target:
                    break
            if frame is not None:
                found.append(_hashes(frame.to_image(), imagehash))
    return found


def _seconds(container: Any, stream: Any) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return 0.0


def _hashes(image: Any, imagehash: Any) -> Hashes:
    return Hashes(_to_int(imagehash.phash(image)), _to_int(imagehash.dhash(image)))


def _to_int(value: Any) -> int:
    bits = value.hash.flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def to_signed(value: int) -> int:
    """SQLite integers are signed 64-bit."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


# -- finding pairs ----------------------------------------------------------------------------


def popcount64(values: np.ndarray) -> np.ndarray:
    """Set bits per uint64 (numpy < 2.0 has no bitwise_count)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values).astype(np.int64)
    bytes_ = values.view(np.uint8).reshape(-1, 8)
    return np.unpackbits(bytes_, axis=1).sum(axis=1).astype(np.int64)


def _flip_masks(radius: int) -> np.ndarray:
    masks = [0]
    for bits in range(1, radius + 1):
        for chosen in itertools.combinations(range(_CHUNK_BITS), bits):
            masks.append(sum(1 << b for b in chosen))
    return np.array(masks, dtype=np.uint64)


def near_pairs(hashes: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i < j) with Hamming distance ≤ max_distance, and the distance.

    Multi-index hashing: for each 16-bit chunk, the hashes sorted by that chunk form a table;
    probing it with each hash's chunk XOR every mask of ≤ max_distance // 4 bits gives candidates
    that surely include every near pair; candidates are then checked on all 64 bits.
    """
    values = np.ascontiguousarray(hashes, dtype=np.uint64)
    count = len(values)
    if count < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    masks = _flip_masks(max_distance // _CHUNKS)
    found_i: list[np.ndarray] = []
    found_j: list[np.ndarray] = []
    index = np.arange(count, dtype=np.int64)
    for chunk in range(_CHUNKS):
        keys = (values >> np.uint64(chunk * _CHUNK_BITS)) & np.uint64(0xFFFF)
        order = np.argsort(keys, kind="stable")
        table = keys[order]
        for mask in masks:
            probe = keys ^ mask
            left = np.searchsorted(table, probe, side="left")
            right = np.searchsorted(table, probe, side="right")
            sizes = right - left
            hits = sizes > 0
            if not hits.any():
                continue
            owners = np.repeat(index[hits], sizes[hits])
            starts = np.repeat(left[hits], sizes[hits])
            within = np.arange(len(owners)) - np.repeat(
                np.cumsum(sizes[hits]) - sizes[hits], sizes[hits]
            )
            partners = order[starts + within]
            keep = owners < partners
            found_i.append(owners[keep])
            found_j.append(partners[keep])
    if not found_i:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    pairs = np.unique(np.stack([np.concatenate(found_i), np.concatenate(found_j)], axis=1), axis=0)
    left_i, right_j = pairs[:, 0], pairs[:, 1]
    distance = popcount64(values[left_i] ^ values[right_j])
    close = distance <= max_distance
    return left_i[close], right_j[close], distance[close]


# -- grouping ---------------------------------------------------------------------------------


@dataclass
class Candidate:
    """What grouping needs to know of one hashed item."""

    item_id: str
    kind: str  # photo or video
    frames: list[Hashes]
    size: int = 0
    pixels: int = 0
    original: bool = False  # carries the camera's own metadata (make/model, EXIF/QuickTime time)
    source: str = ""


@dataclass
class Group:
    id: int
    representative: str
    members: dict[str, int] = field(default_factory=dict)  # item id -> distance to representative


def group(candidates: list[Candidate]) -> list[Group]:
    """Near-duplicate groups (two or more items), best copy first; single linkage."""
    parent = list(range(len(candidates)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in _confirmed_pairs(candidates):
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[int, list[int]] = {}
    for i in range(len(candidates)):
        members.setdefault(find(i), []).append(i)
    groups: list[Group] = []
    for indexes in members.values():
        if len(indexes) < 2:
            continue
        best = max(indexes, key=lambda k: _quality(candidates[k]))
        rep = candidates[best]
        group_ = Group(len(groups) + 1, rep.item_id)
        for k in indexes:
            group_.members[candidates[k].item_id] = _distance(rep, candidates[k])
        groups.append(group_)
    return groups


def _quality(candidate: Candidate) -> tuple[bool, int, int, str]:
    """The best copy: the camera's original metadata first, then resolution, then file size."""
    return (candidate.original, candidate.pixels, candidate.size, candidate.item_id)


def _confirmed_pairs(candidates: list[Candidate]) -> Iterable[tuple[int, int]]:
    owner: list[int] = []
    frame_no: list[int] = []
    phashes: list[int] = []
    for k, candidate in enumerate(candidates):
        for f, hashes in enumerate(candidate.frames):
            owner.append(k)
            frame_no.append(f)
            phashes.append(hashes.phash)
    if not phashes:
        return
    left, right, _ = near_pairs(np.array(phashes, dtype=np.uint64), PHASH_MAX)
    seen: set[tuple[int, int]] = set()
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        i, j = owner[a], owner[b]
        if i == j or frame_no[a] != frame_no[b]:
            continue
        pair = (min(i, j), max(i, j))
        if pair in seen:
            continue
        seen.add(pair)
        if _same(candidates[pair[0]], candidates[pair[1]]):
            yield pair


def _same(one: Candidate, other: Candidate) -> bool:
    if one.kind != other.kind:
        return False
    frames = list(zip(one.frames, other.frames, strict=False))
    if not frames:
        return False
    near = sum(
        1
        for a, b in frames
        if bin(a.phash ^ b.phash).count("1") <= PHASH_MAX
        and bin(a.dhash ^ b.dhash).count("1") <= DHASH_MAX
    )
    return near * 2 > len(frames)  # most sampled frames agree


def _distance(one: Candidate, other: Candidate) -> int:
    distances = sorted(
        bin(a.phash ^ b.phash).count("1") for a, b in zip(one.frames, other.frames, strict=False)
    )
    return distances[len(distances) // 2] if distances else 0


def is_original(kind: str, meta: Mapping[str, Any] | None, capture_source: str | None) -> bool:
    meta = meta or {}
    if kind == Kind.PHOTO:
        return bool(meta.get("make") or meta.get("model")) or (capture_source or "").startswith(
            "exif:"
        )
    return (capture_source or "").startswith(("quicktime:", "matroska:")) or bool(meta.get("make"))


def hash_item(kind: str, path: Path) -> list[Hashes]:
    return photo_hashes(path) if kind == Kind.PHOTO else video_hashes(path)


# -- the catalog side -------------------------------------------------------------------------


@dataclass
class DupeReport:
    hashed: int = 0
    failed: list[str] = field(default_factory=list)
    groups: int = 0
    grouped_items: int = 0
    hash_seconds: float = 0.0
    group_seconds: float = 0.0


def hash_missing(
    session: Session,
    blob_path: Callable[[str], Path],
    report: DupeReport,
    hasher: Callable[[str, Path], list[Hashes]] = hash_item,
) -> None:
    """Hash photos and videos that have no hashes yet; hashes never change, so they are cached."""
    started = time.perf_counter()
    todo = session.execute(
        select(Item.id, Item.kind, Item.blob_sha256)
        .where(Item.kind.in_((Kind.PHOTO, Kind.VIDEO)), Item.blob_sha256.is_not(None))
        .where(~select(PerceptualHash.item_id).where(PerceptualHash.item_id == Item.id).exists())
    ).all()
    for item_id, kind, sha in todo:
        assert sha is not None  # the query asks only for originals
        try:
            frames = hasher(kind, blob_path(sha))
        except Exception as exc:  # one unreadable original must not stop the others
            report.failed.append(f"{item_id[:12]}: {type(exc).__name__}: {exc}")
            continue
        if not frames:
            report.failed.append(f"{item_id[:12]}: no frame could be decoded")
            continue
        session.add_all(
            PerceptualHash(
                item_id=item_id, frame=f, phash=to_signed(h.phash), dhash=to_signed(h.dhash)
            )
            for f, h in enumerate(frames)
        )
        report.hashed += 1
    session.flush()
    report.hash_seconds = time.perf_counter() - started


def load_candidates(session: Session) -> list[Candidate]:
    frames: dict[str, list[Hashes]] = {}
    for item_id, _frame, phash, dhash in session.execute(
        select(
            PerceptualHash.item_id, PerceptualHash.frame, PerceptualHash.phash, PerceptualHash.dhash
        ).order_by(PerceptualHash.item_id, PerceptualHash.frame)
    ):
        frames.setdefault(item_id, []).append(Hashes(to_unsigned(phash), to_unsigned(dhash)))
    rows = session.execute(
        select(Item.id, Item.kind, Item.meta, Item.capture_source, Item.source, Blob.size)
        .join(Blob, Blob.sha256 == Item.blob_sha256)
        .where(Item.id.in_(select(PerceptualHash.item_id).distinct()))
    )
    candidates = []
    for item_id, kind, meta, capture_source, source, size in rows:
        meta = meta or {}
        pixels = int(meta.get("width") or 0) * int(meta.get("height") or 0)
        candidates.append(
            Candidate(
                item_id=item_id,
                kind=kind,
                frames=frames.get(item_id, []),
                size=size,
                pixels=pixels,
                original=is_original(kind, meta, capture_source),
                source=source,
            )
        )
    return candidates


def store_groups(session: Session, groups: Sequence[Group]) -> None:
    session.execute(delete(DupeMember))
    rows = [
        {
            "item_id": item_id,
            "group_id": g.id,
            "is_representative": item_id == g.representative,
            "distance": distance,
        }
        for g in groups
        for item_id, distance in g.members.items()
    ]
    if rows:
        session.execute(insert(DupeMember), rows)


def regroup(session: Session, report: DupeReport) -> list[Group]:
    started = time.perf_counter()
    groups = group(load_candidates(session))
    store_groups(session, groups)
    report.groups = len(groups)
    report.grouped_items = sum(len(g.members) for g in groups)
    report.group_seconds = time.perf_counter() - started
    return groups
