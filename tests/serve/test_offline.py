"""Installable and offline-first: the upload page opens with no network, and what is made offline
waits on the phone until it can be sent.

A witness at a border crossing has a signal one minute in ten. What she photographs or writes in
the other nine must not be lost, nor sent twice, nor need her to remember to try again; and the
phone must not keep the archive's private pages, which the service worker would otherwise cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import BROWSER_MARKS
from tests.serve.conftest import LiveServer, settings
from tests.serve.test_upload_page import Phone, _items

from temoin.archive import Archive
from temoin.serve.app import create_app
from temoin.serve.auth import SECURITY_HEADERS
from temoin.testing.photos import make_photo

SHELL_PATHS = (
    "/offline",
    "/manifest.webmanifest",
    "/sw.js",
    "/static/queue.js",
    "/static/outbox.js",
    "/static/words.js",
)


def test_the_shell_is_served_to_anyone_and_holds_nothing_private(archive: Archive) -> None:
    client = TestClient(create_app(archive, settings()))
    for path in SHELL_PATHS:
        response = client.get(path)
        assert response.status_code == 200, path
        assert (
            dict(SECURITY_HEADERS)[b"content-security-policy"].decode()
            == (response.headers["content-security-policy"])
        )
    assert client.get("/manifest.webmanifest").headers["content-type"] == (
        "application/manifest+json"
    )
    worker = client.get("/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    shell = client.get("/offline").text
    assert 'name="csrf"' not in shell and "Sign out" not in shell
    assert client.get("/csrf.json").status_code == 401  # the token only to its session


def test_the_worker_caches_only_the_shell() -> None:
    """Every path the worker may write to the cache is public: no item, preview or home page."""
    source = (Path(__file__).parents[2] / "src/temoin/serve/static/sw.js").read_text("utf-8")
    listed = source.split("var SHELL = [", 1)[1].split("]", 1)[0]
    paths = [p.strip().strip('"') for p in listed.replace("\n", " ").split(",")]
    assert paths and all(p == "/offline" or p.startswith(("/static/", "/manifest")) for p in paths)


@pytest.mark.browser
@BROWSER_MARKS[1]
def test_offline_queue_survives_a_reload_and_is_sent_when_online(
    browser: Any,
    server: LiveServer,
    tmp_path: Path,
) -> None:
    photos = [
        make_photo(tmp_path / f"IMG_{n}.jpg", size=(1200, 900), quality=90, seed=40 + n)
        for n in (1, 2)
    ]
    amina = Phone(browser, server.url, axe=True)
    amina.sign_in()
    _controlled(amina)
    page = amina.page
    amina.context.set_offline(True)
    page.set_input_files("#upload input[type=file]", [str(p) for p in photos])
    page.click("#upload button[type=submit]")
    page.fill("form[action='/entries']:not(:has(input[name=form])) textarea", "Buses left")
    page.click("form[action='/entries']:not(:has(input[name=form])) button[type=submit]")
    count = page.locator("#queue .queue-count")
    count.filter(has_text="2 files and 1 entry waiting to be sent").wait_for()

    page.reload(wait_until="load")  # no network: the worker answers with the shell
    assert "offline" in page.locator("main").inner_text()
    count.filter(has_text="2 files and 1 entry waiting to be sent").wait_for()
    assert amina.serious() == []  # the upload page with the queue shown

    amina.context.set_offline(False)
    count.filter(has_text="3 sent").wait_for(timeout=60_000)
    assert "waiting" not in count.inner_text()
    assert sorted(page.locator("#queue li[data-state=sent]").all_inner_texts()) == [
        "IMG_1.jpg: stored",
        "IMG_2.jpg: stored",
        "entry: Buses left: stored",
    ]
    page.reload(wait_until="load")  # each verdict is shown once
    page.locator("#queue").wait_for(state="detached")
    stored = {i["name"] for i in _items(server.archive_root)}
    assert {"IMG_1.jpg", "IMG_2.jpg"} <= stored
    archive = Archive.open(server.archive_root)
    try:
        for photo in photos:
            digest = hashlib.sha256(photo.read_bytes()).hexdigest()
            kept = archive.vault.path_for(digest)
            assert hashlib.sha256(kept.read_bytes()).hexdigest() == digest
        entries = [i for i in archive.list_items() if i["name"].startswith("entry-")]
    finally:
        archive.close()
    assert len(entries) == 1
    assert not [p for p in amina.problems if "ERR_INTERNET_DISCONNECTED" not in p], amina.problems


def _controlled(amina: Phone) -> None:
    """Signed in, with the worker installed and in charge of the page (the shell cached)."""
    amina.page.wait_for_function(
        "async () => !!(await navigator.serviceWorker.getRegistration()) &&"
        " !!(await navigator.serviceWorker.ready).active"
    )
    amina.page.reload(wait_until="load")


@pytest.mark.browser
@BROWSER_MARKS[1]
def test_a_queued_entry_goes_with_the_new_sessions_token_and_a_refusal_is_kept(
    browser: Any,
    server: LiveServer,
    tmp_path: Path,
) -> None:
    """The session that was open when the entry was written is gone by the time it is sent: the
    queue waits for sign-in, then sends with the new session's token, never a kept one."""
    page_file = tmp_path / "IMG_404.jpg"
    page_file.write_text("<!doctype html><html><body>Not found</body></html>", "utf-8")
    amina = Phone(browser, server.url)
    amina.sign_in()
    _controlled(amina)
    page = amina.page
    amina.context.set_offline(True)
    page.set_input_files("#upload input[type=file]", [str(page_file)])
    page.click("#upload button[type=submit]")
    letter = "form[action='/entries']:has(input[name=form])"
    page.fill(f"{letter} textarea", "Dear everyone, the camp was cleared today.")
    page.click(f"{letter} button[type=submit]")
    count = page.locator("#queue .queue-count")
    count.filter(has_text="1 file and 1 entry waiting to be sent").wait_for()

    amina.context.clear_cookies()  # signed out (the cookie expired, or another sign-out)
    amina.context.set_offline(False)
    count.filter(has_text="sign in to send them").wait_for(timeout=30_000)
    amina.sign_in()
    count.filter(has_text="1 sent; 1 refused by the server").wait_for(timeout=60_000)
    assert "waiting" not in count.inner_text()
    refused = page.locator("#queue li[data-state=refused]")
    assert refused.inner_text().startswith("IMG_404.jpg: refused: ")

    archive = Archive.open(server.archive_root)
    try:
        names = [i["name"] for i in archive.list_items(source="amina")]
    finally:
        archive.close()
    assert [n for n in names if n.endswith("-letter.txt")] and "IMG_404.jpg" not in names

    page.reload(wait_until="load")  # the refusal is kept, with its reason, until forgotten
    refused.filter(has_text="refused: ").wait_for()
    page.click("#queue button:has-text('Forget')")
    page.locator("#queue").wait_for(state="detached")
    assert not [
        p for p in amina.problems if "ERR_INTERNET_DISCONNECTED" not in p and "401" not in p
    ]
