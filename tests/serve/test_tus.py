"""Resumable uploads with the real tuspy client against a real uvicorn on 127.0.0.1.

A phone's connection drops mid-file, or the server restarts: the client asks for the offset and
sends only the rest, and the file arrives whole, once, in the vault with the witness as source.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
from tests.conftest import ON_ENCRYPTED
from tests.serve.conftest import LiveServer, csrf_of, wait_job

from temoin.archive import Archive
from temoin.testing.media import make_video
from temoin.testing.photos import make_photo

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # aiohttp, imported by tuspy, on 3.11
    from tusclient import client as tus_client

CHUNK = 64 * 1024


def _tus(server: LiveServer, session: httpx.Client) -> Any:
    csrf = csrf_of(session.get("/").text)
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    return tus_client.TusClient(
        f"{server.url}/tus/", headers={"Cookie": cookie, "X-CSRF-Token": csrf}
    )


def _big_photo(tmp_path: Path) -> Path:
    return make_photo(tmp_path / "IMG_2001.jpg", size=(1600, 1200), seed=11, quality=95)


def _stored(archive_root: Path, name: str) -> list[dict[str, Any]]:
    archive = Archive.open(archive_root)
    try:
        return [i for i in archive.list_items(source="amina") if i["name"] == name]
    finally:
        archive.close()


def test_options_advertises_the_protocol(live: LiveServer) -> None:
    with live.session("amina") as amina:
        answer = amina.options("/tus/")
    assert answer.status_code == 204
    assert answer.headers["tus-version"] == "1.0.0"
    assert set(answer.headers["tus-extension"].split(",")) == {"creation", "termination"}
    assert int(answer.headers["tus-max-size"]) == 5 * 1024 * 1024


def test_resume_after_a_dropped_connection(live: LiveServer, tmp_path: Path) -> None:
    photo = _big_photo(tmp_path)
    size = photo.stat().st_size
    assert size > 3 * CHUNK
    with live.session("amina") as amina:
        client = _tus(live, amina)
        with open(photo, "rb") as stream:  # tuspy leaves files it opens itself unclosed
            first = client.uploader(
                file_stream=stream, chunk_size=CHUNK, metadata={"filename": photo.name}
            )
            first.upload(stop_at=2 * CHUNK)  # the phone goes out of coverage here
            url = first.url
        head = amina.head(url, headers={"Tus-Resumable": "1.0.0"})
        assert head.headers["upload-offset"] == str(2 * CHUNK)
        with open(photo, "rb") as stream:
            again = client.uploader(file_stream=stream, chunk_size=CHUNK, url=url)
            assert again.offset == 2 * CHUNK  # asked the server (HEAD), not guessed
            again.upload()
        time.sleep(0.05)
        jobs = amina.get("/jobs").text
        job_id = jobs.split('href="/jobs/')[1].split('"')[0]
        assert wait_job(amina, job_id)["status"] == "done"
    [item] = _stored(live.archive_root, photo.name)
    assert item["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()


def test_resume_after_a_server_restart(live: LiveServer, tmp_path: Path) -> None:
    video = make_video(tmp_path / "VID_3000.mp4", seconds=2.0, size=(640, 360))
    size = video.stat().st_size
    chunk = max(16 * 1024, size // 5)
    with live.session("amina") as amina:
        client = _tus(live, amina)
        with open(video, "rb") as stream:
            uploader = client.uploader(
                file_stream=stream, chunk_size=chunk, metadata={"filename": video.name}
            )
            uploader.upload(stop_at=2 * chunk)
            url = uploader.url
    live.stop()
    if ON_ENCRYPTED:  # sealed part by part, each named with its clear size
        parts = list((live.archive_root / "uploads").glob("*/data.*.age"))
        assert sum(int(p.name.split(".")[2]) for p in parts) == 2 * chunk
    else:
        partial = list((live.archive_root / "uploads").glob("*/data"))
        assert [p.stat().st_size for p in partial] == [2 * chunk]  # kept in the archive folder
    live.start()
    with live.session("amina") as amina:  # sessions live in the catalog: signing in again is a
        client = _tus(live, amina)  # new session, and the upload still belongs to amina
        with open(video, "rb") as stream:
            resumed = client.uploader(file_stream=stream, chunk_size=chunk, url=url)
            assert resumed.offset == 2 * chunk
            resumed.upload()
        job_id = amina.get("/jobs").text.split('href="/jobs/')[1].split('"')[0]
        assert wait_job(amina, job_id)["status"] == "done"
    [item] = _stored(live.archive_root, video.name)
    assert item["kind"] == "video"
    assert item["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()


def test_a_connection_cut_mid_chunk_keeps_what_arrived(live: LiveServer, tmp_path: Path) -> None:
    """A raw socket sends half a PATCH body and closes: the bytes that arrived are kept."""
    data = _big_photo(tmp_path).read_bytes()
    with live.session("amina") as amina:
        csrf = csrf_of(amina.get("/").text)
        headers = {
            "Tus-Resumable": "1.0.0",
            "X-CSRF-Token": csrf,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": "filename " + base64.b64encode(b"cut.jpg").decode(),
        }
        url = amina.post("/tus/", headers=headers).headers["location"]
        cookie = "; ".join(f"{k}={v}" for k, v in amina.cookies.items())
        sent = 100_000
        with socket.create_connection(("127.0.0.1", live.port)) as raw:
            head = (
                f"PATCH {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                f"X-CSRF-Token: {csrf}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
            )
            raw.sendall(head.encode() + data[:sent])
            time.sleep(0.3)
        deadline = time.monotonic() + 5
        while True:
            offset = int(
                amina.head(url, headers={"Tus-Resumable": "1.0.0"}).headers["upload-offset"]
            )
            if offset == sent or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert offset == sent
        wrong = amina.patch(
            url,
            content=data[:10],
            headers={
                **headers,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert wrong.status_code == 409 and wrong.headers["upload-offset"] == str(sent)
        rest = amina.patch(
            url,
            content=data[sent:],
            headers={
                **headers,
                "Upload-Offset": str(sent),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert rest.status_code == 204 and rest.headers["upload-offset"] == str(len(data))
        assert wait_job(amina, rest.headers["temoin-job"])["status"] == "done"
    [item] = _stored(live.archive_root, "cut.jpg")
    assert item["sha256"] == hashlib.sha256(data).hexdigest()


def test_protocol_checks(live: LiveServer) -> None:
    with live.session("amina") as amina:
        csrf = csrf_of(amina.get("/").text)
        base = {"X-CSRF-Token": csrf, "Upload-Length": "4"}
        assert amina.post("/tus/", headers=base).status_code == 412  # no Tus-Resumable
        assert amina.post("/tus/", headers={**base, "Tus-Resumable": "0.2.2"}).status_code == 412
        tus = {**base, "Tus-Resumable": "1.0.0"}
        assert amina.post("/tus/", headers={**tus, "Upload-Length": "-1"}).status_code == 400
        assert (
            amina.post("/tus/", headers={**tus, "Upload-Metadata": "filename !!"}).status_code
            == 400
        )
        url = amina.post("/tus/", headers=tus).headers["location"]
        assert (
            amina.patch(url, content=b"abcd", headers={**tus, "Upload-Offset": "0"}).status_code
            == 415
        )
        head = amina.head(url, headers=tus)
        assert head.headers["upload-length"] == "4" and head.headers["cache-control"] == "no-store"
        assert amina.delete(url, headers=tus).status_code == 204
        assert amina.head(url, headers=tus).status_code == 404
        assert amina.head("/tus/..%2F..%2Fetc", headers=tus).status_code == 404
