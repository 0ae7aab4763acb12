"""Fifty phones at once against `temoin serve` on loopback.

Starts the real server (`temoin serve`, uvicorn, in its own process) on a fresh archive with one
witness account per phone, then runs every phone in its own thread: sign in, send a couple of small
photos over tus (create + one PATCH each), and browse the timeline a few times. Prints throughput,
p50/p95 latency of page views and of upload requests, and the error count; then waits for the ingest
jobs and checks that every photo sent is in the catalog under its witness (no upload lost).

A second group of phones, at the same time, loses the network in the middle of an upload, as a
phone does in a lift or a basement: each creates a tus upload, starts the PATCH on a raw socket and
hangs up after part of the photo, waits a moment, asks the server how much arrived (HEAD) and
sends the rest from there (answering a 409 by asking again, as tus clients do). The bench then
checks that each of those photos is in the catalog exactly once, with the SHA-256 of what the phone
holds: the bytes kept from the broken PATCH and the bytes sent after it make the one photo.

Targets: 0 errors, no upload lost, every interrupted upload resumed and stored once intact,
p95 page latency under 200 ms.

    python bench/serve.py [--phones 50] [--offline-phones 50] [--photos 2] [--views 3] [--port 8765]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import socket
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
        self.cut = 0  # PATCHes broken off part-way by an offline phone
        self.kept = 0  # resumed from bytes the server kept from the broken PATCH (offset > 0)
        self.resumed: dict[str, str] = {}  # offline phone -> SHA-256 of the photo it finished
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


def _sign_in(client: httpx.Client, name: str, tally: Tally) -> bool:
    for _ in range(30):  # a phone told to wait tries again when the server says
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
        return False
    return True


def _signed_in_csrf(client: httpx.Client, name: str, tally: Tally) -> str | None:
    """Sign in and open the home page, as a phone does; the form token, or None on failure."""
    if not _sign_in(client, name, tally):
        return None
    home = _timed(tally, "pages", client.get, "/")
    return _CSRF.search(home.text).group(1)  # type: ignore[union-attr]


def _create(
    client: httpx.Client,
    tally: Tally,
    name: str,
    headers: dict[str, str],
    data: bytes,
    filename: str,
) -> httpx.Response | None:
    """A tus upload created for ``data`` (POST); None, counted as an error, if refused."""
    meta = "filename " + base64.b64encode(filename.encode()).decode()
    made = _timed(
        tally,
        "uploads",
        client.post,
        "/tus/",
        headers={**headers, "Upload-Length": str(len(data)), "Upload-Metadata": meta},
    )
    if made.status_code != 201:
        tally.error(f"{name}: create {made.status_code}")
        return None
    return made


def phone(
    base: str, number: int, photos: int, views: int, tally: Tally, start: threading.Event
) -> None:
    name = f"phone{number:02d}"
    start.wait()
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            csrf = _signed_in_csrf(client, name, tally)
            if csrf is None:
                return
            headers = {"Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf}
            for n in range(photos):
                data = _photo(number, n)
                made = _create(client, tally, name, headers, data, f"IMG_{number:02d}{n:02d}.jpg")
                if made is None:
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


def _hang_up_mid_patch(
    base: str, client: httpx.Client, path: str, csrf: str, data: bytes, part: int
) -> None:
    """Start a PATCH of the whole photo on a raw socket and go silent after `part` bytes.

    httpx always finishes a body it started, so the lost network is a socket handled by hand: the
    bytes stop, the line stays quiet for a moment (out of range), then the connection drops, which
    is what the server sees when a phone's signal goes in the middle of a PATCH.
    """
    host, port = base.removeprefix("http://").split(":")
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
        f"Tus-Resumable: 1.0.0\r\nX-CSRF-Token: {csrf}\r\nUpload-Offset: 0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(head.encode() + data[:part])
        time.sleep(0.5)  # the signal is gone; the server holds what arrived


def offline_phone(base: str, number: int, tally: Tally, start: threading.Event) -> None:
    name = f"away{number:02d}"
    start.wait()
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            csrf = _signed_in_csrf(client, name, tally)
            if csrf is None:
                return
            data = _photo(1000 + number, 0)
            headers = {"Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf}
            made = _create(client, tally, name, headers, data, f"AWAY_{number:02d}.jpg")
            if made is None:
                return
            path = made.headers["location"]
            _hang_up_mid_patch(
                base, client, path, csrf, data, len(data) * (30 + number % 40) // 100
            )
            with tally._lock:
                tally.cut += 1
            time.sleep(0.2)  # back in range a moment later
            for attempt in range(10):
                asked = _timed(tally, "uploads", client.head, path, headers=headers)
                if asked.status_code != 200:
                    tally.error(f"{name}: head {asked.status_code}")
                    return
                offset = int(asked.headers["upload-offset"])
                if attempt == 0 and offset > 0:
                    with tally._lock:
                        tally.kept += 1
                rest = _timed(
                    tally,
                    "uploads",
                    client.patch,
                    path,
                    content=data[offset:],
                    headers={
                        **headers,
                        "Upload-Offset": str(offset),
                        "Content-Type": "application/offset+octet-stream",
                    },
                )
                if rest.status_code == 204:
                    with tally._lock:
                        tally.resumed[name] = hashlib.sha256(data).hexdigest()
                    return
                if rest.status_code != 409:  # 409: the broken PATCH was still being written
                    tally.error(f"{name}: resume {rest.status_code}")
                    return
                time.sleep(0.2)
            tally.error(f"{name}: never resumed")
    except (httpx.HTTPError, OSError) as exc:
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
    parser.add_argument(
        "--offline-phones",
        type=int,
        default=50,
        help="Phones that lose the network mid-upload and resume (0 for none).",
    )
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
        for n in range(args.offline_phones):
            add_user(archive, f"away{n:02d}", "witness", PASSWORD, by="bench")
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
            ] + [
                threading.Thread(target=offline_phone, args=(base, n, tally, go))
                for n in range(args.offline_phones)
            ]
            for thread in threads:
                thread.start()
            started = time.perf_counter()
            go.set()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            stored, away = _wait_stored(
                root, args.phones * args.photos, len(tally.resumed), args.wait
            )
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
        expected = sorted(tally.resumed.values())
        intact = sum(1 for sha in expected if away.count(sha) == 1)
        print(
            f"offline phones {args.offline_phones}: cut mid-PATCH {tally.cut}, resumed "
            f"{len(tally.resumed)} ({tally.kept} from the bytes kept before the cut), "
            f"stored once with the right SHA-256 {intact}, "
            f"stored in all {len(away)}"
        )
        resumed_ok = (
            len(tally.resumed) == args.offline_phones
            and intact == args.offline_phones
            and len(away) == args.offline_phones
        )
        ok = not tally.errors and lost == 0 and resumed_ok and _p(tally.pages, 0.95) < 200
        print(
            "PASS" if ok else "FAIL",
            "(targets: 0 errors, none lost, every offline phone resumed and stored once intact,"
            " p95 page < 200 ms)",
        )
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


def _wait_stored(
    root: Path, expected: int, expected_away: int, timeout: float
) -> tuple[int, list[str]]:
    """Photos stored from the steady phones, and the SHA-256 of each stored from the offline ones."""
    deadline = time.monotonic() + timeout
    archive = Archive.open(root)
    try:
        while True:
            photos = archive.list_items(kind="photo")
            stored = sum(1 for i in photos if i["source"].startswith("phone"))
            away = [i["sha256"] for i in photos if i["source"].startswith("away")]
            if (stored >= expected and len(away) >= expected_away) or time.monotonic() > deadline:
                return stored, away
            time.sleep(0.5)
    finally:
        archive.close()


if __name__ == "__main__":
    statistics.mean([0.0])
    sys.exit(main())
