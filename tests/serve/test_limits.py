"""What a signed-in account cannot make the server do with a request's shape: crash it with a
number written in other digits (500), or grow its memory with fields, parts or long bodies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from tests.serve.conftest import LiveServer, csrf_of, token

from temoin.archive import Archive
from temoin.testing.photos import make_photo

TUS = {"Tus-Resumable": "1.0.0"}
SUPERSCRIPT_TWO = b"\xb2"  # "²" as latin-1, how a server reads header bytes: isdigit() is True


def _raw_multipart(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A multipart body written by hand, so its shape is exactly what a hostile client sends."""
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def _multipart(boundary: str) -> dict[str, str]:
    return {"content-type": f"multipart/form-data; boundary={boundary}"}


def _uploads_left(archive: Archive) -> list[Path]:
    folder = archive.root / "uploads"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


# -- numbers -------------------------------------------------------------------------------------


def test_tus_numbers_in_other_digits_are_refused_not_a_crash(live: LiveServer) -> None:
    """Through a real server: the test client would re-encode the header bytes."""
    with live.session("amina") as amina:
        headers = {**TUS, "X-CSRF-Token": csrf_of(amina.get("/").text)}
        for length in (SUPERSCRIPT_TWO, b"1\xb2", b"+4", b"4_0", b"0x4", b"\xd9\xa3"):
            created = amina.post("/tus/", headers={**headers, "Upload-Length": length})
            assert created.status_code == 400, length
            assert "Upload-Length" in created.text
        url = amina.post("/tus/", headers={**headers, "Upload-Length": "4"}).headers["location"]
        chunk = {**headers, "Content-Type": "application/offset+octet-stream"}
        for offset in (SUPERSCRIPT_TWO, b"\xb9", b"-0", b""):
            patched = amina.patch(url, content=b"ab", headers={**chunk, "Upload-Offset": offset})
            assert patched.status_code in (400, 409), offset
            assert patched.headers["upload-offset"] == "0"
        done = amina.patch(url, content=b"abcd", headers={**chunk, "Upload-Offset": "0"})
        assert done.status_code == 204 and done.headers["upload-offset"] == "4"


def test_review_numbers_in_other_digits_are_refused(
    clients: Any, people_archive: Archive, tmp_path: Path
) -> None:
    photo = make_photo(tmp_path / "IMG_7.jpg", size=(320, 240), seed=7)
    (item,) = people_archive.acting_as("eve").ingest([photo], source="eve").stored_ids
    eve = clients("eve")
    csrf = token(eve)
    for face in ("²", "١", "1_0"):
        posted = eve.post(
            f"/review/{item}/link", data={"csrf": csrf, "face": face, "person": "Someone"}
        )
        assert posted.status_code == 400, face
    assert eve.get("/review", params={"done": "approve:²"}).status_code == 200
    for x in ("nan", "inf", "٠.٥"):
        box = {"csrf": csrf, "x": x, "y": "0.1", "w": "0.2", "h": "0.2"}
        assert eve.post(f"/review/{item}/box", data=box).status_code == 400, x


def test_an_over_long_multipart_header_is_refused(clients: Any, people_archive: Archive) -> None:
    amina = clients("amina")
    boundary = "b0undary"
    long_header = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="files"; filename="a.jpg"\r\n'
        f"X-Long: {'a' * 100_000}\r\n\r\nabc\r\n--{boundary}--\r\n"
    ).encode()
    body = _raw_multipart(boundary, [("csrf", None, token(amina).encode())])
    body = body[: -len(f"--{boundary}--\r\n")] + long_header
    answer = amina.post("/upload", content=body, headers=_multipart(boundary))
    assert answer.status_code == 400 and "cannot be read" in answer.text
    broken = amina.post("/upload", content=b"no boundary at all", headers=_multipart(boundary))
    assert broken.status_code == 400
    unnamed = amina.post("/upload", content=b"x", headers={"content-type": "multipart/form-data"})
    assert unnamed.status_code == 400
    assert _uploads_left(people_archive) == []


# -- memory --------------------------------------------------------------------------------------


def test_upload_form_fields_are_capped(
    clients: Any, people_archive: Archive, tmp_path: Path
) -> None:
    """Extra fields once grew the server by as much as was sent; now a few are allowed."""
    amina = clients("amina")
    photo = make_photo(tmp_path / "IMG_9.jpg", size=(64, 48), seed=9).read_bytes()
    boundary = "f1elds"
    extra = [(f"field{n}", None, b"x" * 60_000) for n in range(40)]
    parts = [("csrf", None, token(amina).encode()), *extra, ("files", "IMG_9.jpg", photo)]
    answer = amina.post(
        "/upload", content=_raw_multipart(boundary, parts), headers=_multipart(boundary)
    )
    assert answer.status_code == 400 and "fields" in answer.text
    assert _uploads_left(people_archive) == []
    assert people_archive.list_items() == []


def test_upload_form_parts_are_capped(
    clients: Any, people_archive: Archive, tmp_path: Path
) -> None:
    amina = clients("amina")
    photo = make_photo(tmp_path / "IMG_8.jpg", size=(64, 48), seed=8).read_bytes()
    boundary = "p4rts"
    empty = [("files", "", b"")] * 500
    parts = [("csrf", None, token(amina).encode()), *empty, ("files", "IMG_8.jpg", photo)]
    answer = amina.post(
        "/upload", content=_raw_multipart(boundary, parts), headers=_multipart(boundary)
    )
    assert answer.status_code == 400 and "parts" in answer.text
    assert _uploads_left(people_archive) == []


def test_upload_form_body_is_capped_as_it_streams(
    clients: Any, people_archive: Archive, tmp_path: Path
) -> None:
    """Without a Content-Length (chunked), the whole form is counted as its bytes arrive: two
    files each under the limit of one file do not make a body twice as large."""
    amina = clients("amina")
    boundary = "str3am"
    limit = 5 * 1024 * 1024  # the test server's max_upload_bytes
    csrf = _raw_multipart(boundary, [("csrf", None, token(amina).encode())])
    csrf = csrf[: -len(f"--{boundary}--\r\n")]

    def opening(name: str) -> bytes:
        disposition = f'form-data; name="files"; filename="{name}"'
        return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()

    def chunks() -> Any:
        yield csrf
        for name in ("a.jpg", "b.jpg"):
            yield opening(name)
            for _ in range(limit * 3 // 4 // 65536):
                yield b"\xff" * 65536
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    answer = amina.post("/upload", content=chunks(), headers=_multipart(boundary))
    assert answer.status_code == 413 and "larger than the limit" in answer.text
    assert _uploads_left(people_archive) == []


def test_other_form_bodies_are_capped(clients: Any) -> None:
    """A sign-out (any url-encoded form) stuffed with a 2 MiB field is refused before it is read,
    whether the body declares its length or streams without one."""
    amina = clients("amina")
    csrf = token(amina)
    stuffed = {"csrf": csrf, "padding": "x" * (2 * 1024 * 1024)}
    declared = amina.post("/logout", data=stuffed)
    assert declared.status_code == 413 and "larger than the limit" in declared.text
    body = httpx.QueryParams(stuffed).__str__().encode()

    def chunks() -> Any:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    streamed = amina.post(
        "/logout",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413
    assert amina.get("/").status_code == 200  # still signed in: the forms were never read
    assert amina.post("/logout", data={"csrf": csrf}).status_code == 303
