"""How long verify's replay of the custody log takes on an archive of 100,000 items.

The archive is written through the real event-writing code: the ingest loop's recording step
(catalog rows and ``ingested`` events with their digests, for photos with EXIF times and a few
chat exports), the consent register, and review decisions (approvals and withholdings). Only the
file copying and reading is skipped: blobs are not in the vault, so hashing (measured by
bench/ingest.py against sha256sum) is left out, as the target says. Then it times:

  chain    walking and re-hashing the custody chain
  replay   every stage's replay of the log against the catalog (items, messages, sightings,
           rejects, clocks, tags, captions, times, consent, reviews, links, accounts)
                                                                               target < 60 s

    python bench/replay.py [--items 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from temoin.archive import Archive, _replay
from temoin.collect.ingest import Ingest
from temoin.collect.readers.base import ChatMessage, MediaInfo
from temoin.collect.walk import Candidate
from temoin.keep.verify import check_chain
from temoin.protect import consent, review
from temoin.sort import stage

CHAT_EVERY = 1000  # one chat export of 50 messages per thousand items
PEOPLE = 200


def build(root: Path, items: int, seed: int = 1) -> Archive:
    rng = random.Random(seed)
    archive = Archive.create(root, name="bench", timezone="Europe/Paris")
    start = datetime(2016, 10, 24, 6, 0)
    ingest = Ingest(archive.ctx, "phone")
    with archive.ctx.transaction() as tx:
        session = ingest.session = tx.session
        ingest.tx = tx
        from temoin.catalog.models import Run

        ingest.run_row = Run(actor=archive.actor, source="phone", started_at=start)
        session.add(ingest.run_row)
        session.flush()
        for n in range(items):
            sha = hashlib.sha256(f"bench {seed} {n}".encode()).hexdigest()
            taken = start + timedelta(seconds=rng.randrange(18 * 3600))
            if n % CHAT_EVERY == CHAT_EVERY - 1:
                info = MediaInfo(
                    "chat",
                    "application/zip",
                    meta={"app": "whatsapp"},
                    messages=[
                        ChatMessage(taken + timedelta(minutes=m), f"member {m % 7}", f"msg {m}")
                        for m in range(50)
                    ],
                )
                name = f"chat-{n}.zip"
            else:
                info = MediaInfo(
                    "photo",
                    "image/jpeg",
                    meta={"width": 4032, "height": 3024, "make": "Phone"},
                    captured_at=taken,
                    capture_source="exif:DateTimeOriginal",
                )
                name = f"IMG_{n:06d}.jpg"
            candidate = Candidate(
                f"DCIM/{name}", name, name, "DCIM", 1000, taken, lambda: io.BytesIO(b"")
            )
            ingest._record_new(candidate, sha, 1000, info)
            ingest._pending += 1
            if ingest._pending >= 5000:
                session.commit()  # the head is written by the commit itself
                ingest._pending = 0
    with archive.ctx.transaction() as tx:
        for p in range(PEOPLE):
            yes = p % 3 == 0
            consent.record(
                tx,
                f"person {p}",
                consent="yes" if yes else "no",
                scope=["face"] if yes else [],
            )
        photos = [i["id"] for i in archive.list_items(kind="photo")][: items // 10]
        for n, item_id in enumerate(photos):
            if n % 5:
                review._decide(tx, item_id, "approved", None, None)
            else:
                review._decide(tx, item_id, "withheld", "shows a child", None)
    stage.rebuild(archive.ctx)  # the derived tables are fresh, so the times are replayed too
    return archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the archive here and keep it")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="temoin-replay-"))
    try:
        started = time.perf_counter()
        archive = build(base / "archive", args.items)
        print(f"built {args.items:,} items in {time.perf_counter() - started:.1f} s")
        with archive.session() as session:
            started = time.perf_counter()
            events, faults, _ = check_chain(session, archive.custody)
            chain = time.perf_counter() - started
            started = time.perf_counter()
            replayed = _replay(session, archive.settings.timezone)
            seconds = time.perf_counter() - started
        archive.close()
        assert not faults and not replayed.faults, (faults, replayed.faults[:5])
        print(f"chain   {events:,} events in {chain:.1f} s")
        print(f"replay  {args.items:,} items in {seconds:.1f} s (target < 60 s)")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
