"""What the web app refuses: anonymous access, the wrong role, another witness's material, forged
forms, hostile file names, oversized uploads; and what it never serves: originals to non-editors."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

import pytest
from tests.serve.conftest import PASSWORD, csrf_of, sign_in, token, wait_job

from temoin.archive import Archive
from temoin.serve.uploads import safe_name
from temoin.testing.photos import make_photo

TUS = {"Tus-Resumable": "1.0.0"}


def _photo(tmp_path: Path, seed: int = 1) -> bytes:
    return make_photo(tmp_path / f"p{seed}.jpg", size=(320, 240), seed=seed).read_bytes()


def _tus_upload(client: Any, data: bytes, filename: str) -> tuple[str, int | None]:
    headers = {
        **TUS,
        "X-CSRF-Token": token(client),
        "Upload-Length": str(len(data)),
        "Upload-Metadata": "filename " + base64.b64encode(filename.encode()).decode(),
    }
    created = client.post("/tus/", headers=headers)
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    patched = client.patch(
        url,
        content=data,
        headers={
            **headers,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert patched.status_code == 204, patched.text
    job = patched.headers.get("temoin-job")
    return url, int(job) if job else None


def _uploaded_item(client: Any, tmp_path: Path, seed: int, name: str = "IMG_1.jpg") -> str:
    _, job = _tus_upload(client, _photo(tmp_path, seed), name)
    assert job is not None
    done = wait_job(client, job)
    assert done["status"] == "done", done["message"]
    return str(done["result"]["stored_ids"][0])


def test_anonymous_is_refused_everywhere(clients: Any) -> None:
    anonymous = clients()
    probe_id = "0" * 64
    paths = {
        "/",
        "/timeline",
        "/review",
        f"/review/{probe_id}",
        "/people",
        "/publish",
        "/jobs",
        "/jobs/1",
        "/jobs/1.json",
        "/users",
        f"/items/{probe_id}",
        f"/items/{probe_id}/preview.jpg",
        f"/items/{probe_id}/original",
        f"/tus/{'a' * 32}",
        "/uploads/x",
        "/vault/x",
        "/site/index.html",
    }
    for path in sorted(paths):
        page = anonymous.get(path, headers={"accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"].startswith("/login"), path
        api = anonymous.get(path)
        assert api.status_code == 401, path
    for path in ("/upload", "/entries", "/tus/", "/review/x/approve", "/publish/site", "/users"):
        assert anonymous.post(path, data={"csrf": "x"}).status_code == 401, path
    assert anonymous.head(f"/tus/{'a' * 32}", headers=TUS).status_code == 401
    assert anonymous.patch(f"/tus/{'a' * 32}", headers=TUS).status_code == 401
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/static/style.css").status_code == 200


def test_every_route_needs_an_account(clients: Any, people_archive: Archive) -> None:
    """New routes cannot forget the check: the middleware refuses anonymous calls to all of them."""
    from fastapi.routing import APIRoute

    anonymous = clients()
    app = anonymous.app
    for route in app.routes:
        if not isinstance(route, APIRoute) or route.path == "/login":
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in route.methods:
            answer = anonymous.request(method, path)
            assert answer.status_code in (401, 303), f"{method} {route.path}"


def test_witness_cannot_review_publish_or_manage(clients: Any) -> None:
    amina = clients("amina")
    csrf = token(amina)
    for path in ("/review", "/people", "/publish", "/users"):
        assert amina.get(path).status_code == 403, path
    for path in (
        "/publish/site",
        "/publish/redact",
        "/users",
        "/people",
        f"/review/{'0' * 64}/approve",
    ):
        assert amina.post(path, data={"csrf": csrf}).status_code == 403, path
    eve = clients("eve")
    assert eve.get("/review").status_code == 200
    assert eve.get("/users").status_code == 403


def test_witness_cannot_read_another_witness_upload(clients: Any, tmp_path: Path) -> None:
    amina, bilal, eve = clients("amina"), clients("bilal"), clients("eve")
    item = _uploaded_item(amina, tmp_path, 2)
    assert amina.get(f"/items/{item}").status_code == 200
    assert bilal.get(f"/items/{item}").status_code == 404
    assert bilal.get(f"/items/{item}/preview.jpg").status_code == 404
    assert bilal.get(f"/items/{item}/original").status_code == 403
    assert item[:12] not in bilal.get("/").text
    assert "IMG_1.jpg" not in bilal.get("/timeline").text
    assert "IMG_1.jpg" in amina.get("/timeline").text
    assert "IMG_1.jpg" in eve.get("/timeline").text
    # another witness's partial upload does not exist for bilal
    headers = {**TUS, "X-CSRF-Token": token(amina), "Upload-Length": "10"}
    partial = amina.post("/tus/", headers=headers).headers["location"]
    assert bilal.head(partial, headers=TUS).status_code == 404
    bilal_headers = {
        **TUS,
        "X-CSRF-Token": token(bilal),
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
    }
    assert bilal.patch(partial, content=b"x", headers=bilal_headers).status_code == 404


def test_originals_only_for_editors(clients: Any, tmp_path: Path, people_archive: Archive) -> None:
    amina, eve = clients("amina"), clients("eve")
    item = _uploaded_item(amina, tmp_path, 3)
    original = people_archive.vault.path_for(item).read_bytes()
    assert amina.get(f"/items/{item}/original").status_code == 403
    assert amina.get(f"/items/{item}/preview.jpg").status_code == 404  # no derivative yet
    served = eve.get(f"/items/{item}/original")
    assert served.status_code == 200 and served.content == original
    log = people_archive.custody_log()
    assert any(e["action"] == "original-served" and e["actor"] == "eve" for e in log)
    for page in ("/", "/timeline", f"/items/{item}"):
        assert "/original" not in amina.get(page).text


def test_previews_come_from_the_derivative(
    clients: Any, tmp_path: Path, people_archive: Archive
) -> None:
    amina, eve = clients("amina"), clients("eve")
    item = _uploaded_item(amina, tmp_path, 4)
    people_archive.redact()
    original = people_archive.vault.path_for(item).read_bytes()
    for client, query in ((amina, ""), (eve, "?boxes=1")):
        preview = client.get(f"/items/{item}/preview.jpg{query}")
        assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
        assert preview.content != original and b"Exif" not in preview.content[:200]


def test_forms_without_a_valid_token_are_refused(clients: Any, people_archive: Archive) -> None:
    amina = clients("amina")
    good = token(amina)
    for data in ({}, {"csrf": ""}, {"csrf": "forged"}, {"csrf": good + "x"}):
        posted = amina.post("/entries", data={**data, "text": "14h30 buses"})
        assert posted.status_code == 403
    headers = {**TUS, "Upload-Length": "10"}
    assert amina.post("/tus/", headers=headers).status_code == 403
    assert amina.post("/tus/", headers={**headers, "X-CSRF-Token": "nope"}).status_code == 403
    # a token from another session does not work either
    bilal = clients("bilal")
    assert amina.post("/entries", data={"csrf": token(bilal), "text": "x"}).status_code == 403
    # the multipart form: a forged token stops it before any byte is written
    files = {"files": ("a.jpg", b"\xff\xd8" + b"0" * 1000, "image/jpeg")}
    assert amina.post("/upload", data={"csrf": "forged"}, files=files).status_code == 403
    uploads = people_archive.root / "uploads"
    assert not uploads.exists() or not any(uploads.rglob("a.jpg"))
    # logout is a form too
    assert amina.post("/logout", data={}).status_code == 403
    assert amina.post("/logout", data={"csrf": good}).status_code == 303
    assert amina.get("/").status_code == 401


def test_login_form_is_tied_to_its_cookie(clients: Any) -> None:
    anonymous = clients()
    anonymous.get("/login")
    posted = anonymous.post(
        "/login", data={"csrf": "made-up", "name": "amina", "password": PASSWORD}
    )
    assert posted.status_code == 403


@pytest.mark.parametrize(
    "name", ["../../x.jpg", "..\\..\\x.jpg", "/etc/passwd", "a/../../b.jpg", "..", "\x00evil.jpg"]
)
def test_hostile_file_names_stay_inside(
    clients: Any, tmp_path: Path, people_archive: Archive, name: str
) -> None:
    amina = clients("amina")
    data = _photo(tmp_path, 6)
    root = people_archive.root.resolve()
    before = _outside(tmp_path, root)
    _, job = _tus_upload(amina, data, name)
    done = wait_job(amina, job)
    assert done["status"] == "done", done["message"]
    assert done["result"]["stored"] == 1, done["result"]
    assert _outside(tmp_path, root) == before  # nothing written next to the archive
    assert not (tmp_path.parent / "x.jpg").exists() and not Path("/etc/passwd.jpg").exists()
    stored = people_archive.list_items(source="amina")
    assert stored and "/" not in stored[0]["name"] and ".." not in stored[0]["name"]


def _outside(folder: Path, archive_root: Path) -> set[Path]:
    """Every path under `folder` but the archive (not walked: its own files come and go)."""
    found: set[Path] = set()
    for where, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if (Path(where) / d).resolve() != archive_root]
        found.update(Path(where) / name for name in dirs + files)
    return found


def test_safe_name() -> None:
    assert safe_name("../../x.jpg") == "x.jpg"
    assert safe_name("..\\..\\boot.ini") == "boot.ini"
    assert safe_name("..") == "upload"
    assert safe_name(".bashrc") == "bashrc"
    assert safe_name("IMG 0001 (2).JPG") == "IMG 0001 (2).JPG"
    assert safe_name("a\x00b\nc.jpg") == "abc.jpg"
    assert len(safe_name("x" * 500 + ".jpg")) <= 124


def test_oversized_uploads_are_refused(clients: Any, people_archive: Archive) -> None:
    amina = clients("amina")
    limit = 5 * 1024 * 1024
    headers = {**TUS, "X-CSRF-Token": token(amina)}
    assert (
        amina.post("/tus/", headers={**headers, "Upload-Length": str(limit + 1)}).status_code == 413
    )
    url = amina.post("/tus/", headers={**headers, "Upload-Length": "10"}).headers["location"]
    chunk = {**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    assert amina.patch(url, content=b"x" * 11, headers=chunk).status_code == 413
    big = {"files": ("big.jpg", b"\xff\xd8" + b"0" * (limit + 10), "image/jpeg")}
    assert amina.post("/upload", data={"csrf": token(amina)}, files=big).status_code == 413
    assert not list((people_archive.root / "uploads").rglob("big.jpg"))


def test_login_is_rate_limited(clients: Any) -> None:
    anonymous = clients()
    codes = [sign_in(anonymous, "amina", "wrong password!").status_code for _ in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert sign_in(anonymous, "amina").status_code == 429  # even the right password, for a while
    assert sign_in(anonymous, "bilal").status_code == 303  # other accounts are not locked out


def test_limiter_memory_is_bounded() -> None:
    from temoin.serve.auth import LoginLimiter

    limiter = LoginLimiter(per_account=3, per_ip=10, window=60, max_keys=100)
    for n in range(1000):
        limiter.attempt(f"user{n}", f"10.0.{n // 256}.{n % 256}")
    assert len(limiter) <= 100


def test_cookies_are_httponly_and_samesite(clients: Any) -> None:
    anonymous = clients()
    response = sign_in(anonymous, "amina")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain http on loopback
    secure = anonymous.__class__(
        anonymous.app, base_url="https://testserver", follow_redirects=False
    )
    with secure:
        answer = sign_in(secure, "bilal")
        assert "Secure" in answer.headers["set-cookie"]


def test_pages_send_security_headers(clients: Any) -> None:
    page = clients("amina").get("/")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert csrf_of(page.text)


def test_a_source_label_equal_to_a_name_grants_nothing(
    clients: Any, tmp_path: Path, people_archive: Archive
) -> None:
    """What an editor ingested from the command line under the label "bilal" stays hidden from
    the witness account bilal: ownership follows who sent a file, not what it is labelled."""
    from temoin.testing.photos import make_photo

    photo = make_photo(tmp_path / "cli/IMG_CLI.jpg", seed=31)
    report = people_archive.acting_as("eve").ingest([photo], source="bilal")
    (item,) = report.stored_ids
    bilal, eve = clients("bilal"), clients("eve")
    assert bilal.get(f"/items/{item}").status_code == 404
    assert "IMG_CLI.jpg" not in bilal.get("/timeline").text
    assert "IMG_CLI.jpg" not in bilal.get("/").text
    assert eve.get(f"/items/{item}").status_code == 200


def test_a_new_password_or_a_disabled_account_ends_sessions(
    clients: Any, people_archive: Archive
) -> None:
    from temoin.serve.users import change_user

    amina = clients("amina")
    assert amina.get("/").status_code == 200
    change_user(people_archive, "amina", by="root", password="another long password")
    assert amina.get("/").status_code in (302, 303, 401)
    again = clients("amina")
    sign_in(again, "amina", "another long password")
    assert again.get("/").status_code == 200
    change_user(people_archive, "amina", by="root", disabled=True)
    change_user(people_archive, "amina", by="root", disabled=False)
    assert again.get("/").status_code in (302, 303, 401)  # re-enabling does not revive it


def test_sign_in_takes_only_a_small_plain_form(clients: Any) -> None:
    anonymous = clients()
    files = {"name": (None, "amina"), "blob": ("x.bin", b"\0" * 1024, "application/octet-stream")}
    assert anonymous.post("/login", files=files).status_code == 415
    big = {"name": "amina", "password": "x" * 20_000}
    assert anonymous.post("/login", data=big).status_code == 413


def test_sign_in_never_sends_anyone_off_site() -> None:
    from temoin.serve.routes.account import _next

    for hostile in ("//evil.example", "/\t/evil.example", "/\\evil.example", "https://e.example"):
        assert _next(hostile) == "/", hostile
    assert _next("/review/abc") == "/review/abc"


def test_an_entry_time_must_be_a_time(clients: Any, people_archive: Archive) -> None:
    amina = clients("amina")
    for bad in ("a/b", "14h30\0", "../x"):
        posted = amina.post(
            "/entries", data={"csrf": token(amina), "time": bad, "text": "buses leave"}
        )
        assert posted.status_code == 400, bad
    leftovers = people_archive.root / "uploads" / "entries"
    assert not leftovers.exists() or not any(leftovers.iterdir())
