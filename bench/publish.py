"""Site building speed: a full build and an incremental rebuild of a 10,000-item story.

Makes (in a temporary folder) an archive of --items approved photos spread over one day: small
metadata-free JPEG derivatives, each signed with the archive's key, with catalog rows inserted in
bulk (redaction is skipped: it is benched by bench/redact.py). Then times the real builder,
`Archive.publish_site`, with every item through the gate:

  full         an empty folder: every page, rendition, signed record and the feed
  incremental  the same folder after one caption changed: only what shows it is rewritten

and prints pages/s for both (pages = HTML pages and the feed; renditions are counted as files).

    python bench/publish.py [--items 10000] [--size 480x360] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from sqlalchemy import insert

from temoin.archive import Archive
from temoin.catalog.models import Blob, Derivative, Item, Review
from temoin.protect import provenance
from temoin.protect.derivatives import Inputs
from temoin.protect.detector import MODEL_VERSION
from temoin.testing.photos import pattern

DAY = datetime(2016, 10, 24, 4, 0)  # 06:00 in Paris


def make_archive(root: Path, items: int, size: tuple[int, int]) -> Archive:
    archive = Archive.create(root, name="Bench", timezone="Europe/Paris")
    base = pattern(*size, seed=1)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    fingerprint = Inputs("photo", [], []).fingerprint()
    blobs, rows, derivatives, reviews = [], [], [], []
    with archive.writing(), archive.session() as session:
        key = provenance.signing_key(session, archive)
        session.commit()
        for n in range(items):
            image = base.copy()
            x, y = (n * 16) % size[0], (n * 16 // size[0]) * 16 % size[1]
            image.paste((n % 256, (n // 256) % 256, 99), (x, y, x + 16, y + 16))  # distinct bytes
            buffer = BytesIO()
            image.save(buffer, "JPEG", quality=80)
            data = buffer.getvalue()
            sha = hashlib.sha256(data).hexdigest()
            original = hashlib.sha256(f"original {n}".encode()).hexdigest()
            rel = f"{provenance.DERIVATIVES}/{sha[:2]}/{sha}.jpg"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
            taken = DAY + timedelta(seconds=round(n * 64800 / items))
            record = {
                "item": original,
                "kind": "photo",
                "original_sha256": original,
                "sha256": sha,
                "mime": "image/jpeg",
                "size": len(data),
                "operations": [{"op": "encode", "format": "jpeg", "metadata": "none"}],
                "detections": [],
                "model_version": MODEL_VERSION,
                "inputs": fingerprint,
                "made_at": now.isoformat() + "Z",
                "made_by": "bench",
            }
            text, signature = provenance.sign(key, record)
            blobs.append(
                {"sha256": original, "size": len(data), "mime": "image/jpeg", "stored_at": now}
            )
            rows.append(
                {
                    "id": original,
                    "kind": "photo",
                    "blob_sha256": original,
                    "name": f"IMG_{n:05d}.jpg",
                    "source": "bench",
                    "mime": "image/jpeg",
                    "meta": {"width": size[0], "height": size[1]},
                    "captured_raw": taken.replace(tzinfo=UTC).isoformat(),
                    "capture_source": "exif:DateTimeOriginal",
                    "time_utc": taken,
                    "created_at": now,
                }
            )
            derivatives.append(
                {
                    "item_id": original,
                    "sha256": sha,
                    "original_sha256": original,
                    "path": rel,
                    "mime": "image/jpeg",
                    "size": len(data),
                    "inputs": fingerprint,
                    "record": text,
                    "signature": signature,
                    "made_at": now,
                }
            )
            reviews.append(
                {
                    "item_id": original,
                    "status": "approved",
                    "derivative_sha256": sha,
                    "decided_by": "bench",
                    "decided_at": now,
                }
            )
        for model, values in (
            (Blob, blobs),
            (Item, rows),
            (Derivative, derivatives),
            (Review, reviews),
        ):
            session.execute(insert(model), values)
        session.commit()
    archive.new_story("Bench day", "2016-10-24T06:00", "2016-10-25T00:00")
    archive.rebuild()
    return archive


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--size", default="480x360", help="derivative size, WxH")
    parser.add_argument("--keep", action="store_true", help="keep the archive and site")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    folder = Path(tempfile.mkdtemp(prefix="temoin-bench-publish-"))
    try:
        started = time.monotonic()
        archive = make_archive(folder / "archive", args.items, (width, height))
        print(
            f"made {args.items} approved items in {time.monotonic() - started:.1f} s",
            file=sys.stderr,
        )
        out = folder / "site"
        full = archive.publish_site(out)
        _line("full build", full)
        first = archive.list_items(kind="photo", limit=1)[0]["id"]
        archive.caption(first, "A caption changed after publication")
        again = archive.publish_site(out)
        _line("incremental (1 caption)", again)
        archive.close()
    finally:
        if args.keep:
            print(f"kept in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def _line(label: str, report: object) -> None:
    r = report.as_dict()  # type: ignore[attr-defined]
    seconds = max(r["seconds"], 1e-6)
    print(
        f"{label:26} {r['pages']:6d} pages  {r['written']:6d} files written  "
        f"{r['unchanged']:6d} unchanged  {seconds:7.2f} s  {r['pages'] / seconds:8.0f} pages/s"
    )


if __name__ == "__main__":
    sys.exit(main())
