"""Fifty phones at once against `temoin serve` on loopback.

Starts the real server (`temoin serve`, uvicorn, in its own process) on a fresh archive with one
witness account per phone, then runs every phone in its own thread: sign in, send a couple of small
photos over tus (create + one PATCH each), and browse the timeline a few times. Prints throughput,
p50/p95 latency of page views and of upload requests, and the error count; then waits for the ingest
jobs and checks that every photo sent is in the catalog under its witness (no upload lost).

Targets: 0 errors, no upload lost, p95 page latency under 200 ms.

    python bench/serve.py [--phones 50] [--photos 2] [--views 3] [--port 8765]
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from io import BytesIO
from pathlib import Path

import httpx

from temoin.archive import Archive
from temoin.serve.users import add_user
from temoin.testing.photos import make_exif, pattern

PASSWORD = "bench password 1"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Tally:
    def __init__(self) -> None:
        self.pages: list[float] = []
        self.uploads: list[float] = []
        self.logins: list[float] = []
        self.waits = 0  # sign-ins told to wait (429): attempts from one address are throttled
        self.errors: list[str] = []
        self.sent = 0
        self._lock = threading.Lock()

    def add(self, kind: str, seconds: float) -> None:
        with self._lock:
            getattr(self, kind).append(seconds)

    def error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)


def _photo(phone: int, n: int) -> bytes:
    buffer = BytesIO()
    exif = make_exif(make="Fairphone", model="FP4")
    pattern(640, 480, seed=phone * 100 + n).save(buffer, "JPEG", quality=80, exif=exif)
    return buffer.getvalue()


def _timed(tally: Tally, kind: str, call, *args, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response: httpx.Response = call(*args, **kwargs)
    tally.add(kind, time.perf_counter() - started)
    return response


def phone(
    base: str, number: int, photos: int, views: int, tally: Tally, start: threading.Event
) -> None:
    name = f"phone{number:02d}"
    start.wait()
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(5):  # a phone told to wait tries again when the server says
                login = client.get("/login")
                token = _CSRF.search(login.text).group(1)  # type: ignore[union-attr]
                signed = _timed(
                    tally,
                    "logins",
                    client.post,
                    "/login",
                    data={"csrf": token, "name": name, "password": PASSWORD},
                )
                if signed.status_code != 429:
                    break
                with tally._lock:
                    tally.waits += 1
                time.sleep(float(signed.headers.get("retry-after", "1")))
            if signed.status_code != 303:
                tally.error(f"{name}: sign-in {signed.status_code}")
                return
            home = _timed(tally, "pages", client.get, "/")
            csrf = _CSRF.search(home.text).group(1)  # type: ignore[union-attr]
            for n in range(photos):
                data = _photo(number, n)
                meta = (
                    "filename " + base64.b64encode(f"IMG_{number:02d}{n:02d}.jpg".encode()).decode()
                )
                headers = {"Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf}
                made = _timed(
                    tally,
                    "uploads",
                    client.post,
                    "/tus/",
                    headers={**headers, "Upload-Length": str(len(data)), "Upload-Metadata": meta},
                )
                if made.status_code != 201:
                    tally.error(f"{name}: create {made.status_code}")
                    continue
                sent = _timed(
                    tally,
                    "uploads",
                    client.patch,
                    made.headers["location"],
                    content=data,
                    headers={
                        **headers,
                        "Upload-Offset": "0",
                        "Content-Type": "application/offset+octet-stream",
                    },
                )
                if sent.status_code != 204:
                    tally.error(f"{name}: patch {sent.status_code}")
                    continue
                with tally._lock:
                    tally.sent += 1
            for _ in range(views):
                page = _timed(tally, "pages", client.get, "/timeline")
                if page.status_code != 200:
                    tally.error(f"{name}: timeline {page.status_code}")
    except httpx.HTTPError as exc:
        tally.error(f"{name}: {type(exc).__name__}: {exc}")


def _p(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--photos", type=int, default=2)
    parser.add_argument("--views", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--wait", type=float, default=120, help="Seconds to wait for ingest jobs.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="temoin-bench-serve-") as tmp:
        root = Path(tmp) / "archive"
        archive = Archive.create(root, name="bench", timezone="Europe/Paris")
        for n in range(args.phones):
            add_user(archive, f"phone{n:02d}", "witness", PASSWORD, by="bench")
        archive.close()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "temoin",
                "-A",
                str(root),
                "serve",
                "--port",
                str(args.port),
                "--no-redact",
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{args.port}"
        try:
            _wait_up(base)
            tally = Tally()
            go = threading.Event()
            threads = [
                threading.Thread(target=phone, args=(base, n, args.photos, args.views, tally, go))
                for n in range(args.phones)
            ]
            for thread in threads:
                thread.start()
            started = time.perf_counter()
            go.set()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            stored = _wait_stored(root, args.phones * args.photos, args.wait)
        finally:
            server.terminate()
            server.wait(10)
        requests = len(tally.pages) + len(tally.uploads) + len(tally.logins)
        lost = tally.sent - stored
        print(f"phones {args.phones}, photos each {args.photos}, timeline views each {args.views}")
        print(f"requests {requests} in {elapsed:.2f} s: {requests / elapsed:.1f} req/s")
        print(
            f"pages    p50 {_p(tally.pages, 0.5):6.1f} ms  p95 {_p(tally.pages, 0.95):6.1f} ms  (n={len(tally.pages)})"
        )
        print(
            f"uploads  p50 {_p(tally.uploads, 0.5):6.1f} ms  p95 {_p(tally.uploads, 0.95):6.1f} ms  (n={len(tally.uploads)})"
        )
        print(
            f"sign-in  p50 {_p(tally.logins, 0.5):6.1f} ms  p95 {_p(tally.logins, 0.95):6.1f} ms  (argon2)"
        )
        print(f"sign-ins told to wait (429, one address for every phone): {tally.waits}")
        print(f"errors   {len(tally.errors)}" + (f": {tally.errors[:5]}" if tally.errors else ""))
        print(f"uploads sent {tally.sent}, stored {stored}, lost {lost}")
        ok = not tally.errors and lost == 0 and _p(tally.pages, 0.95) < 200
        print("PASS" if ok else "FAIL", "(targets: 0 errors, none lost, p95 page < 200 ms)")
        return 0 if ok else 1


def _wait_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/login", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def _wait_stored(root: Path, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    archive = Archive.open(root)
    try:
        while True:
            stored = sum(
                1 for i in archive.list_items(kind="photo") if i["source"].startswith("phone")
            )
            if stored >= expected or time.monotonic() > deadline:
                return stored
            time.sleep(0.5)
    finally:
        archive.close()


if __name__ == "__main__":
    statistics.mean([0.0])
    sys.exit(main())
