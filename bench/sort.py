"""Sort-stage speed on a generated archive of 100,000 items.

Catalog rows are inserted in bulk with synthetic but realistic data (photos with EXIF times, some
with GPS stamps, videos, chat messages, diary notes, files timed only by name or mtime); a few
hundred real JPEGs are hashed to measure perceptual hashing, the rest get synthetic hashes with
planted near-duplicates. Then it times:

  rebuild  the full timeline rebuild (times, entries, moments, figures, search index)  target < 10 s
  dedupe   indexed near-duplicate grouping over every hash (items/s), never all pairs
  search   200 queries through the Archive façade, p50/p95                             target p95 < 50 ms

    python bench/sort.py [--items 100000] [--real 300] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import insert

from temoin.archive import Archive
from temoin.catalog.models import Blob, Item, PerceptualHash, Run, Sighting
from temoin.sort import dupes, stage
from temoin.sort.dupes import to_signed
from temoin.testing.diaries import ENGLISH_DIARY, FRENCH_DIARY
from temoin.testing.photos import pattern

WORDS = [
    "police",
    "bus",
    "buses",
    "queue",
    "bridge",
    "gate",
    "school",
    "tents",
    "helicopter",
    "bulldozer",
    "water",
    "tea",
    "blanket",
    "children",
    "minors",
    "families",
    "smoke",
    "fire",
    "shelter",
    "volunteers",
    "road",
    "north",
    "south",
    "warehouse",
    "camp",
    "CRS",
    "hangar",
    "file",
    "attente",
    "cabanes",
    "fumées",
    "départ",
    "arrestation",
    "journalists",
    "press",
]
SOURCES = [f"phone {n}" for n in range(12)]


def _sha(n: int, kind: str) -> str:
    return hashlib.sha256(f"{kind}:{n}".encode()).hexdigest()


def generate(archive: Archive, total: int, rng: random.Random) -> dict[str, int]:
    """Insert `total` items: 35% photos, 8% videos, 2% audio, 1% notes, 4% chats' files, rest
    messages."""
    start = datetime(2016, 10, 20, 5, 0)
    now = datetime.now(UTC).replace(tzinfo=None)
    counts = {"photo": int(total * 0.35), "video": int(total * 0.08), "audio": int(total * 0.02)}
    counts["text"] = int(total * 0.01)
    chats = 40
    counts["message"] = total - sum(counts.values()) - chats
    blobs, items, sightings = [], [], []

    def base(sha: str, kind: str, name: str, source: str) -> dict:
        return {
            "id": sha,
            "kind": kind,
            "blob_sha256": sha,
            "parent_id": None,
            "seq": None,
            "attachment_id": None,
            "name": name,
            "source": source,
            "mime": "application/octet-stream",
            "author": None,
            "text": None,
            "meta": {},
            "captured_raw": None,
            "capture_source": None,
            "time_utc": None,
            "created_at": now,
        }

    def blob(sha: str) -> None:
        blobs.append(
            {"sha256": sha, "size": rng.randint(50_000, 5_000_000), "mime": "x", "stored_at": now}
        )

    for n in range(counts["photo"]):
        sha, source = _sha(n, "photo"), rng.choice(SOURCES)
        when = start + timedelta(seconds=rng.randint(0, 5 * 86400))
        row = base(sha, "photo", f"IMG_{n}.jpg", source)
        style = n % 10
        meta: dict = {"width": 4000, "height": 3000, "make": "Fairphone", "model": "FP2"}
        if style < 4:
            row.update(captured_raw=when.isoformat(), capture_source="exif:DateTimeOriginal")
        elif style < 7:
            row.update(
                captured_raw=when.replace(tzinfo=UTC).isoformat(),
                capture_source="exif:DateTimeOriginal",
            )
        elif style < 9:
            row.update(captured_raw=when.isoformat(), capture_source="exif:DateTimeOriginal")
            meta["gps"] = {
                "lat": 50.95 + rng.random() / 100,
                "lon": 1.85 + rng.random() / 100,
                "time_utc": (when - timedelta(hours=2)).replace(tzinfo=UTC).isoformat(),
            }
        else:
            row["name"] = f"IMG-{when:%Y%m%d}-WA{n:04d}.jpg"
            meta = {"width": 1600, "height": 1200}
            sightings.append({"blob_sha256": sha, "mtime": when})
        row["meta"] = meta
        blob(sha)
        items.append(row)
    for n in range(counts["video"]):
        sha = _sha(n, "video")
        when = start + timedelta(seconds=rng.randint(0, 5 * 86400))
        row = base(sha, "video", f"VID_{when:%Y%m%d_%H%M%S}.mp4", rng.choice(SOURCES))
        if n % 3:
            row.update(
                captured_raw=when.replace(tzinfo=UTC).isoformat(),
                capture_source="quicktime:creation_time",
            )
        else:
            sightings.append({"blob_sha256": sha, "mtime": when})
        row["meta"] = {"width": 1920, "height": 1080, "duration_s": 12.0}
        blob(sha)
        items.append(row)
    for n in range(counts["audio"]):
        sha = _sha(n, "audio")
        when = start + timedelta(seconds=rng.randint(0, 5 * 86400))
        row = base(sha, "audio", f"PTT-{when:%Y%m%d}-WA{n:04d}.opus", rng.choice(SOURCES))
        sightings.append({"blob_sha256": sha, "mtime": when})
        blob(sha)
        items.append(row)
    for n in range(counts["text"]):
        sha = _sha(n, "text")
        row = base(sha, "text", f"notes-{n}.txt", rng.choice(SOURCES))
        day = start + timedelta(days=n % 5)
        diary = (FRENCH_DIARY if n % 2 else ENGLISH_DIARY).replace(
            "24 octobre 2016" if n % 2 else "24 October 2016",
            f"{day.day} octobre 2016" if n % 2 else f"{day.day} October 2016",
        )
        row["text"] = diary
        sightings.append({"blob_sha256": sha, "mtime": day})
        blob(sha)
        items.append(row)
    per_chat = counts["message"] // chats
    made_messages = 0
    for c in range(chats):
        sha = _sha(c, "chat")
        source = SOURCES[c % len(SOURCES)]
        chat = base(sha, "chat", f"WhatsApp Chat with group {c}.txt", source)
        blob(sha)
        items.append(chat)
        when = start + timedelta(minutes=c)
        wanted = per_chat if c < chats - 1 else counts["message"] - made_messages
        for seq in range(wanted):
            when += timedelta(seconds=rng.randint(5, 400))
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
            if seq % 7 == 0:
                text += f", {rng.randint(2, 400)} people"
            row = base(
                hashlib.sha256(f"{sha}:{seq}".encode()).hexdigest(), "message", chat["name"], source
            )
            row.update(
                blob_sha256=None,
                parent_id=sha,
                seq=seq,
                author=f"person {seq % 9}",
                text=text,
                captured_raw=when.isoformat(),
                capture_source="chat:whatsapp",
                mime="text/plain",
            )
            items.append(row)
        made_messages += wanted
    with archive.session() as session:
        run = Run(actor="bench", source="bench", started_at=now, stored=0, duplicates=0, rejected=0)
        session.add(run)
        session.flush()
        session.execute(insert(Blob), blobs)
        session.execute(insert(Item), [r for r in items if r["kind"] == "chat"])
        session.execute(insert(Item), [r for r in items if r["kind"] != "chat"])
        session.execute(
            insert(Sighting),
            [
                {**s, "run_id": run.id, "source": "bench", "path": "x", "seen_at": now}
                for s in sightings
            ],
        )
        session.commit()
    return {
        kind: sum(1 for r in items if r["kind"] == kind)
        for kind in ("photo", "video", "audio", "text", "chat", "message")
    }


def real_hashes(folder: Path, count: int) -> tuple[list[dupes.Hashes], float]:
    """Hash `count` real JPEGs (half of them WhatsApp-style copies of the other half)."""
    paths = []
    for n in range(count // 2):
        original = folder / f"o{n}.jpg"
        pattern(1600, 1200, seed=n).save(original, "JPEG", quality=90)
        with Image.open(original) as image:
            buffer = io.BytesIO()
            image.resize((800, 600)).save(buffer, "JPEG", quality=55)
        (folder / f"c{n}.jpg").write_bytes(buffer.getvalue())
        paths += [original, folder / f"c{n}.jpg"]
    started = time.perf_counter()
    found = [dupes.photo_hashes(p)[0] for p in paths]
    return found, time.perf_counter() - started


def add_hashes(archive: Archive, real: list[dupes.Hashes], rng: np.random.Generator) -> int:
    """Real hashes for the first photos, synthetic ones (10% planted near copies) for the rest."""
    with archive.session() as session:
        photos = [
            i
            for (i,) in session.execute(
                Item.__table__.select().with_only_columns(Item.id).where(Item.kind == "photo")
            )
        ]
        videos = [
            i
            for (i,) in session.execute(
                Item.__table__.select().with_only_columns(Item.id).where(Item.kind == "video")
            )
        ]
        synthetic = rng.integers(0, 2**63, size=(len(photos) + len(videos) * 5, 2), dtype=np.int64)
        synthetic = synthetic.astype(np.uint64) * np.uint64(2) + np.uint64(1)
        for k in range(0, len(photos) // 10):  # near copies: flip 0-5 bits of another photo
            target = len(photos) - 1 - k
            flips = sum(
                1 << int(b) for b in rng.choice(64, size=int(rng.integers(0, 6)), replace=False)
            )
            synthetic[target] = synthetic[k] ^ np.array([flips, flips], dtype=np.uint64)
        rows = []
        for n, item_id in enumerate(photos):
            h = (
                real[n]
                if n < len(real)
                else dupes.Hashes(int(synthetic[n, 0]), int(synthetic[n, 1]))
            )
            rows.append(
                {
                    "item_id": item_id,
                    "frame": 0,
                    "phash": to_signed(h.phash),
                    "dhash": to_signed(h.dhash),
                }
            )
        at = len(photos)
        for item_id in videos:
            for frame in range(5):
                rows.append(
                    {
                        "item_id": item_id,
                        "frame": frame,
                        "phash": to_signed(int(synthetic[at, 0])),
                        "dhash": to_signed(int(synthetic[at, 1])),
                    }
                )
                at += 1
        session.execute(insert(PerceptualHash), rows)
        session.commit()
    return len(photos) + len(videos)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--real", type=int, default=300, help="real JPEGs to hash")
    parser.add_argument("--keep", type=Path, help="build the archive here and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="temoin-sort-bench-"))
    try:
        archive = Archive.create(work / "archive", name="bench", timezone="Europe/Paris")
        started = time.perf_counter()
        counts = generate(archive, args.items, random.Random(1))
        print(
            f"generated {sum(counts.values()):,} items {counts} in {time.perf_counter() - started:.1f} s"
        )

        (work / "real").mkdir(exist_ok=True)
        real, seconds = real_hashes(work / "real", args.real)
        print(
            f"perceptual hashing (real JPEGs, 1600x1200 + copies): {len(real) / seconds:,.0f} photos/s"
        )
        hashed = add_hashes(archive, real, np.random.default_rng(2))

        started = time.perf_counter()
        report = stage.rebuild(archive.ctx)
        rebuild_s = time.perf_counter() - started
        laps = ", ".join(f"{k} {v:.2f}" for k, v in report["seconds"].items())
        print(
            f"full timeline rebuild: {rebuild_s:.2f} s (target < 10 s) [{laps}] "
            f"{report['entries']:,} entries, {report['figures']:,} figures, "
            f"{report['documents']:,} search docs, {report['moments']:,} moments"
        )

        with archive.session() as session:
            dupe_report = dupes.DupeReport()
            groups = dupes.regroup(session, dupe_report)
            session.commit()
        print(
            f"dedupe (indexed, {hashed:,} hashed items): {dupe_report.group_seconds:.2f} s, "
            f"{hashed / dupe_report.group_seconds:,.0f} items/s, {len(groups):,} groups, "
            f"{dupe_report.grouped_items:,} grouped items"
        )

        rng = random.Random(3)
        queries = []
        for n in range(200):
            if n % 4 == 0:
                queries.append(f"{rng.choice(WORDS)} {rng.choice(WORDS)}")
            elif n % 4 == 1:
                queries.append(rng.choice(WORDS)[:3] + "*")
            else:
                queries.append(rng.choice(WORDS))
        archive.search("warm up")
        for label, limit in (("first 50 hits", 50), ("all hits", None)):
            latencies, hits = [], []
            for query in queries:
                started = time.perf_counter()
                found = archive.search(query, limit=limit)
                latencies.append((time.perf_counter() - started) * 1000)
                hits.append(len(found["results"]))
            p95 = statistics.quantiles(latencies, n=20)[18]
            print(
                f"search ({label}, 200 queries): p50 {statistics.median(latencies):.1f} ms, "
                f"p95 {p95:.1f} ms (target < 50 ms), median {statistics.median(hits):,.0f} hits"
            )
        archive.close()
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
