"""Redaction on the queue: one worker process against two, on a real PostgreSQL.

A backlog of 720p clips (a face the camera pans across, each framed a little differently so the
vault keeps every one), made by the project's own factories, is ingested into a fresh archive whose
catalog is a fresh database on a private PostgreSQL cluster (``.ci/postgres``, Unix socket). The
coordinator (this process, holding the signing key) queues one rendering per clip and records the
results; N `temoin worker --queue redact` processes render them, each with the detector on one
thread. Timed: from queueing the first rendering to recording the last (workers are started and
registered before; each loads the model on its first clip, inside the timing).

Printed: clips/min and frames/s for 1 and 2 workers, and the ratio (target on 2 cores: ≥ 1.6×).

    .venv/bin/python bench/scale.py [--clips 20] [--seconds 2] [--port 5499]

The machine may be shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, select, text

from temoin.archive import Archive
from temoin.catalog.models import Derivative
from temoin.testing.footage import Key, Shot, write_clip
from temoin.testing.photos import astronaut
from temoin.testing.postgres import create_database, drop_database
from temoin.work.coordinator import Coordinator

REPO = Path(__file__).resolve().parents[1]


def clips(folder: Path, count: int, seconds: float) -> list[Path]:
    picture = np.asarray(astronaut().convert("RGB"))
    return [
        write_clip(
            folder / f"clip{n:02d}.mp4",
            [Shot(picture, seconds, [Key(0, 200 + 3 * n, 190, 420), Key(seconds, 300, 200, 360)])],
            size=(1280, 720),
            fps=25,
        )
        for n in range(count)
    ]


def run(card: Path, workers: int, work: Path) -> tuple[float, int, int]:
    """Seconds, clips and frames of one redaction of the backlog by ``workers`` processes."""
    url = create_database("temoin_bench")
    root = work / f"archive-{workers}"
    os.environ["TEMOIN_DATABASE_URL"] = url
    try:
        Archive.create(root).close()
        with open(root / "temoin.toml", "a", encoding="utf-8") as toml:
            toml.write(f'database_url = "{url}"\njobs = "procrastinate"\n')
        del os.environ["TEMOIN_DATABASE_URL"]
        archive = Archive.open(root)
        archive.ingest(sorted(card.iterdir()), source="bench")
        coordinator = Coordinator.start(archive.ctx)
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
        command = [sys.executable, "-m", "temoin", "-A", str(root), "worker", "--queue", "redact"]
        procs = [
            subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) for _ in range(workers)
        ]
        engine = create_engine(url)
        try:
            while True:  # every worker registered before the clock starts
                with engine.connect() as connection:
                    seen = connection.scalar(text("SELECT count(*) FROM procrastinate_workers"))
                if seen == workers:
                    break
                time.sleep(0.1)
            started = time.monotonic()
            report = coordinator.redact(threads=1)
            seconds = time.monotonic() - started
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(60)
            engine.dispose()
            coordinator.close()
        if report.failed:
            raise SystemExit(f"renderings failed: {report.failed}")
        with archive.session() as session:
            records = [json.loads(r) for r in session.scalars(select(Derivative.record))]
        archive.close()
        frames = sum(int(r["detections"]["frames"]) for r in records)
        return seconds, len(records), frames
    finally:
        os.environ.pop("TEMOIN_DATABASE_URL", None)
        drop_database(url)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each clip")
    parser.add_argument("--port", type=int, default=5499)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="temoin-scale-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # run as root, the script starts the server as Debian's postgres user
        cluster = work / "pg"
        script = REPO / ".ci" / "postgres"
        admin = subprocess.run(
            [str(script), "start", str(cluster), str(args.port)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        os.environ["TEMOIN_TEST_POSTGRES_URL"] = admin
        try:
            print(f"making {args.clips} clips of {args.seconds:g} s at 1280x720…", file=sys.stderr)
            card = work / "card"
            clips(card, args.clips, args.seconds)
            figures = {}
            for workers in (1, 2):
                seconds, count, frames = run(card, workers, work)
                figures[workers] = seconds
                print(
                    f"{workers} worker{'s' if workers > 1 else ''}: {count} clips, {frames} frames "
                    f"in {seconds:.1f} s = {60 * count / seconds:.1f} clips/min, "
                    f"{frames / seconds:.1f} frames/s"
                )
            print(f"scaling, 2 workers against 1: {figures[1] / figures[2]:.2f}×")
            print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        finally:
            subprocess.run([str(script), "stop", str(cluster)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
