"""`temoin serve` on an encrypted archive, as real processes: the passphrase on a file descriptor,
a phone's upload through tus, previews and the original served, and `temoin wipe` stopping it.

A seized laptop must give nothing away while the server runs or after: the upload's name and
its EXIF (a canary string) are searched for in every byte under the archive folder.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.serve.conftest import PASSWORD, csrf_of, free_port, sign_in, wait_job

import temoin
from temoin.archive import Archive
from temoin.keep import keys as keyfile
from temoin.serve.users import add_user
from temoin.testing.photos import make_photo

PASSPHRASE = "a passphrase only the server is told"
COST = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}
CANARY = "Zq7CanaryOfTheCamp"
CHUNK = 64 * 1024


def _env(runtime: Path) -> dict[str, str]:
    source = str(Path(temoin.__file__).parents[1])
    paths = [source, os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    env["TEMOIN_RUNTIME_DIR"] = str(runtime)
    env.pop("TEMOIN_PASSPHRASE", None)  # the server is told on its descriptor, nowhere else
    return env


def _temoin(root: Path, runtime: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "temoin", "-A", str(root), *args],
        env=_env(runtime),
        capture_output=True,
        text=True,
        timeout=60,
    )


@dataclass
class Served:
    root: Path
    runtime: Path
    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def copies(self) -> list[Path]:
        """This server's decrypted copies in the runtime folder."""
        return [p for p in self.runtime.rglob("*") if f"clear-{self.process.pid}-" in str(p)]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)
        if self.process.stderr is not None:
            self.process.stderr.close()


def _serve(root: Path, runtime: Path, passphrase: str, *extra: str) -> Served:
    read, write = os.pipe()
    os.write(write, f"{passphrase}\n".encode())
    os.close(write)
    port = free_port()
    command = [sys.executable, "-m", "temoin", "-A", str(root), "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--passphrase-fd", str(read), *extra],
        pass_fds=(read,),
        env=_env(runtime),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(read)
    return Served(root, runtime, process, port)


def _wait_up(served: Served) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            assert served.process.stderr is not None
            raise AssertionError(f"the server ended: {served.process.stderr.read()}")
        try:
            if httpx.get(f"{served.url}/login", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not answer within a minute")


@pytest.fixture
def encrypted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_catalog_server: None
) -> tuple[Path, Path]:
    """A locked encrypted archive with a witness and an editor, and its runtime folder."""
    runtime = tmp_path / "runtime"
    monkeypatch.setenv("TEMOIN_RUNTIME_DIR", str(runtime))
    root = tmp_path / "archive"
    made = Archive.create(
        root, name="camp", timezone="Europe/Paris", passphrase=PASSPHRASE, kdf_cost=COST
    )
    add_user(made, "amina", "witness", PASSWORD, by="setup")
    add_user(made, "eve", "editor", PASSWORD, by="setup")
    made.close()
    locked = _temoin(root, runtime, "lock")
    assert locked.returncode == 0, locked.stderr
    return root, runtime


@pytest.fixture
def served(encrypted: tuple[Path, Path]) -> Iterator[Served]:
    root, runtime = encrypted
    server = _serve(root, runtime, PASSPHRASE)
    _wait_up(server)
    yield server
    server.stop()


def _leaks(root: Path) -> list[str]:
    """Files under the archive folder whose name or bytes hold the canary."""
    needle = CANARY.encode()
    found = []
    for path in root.rglob("*"):
        if CANARY in str(path.relative_to(root)):
            found.append(f"name: {path}")
        elif path.is_file() and needle in path.read_bytes():
            found.append(f"bytes: {path}")
    return found


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _tus_upload(client: httpx.Client, photo: Path) -> int:
    """A phone's upload, cut after two chunks and resumed from the offset the server says."""
    csrf = csrf_of(client.get("/").text)
    data = photo.read_bytes()
    name = base64.b64encode(photo.name.encode()).decode()
    tus = {"Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf}
    made = client.post(
        "/tus/",
        headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": f"filename {name}"},
    )
    assert made.status_code == 201, made.text
    where = made.headers["location"]
    patch = {**tus, "Content-Type": "application/offset+octet-stream"}

    def send(offset: int, end: int) -> httpx.Response:
        answer = client.patch(
            where, headers={**patch, "Upload-Offset": str(offset)}, content=data[offset:end]
        )
        assert answer.status_code == 204, answer.text
        return answer

    send(0, CHUNK)
    send(CHUNK, 2 * CHUNK)  # then the phone goes out of coverage
    offset = int(client.head(where, headers=tus).headers["upload-offset"])
    assert offset == 2 * CHUNK
    stale = client.patch(where, headers={**patch, "Upload-Offset": "0"}, content=data[:CHUNK])
    assert stale.status_code == 409  # the server's offset, not the client's guess
    answer = None
    while offset < len(data):
        answer = send(offset, min(offset + CHUNK, len(data)))
        offset = int(answer.headers["upload-offset"])
    assert answer is not None
    return int(answer.headers["temoin-job"])


def _upload(served: Served, tmp_path: Path) -> tuple[str, Path]:
    """A photo sent by amina, its name and EXIF carrying the canary; its item and the photo."""
    photo = make_photo(
        tmp_path / "phone" / f"IMG_{CANARY}.jpg",
        size=(1600, 1200),
        seed=5,
        quality=95,
        serial=CANARY,
    )
    assert CANARY.encode() in photo.read_bytes()
    assert photo.stat().st_size > 3 * CHUNK
    with httpx.Client(base_url=served.url, timeout=60) as amina:
        sign_in(amina, "amina")
        job = _tus_upload(amina, photo)
        assert _leaks(served.root) == []  # the upload's parts, its name and its record: sealed
        outcome = wait_job(amina, job, timeout=120)
    assert outcome["status"] == "done", outcome
    assert _leaks(served.root) == []
    return str(outcome["result"]["stored_ids"][0]), photo


def test_an_upload_leaves_nothing_in_clear_and_wipe_stops_the_server(
    served: Served, tmp_path: Path
) -> None:
    item, photo = _upload(served, tmp_path)
    with httpx.Client(base_url=served.url, timeout=60) as eve:
        sign_in(eve, "eve")
        original = eve.get(f"/items/{item}/original")
        assert original.status_code == 200
        assert original.content == photo.read_bytes()
    assert served.copies(), "the original was decrypted in the server's memory"
    assert _leaks(served.root) == []

    header = keyfile.read_header(served.root)
    cached = served.runtime / str(header["archive"]) / "keys.json"
    assert not cached.exists()  # the server's key is in its memory, not where unlock keeps one
    wiped = _temoin(served.root, served.runtime, "wipe", "--yes")
    assert wiped.returncode == 0, wiped.stderr
    started = time.monotonic()
    code = served.process.wait(10)
    assert time.monotonic() - started < 5
    assert served.process.stderr is not None
    said = served.process.stderr.read()
    assert code == 3, said
    assert "temoin wipe" in said
    assert served.copies() == []
    assert _leaks(served.root) == []


def test_a_preview_is_drawn_in_memory_only(served: Served, tmp_path: Path) -> None:
    item, _ = _upload(served, tmp_path)
    before = _files(served.root)
    with httpx.Client(base_url=served.url, timeout=60) as amina:
        sign_in(amina, "amina")
        shown = amina.get(f"/items/{item}/preview.jpg")
    assert shown.status_code == 200, shown.text
    assert shown.content.startswith(b"\xff\xd8")
    assert not (served.root / "cache").exists()
    new = _files(served.root) - before
    assert [p for p in new if p.read_bytes().startswith(b"\xff\xd8")] == []
    assert any(p.suffix == ".jpg" for p in served.copies())
    assert _leaks(served.root) == []


def test_an_entry_is_written_in_memory_and_sigterm_removes_the_copies(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=60) as amina:
        sign_in(amina, "amina")
        form = {"csrf": csrf_of(amina.get("/").text), "form": "note"}
        sent = amina.post("/entries", data={**form, "text": f"at the camp: {CANARY}"})
        assert sent.status_code == 303, sent.text
        timeline = amina.get("/timeline").text
        assert CANARY in timeline
    assert _leaks(served.root) == []
    assert not (served.root / "uploads").exists()  # its text was never on the disk in clear
    device_key = served.root / "keys" / "web-devices.key"  # made at the first sign-in
    assert device_key.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert served.copies(), "the server has its folder of clear files"
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(20) == -signal.SIGTERM  # ended by it, as a service manager expects
    assert served.copies() == []


def _refused(root: Path, runtime: Path, passphrase: str) -> tuple[int, str, Served]:
    """A server that stops before it starts: its exit status and what it said."""
    server = _serve(root, runtime, passphrase)
    code = server.process.wait(60)
    assert server.process.stderr is not None
    said = server.process.stderr.read().strip()
    server.stop()
    return code, said, server


def test_a_wrong_passphrase_is_one_line_and_exit_3(encrypted: tuple[Path, Path]) -> None:
    root, runtime = encrypted
    code, said, server = _refused(root, runtime, "not the passphrase at all")
    assert code == 3, said
    assert len(said.splitlines()) == 1, said
    assert "passphrase is wrong" in said
    assert server.copies() == []


def test_the_queue_of_workers_is_refused_for_an_encrypted_archive(
    encrypted: tuple[Path, Path],
) -> None:
    root, runtime = encrypted
    config = root / "temoin.toml"
    config.write_text(config.read_text() + 'jobs = "procrastinate"\n')
    code, said, _server = _refused(root, runtime, PASSPHRASE)
    assert code == 2, said
    assert len(said.splitlines()) == 1, said
    assert "encrypted archive" in said and 'jobs = "pool"' in said
