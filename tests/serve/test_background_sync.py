"""Background Sync: the service worker sends the phone's queue itself, with no page open.

A witness writes and photographs with no signal, puts the phone in her pocket and closes the
browser. When the network comes back the browser wakes the service worker (a `sync` event), and
the worker sends what waits through the same code a page runs (outbox.js over upload.js): files
through tus, resuming an upload that had begun, entries with a fresh CSRF token. Each verdict is
written in the phone's queue, so the next page she opens says what became of each item.

The event is fired through the DevTools protocol (`ServiceWorker.dispatchSyncEvent`), from an
about:blank page that holds the session: no page of the site is open when the worker runs.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
from tests.conftest import BROWSER_MARKS
from tests.serve.conftest import LiveServer
from tests.serve.test_offline import _controlled
from tests.serve.test_upload_page import Phone, _items

from temoin.archive import Archive
from temoin.testing.photos import make_photo

pytestmark = BROWSER_MARKS
TAG = "temoin-queue"
ENTRY = "form[action='/entries']:not(:has(input[name=form]))"


def _queue_offline(amina: Phone, photos: list[Path], text: str) -> None:
    page = amina.page
    amina.context.set_offline(True)
    page.set_input_files("#upload input[type=file]", [str(p) for p in photos])
    page.click("#upload button[type=submit]")
    page.fill(f"{ENTRY} textarea", text)
    page.click(f"{ENTRY} button[type=submit]")
    page.locator("#queue .queue-count").filter(
        has_text=f"{len(photos)} file{'s' if len(photos) > 1 else ''} and 1 entry waiting to be sent"
    ).wait_for()


def _records(amina: Phone) -> list[dict[str, Any]]:
    return list(
        amina.page.evaluate(
            """async () => (await temoinOutbox.all()).map(r => ({id: r.id, kind: r.kind,
                 name: r.name, state: r.state, upload: r.upload || null}))"""
        )
    )


def _fire_sync(amina: Phone, server: LiveServer) -> Any:
    """Every page of the site closed; the sync event fired at the worker from about:blank."""
    for open_page in list(amina.context.pages):
        open_page.close()
    blank = amina.context.new_page()
    assert [p.url for p in amina.context.pages] == ["about:blank"]
    cdp = amina.context.new_cdp_session(blank)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations:
        assert time.monotonic() < deadline, "no service worker registration"
        blank.wait_for_timeout(50)
    amina.context.set_offline(False)
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": server.url,
            "registrationId": registrations[0]["registrationId"],
            "tag": TAG,
            "lastChance": False,
        },
    )
    return blank


def _reopen(amina: Phone, server: LiveServer) -> None:
    amina.page = amina.context.new_page()
    amina.page.on("console", lambda m: amina.problems.append(m.text) if m.type == "error" else None)
    amina.page.on("pageerror", lambda e: amina.problems.append(str(e)))
    amina.page.goto(server.url + "/", wait_until="load")


def _wait_stored(server: LiveServer, names: set[str], timeout: float = 60) -> set[str]:
    """What the archive holds once it has `names` and an entry (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        stored = {i["name"] for i in _items(server.archive_root)}
        entry = any(n.startswith("entry-") for n in stored)
        if (names <= stored and entry) or time.monotonic() > deadline:
            return stored
        time.sleep(0.2)


def _half_upload(amina: Phone, server: LiveServer, photo: Path) -> str:
    """An upload of `photo` begun in the signed-in session and cut off halfway (as a dropped
    connection leaves it); its URL."""
    cookies = {c["name"]: c["value"] for c in amina.context.cookies()}
    with httpx.Client(base_url=server.url, cookies=cookies) as client:
        csrf = client.get("/csrf.json").json()["csrf"]
        head = {"Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf}
        data = photo.read_bytes()
        made = client.post(
            "/tus/",
            headers={
                **head,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": "filename SU1HXzEuanBn",
            },
        )
        assert made.status_code == 201
        url = made.headers["location"]
        cut = client.patch(
            url,
            content=data[: len(data) // 2],
            headers={
                **head,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert cut.status_code == 204
    return str(url)


def test_the_worker_sends_the_queue_with_no_page_open(
    browser: Any, server: LiveServer, tmp_path: Path
) -> None:
    photos = [
        make_photo(tmp_path / f"IMG_{n}.jpg", size=(1200, 900), quality=90, seed=60 + n)
        for n in (1, 2)
    ]
    amina = Phone(browser, server.url)
    amina.sign_in()
    _controlled(amina)
    _queue_offline(amina, photos, "Two buses left the camp")
    # IMG_1 had begun before the network went: the worker resumes it. IMG_2's upload URL is one
    # the server no longer knows (404): the worker starts it afresh.
    begun = _half_upload(amina, server, photos[0])
    amina.page.evaluate(
        """async ([begun, gone]) => {
             for (const r of await temoinOutbox.all()) {
               if (r.kind !== 'file') continue;
               r.upload = r.name === 'IMG_1.jpg' ? begun : gone;
               await temoinOutbox.put(r);
             }
           }""",
        [begun, "/tus/" + "0" * 32],
    )
    assert not _items(server.archive_root)  # nothing went while offline

    blank = _fire_sync(amina, server)
    assert {"IMG_1.jpg", "IMG_2.jpg"} <= _wait_stored(server, {"IMG_1.jpg", "IMG_2.jpg"})
    archive = Archive.open(server.archive_root)
    try:
        for photo in photos:
            digest = hashlib.sha256(photo.read_bytes()).hexdigest()
            kept = archive.vault.path_for(digest)
            assert hashlib.sha256(kept.read_bytes()).hexdigest() == digest
        names = [i["name"] for i in archive.list_items(source="amina")]
    finally:
        archive.close()
    assert names.count("IMG_1.jpg") == 1 and names.count("IMG_2.jpg") == 1
    assert len([n for n in names if n.startswith("entry-")]) == 1
    # the begun upload was finished (its folder cleared after ingest), not left half-done
    folder = server.archive_root / "uploads" / begun.rsplit("/", 1)[1]
    deadline = time.monotonic() + 30
    while folder.exists():
        assert time.monotonic() < deadline, "the begun upload was left half-done"
        time.sleep(0.2)

    blank.close()
    _reopen(amina, server)
    sent = amina.page.locator("#queue li[data-state=sent]")
    sent.nth(2).wait_for()
    assert sorted(sent.all_inner_texts()) == [
        "IMG_1.jpg: stored",
        "IMG_2.jpg: stored",
        "entry: Two buses left the camp: stored",
    ]
    assert amina.page.locator("#queue .queue-count").inner_text() == "3 sent"
    amina.page.reload(wait_until="load")  # shown once, then gone
    amina.page.locator("#queue").wait_for(state="detached")
    assert not [p for p in amina.problems if "ERR_INTERNET_DISCONNECTED" not in p]


def test_a_signed_out_worker_leaves_everything_queued(
    browser: Any, server: LiveServer, tmp_path: Path
) -> None:
    """The session ended while the phone was offline: the worker sends nothing and drops
    nothing; the next page asks to sign in, and after sign-in everything goes."""
    photo = make_photo(tmp_path / "IMG_7.jpg", size=(800, 600), quality=90, seed=77)
    amina = Phone(browser, server.url)
    amina.sign_in()
    _controlled(amina)
    _queue_offline(amina, [photo], "The gate was closed at noon")
    amina.context.clear_cookies()  # the session expired meanwhile

    blank = _fire_sync(amina, server)
    time.sleep(3)  # the worker's try, which must leave the queue as it was
    assert not _items(server.archive_root)
    blank.close()
    _reopen(amina, server)  # the sign-in page
    count = amina.page.locator("#queue .queue-count")
    count.filter(has_text="sign in to send them").wait_for(timeout=30_000)
    assert count.inner_text().startswith("1 file and 1 entry waiting to be sent")
    assert [r["state"] for r in _records(amina)] == ["waiting", "waiting"]

    amina.sign_in()
    count.filter(has_text="2 sent").wait_for(timeout=60_000)
    assert {"IMG_7.jpg"} <= {i["name"] for i in _items(server.archive_root)}
