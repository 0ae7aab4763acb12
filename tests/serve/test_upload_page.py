"""The upload page on a phone-sized screen, in headless Chromium against a real uvicorn.

What the page says must be what happened: a progress bar that fills as bytes leave the phone, then
the ingest's own verdict on each file. A page that said "sent" for an HTML page named .jpg told the
witness nothing. A double tap sends once; an upload the server no longer has starts afresh.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.conftest import BROWSER_MARKS
from tests.serve.conftest import PASSWORD, LiveServer
from tests.serve.test_workbench import AXE

from temoin.archive import Archive
from temoin.testing.photos import make_photo

pytestmark = BROWSER_MARKS


class Phone:
    """A witness's phone-sized browser that records script errors (CSP violations included)."""

    def __init__(
        self, browser: Any, base: str, *, axe: bool = False, locale: str = "en-US"
    ) -> None:
        self.context = browser.new_context(
            viewport={"width": 390, "height": 844}, bypass_csp=axe, locale=locale
        )
        self.page = self.context.new_page()
        self.base = base
        self.problems: list[str] = []
        self.page.on(
            "console", lambda m: self.problems.append(m.text) if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))

    def sign_in(self, who: str = "amina") -> None:
        self.page.goto(self.base + "/", wait_until="load")
        self.page.fill("input[name=name]", who)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.base + "/")

    def line(self, name: str) -> Any:
        return self.page.locator("#progress li", has_text=name)

    def settled(self, name: str) -> str:
        """The file's final line, once the server's verdict is on it."""
        self.page.wait_for_function(
            """name => [...document.querySelectorAll('#progress li')].some(li =>
                 li.textContent.startsWith(name + ':') &&
                 ['stored', 'duplicate', 'refused', 'failed'].includes(li.dataset.state))""",
            arg=name,
            timeout=60_000,
        )
        return " ".join(str(self.line(name).inner_text()).split())

    def serious(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is."""
        self.page.evaluate(AXE.read_text("utf-8"))
        found = self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                 .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))"""
        )
        return [v for v in found if v["impact"] in ("serious", "critical")]


def _items(root: Path) -> list[dict[str, Any]]:
    archive = Archive.open(root)
    try:
        return archive.list_items(source="amina")
    finally:
        archive.close()


def _timeline_row(root: Path, name: str) -> dict[str, Any]:
    archive = Archive.open(root)
    try:
        days = archive.timeline()["days"]
    finally:
        archive.close()
    [row] = [i for d in days for m in d["moments"] for i in m["items"] if i["name"] == name]
    return row


def test_refused_stored_progress_and_the_phone_time(
    browser: Any, server: LiveServer, tmp_path: Path
) -> None:
    photo = make_photo(tmp_path / "photo.jpg", size=(1600, 1200), quality=95, seed=21)
    taken = datetime(2016, 10, 24, 12, 5, tzinfo=UTC).timestamp()
    os.utime(photo, (taken, taken))  # what the phone's file system says: no EXIF, no name time
    page_file = tmp_path / "IMG_404.jpg"
    page_file.write_text("<!doctype html><html><body>Not found</body></html>", "utf-8")
    amina = Phone(browser, server.url, axe=True)
    amina.sign_in()
    assert amina.serious() == []
    amina.page.evaluate(
        """() => { window.progressSeen = [];
             new MutationObserver(() => document.querySelectorAll('#progress progress')
               .forEach(p => window.progressSeen.push([p.value, p.max])))
             .observe(document.getElementById('progress'),
                      {subtree: true, childList: true, attributes: true}); }"""
    )
    amina.page.set_input_files("input[type=file]", [str(photo), str(page_file)])
    amina.page.click("#upload button[type=submit]")
    assert amina.settled("photo.jpg").endswith("stored")
    refused = amina.settled("IMG_404.jpg")
    assert "refused: " in refused and "sent" not in refused
    bars = amina.page.eval_on_selector_all(
        "#progress progress", "bars => bars.map(b => [b.value, b.max])"
    )
    assert bars == [[photo.stat().st_size] * 2, [page_file.stat().st_size] * 2]
    # The bar only ever moves forward, and never past the file's size.
    seen = [v for v, top in amina.page.evaluate("window.progressSeen") if top == bars[0][1]]
    assert seen and seen == sorted(seen) and seen[-1] == bars[0][1]
    assert amina.serious() == []  # with the bars and verdicts on it
    row = _timeline_row(server.archive_root, "photo.jpg")
    assert row["time_source"] == "phone" and row["time"].startswith("2016-10-24T14:05")
    assert not amina.problems, amina.problems


def test_a_double_tap_sends_once(browser: Any, server: LiveServer, tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "IMG_7.jpg", size=(1600, 1200), quality=95, seed=22)
    amina = Phone(browser, server.url)
    amina.sign_in()
    amina.page.set_input_files("input[type=file]", [str(photo)])
    amina.page.dblclick("#upload button[type=submit]")
    assert amina.page.is_disabled("#upload button[type=submit]") or amina.line("IMG_7.jpg").count()
    assert amina.settled("IMG_7.jpg").endswith("IMG_7.jpg: stored")
    assert amina.page.locator("#progress li").count() == 1
    assert [i["name"] for i in _items(server.archive_root)] == ["IMG_7.jpg"]
    assert amina.page.is_enabled("#upload button[type=submit]")
    assert not amina.problems, amina.problems


def test_an_upload_the_server_forgot_starts_afresh(
    browser: Any, server: LiveServer, tmp_path: Path
) -> None:
    """A proxy or a cleaned upload area answers 410 (or 404) for a tus URL: the page starts a new
    upload instead of retrying the dead one for ever."""
    photo = make_photo(tmp_path / "IMG_8.jpg", size=(1600, 1200), quality=95, seed=23)
    amina = Phone(browser, server.url)
    amina.sign_in()
    gone: list[str] = []

    def forget_first_patch(route: Any) -> None:
        if route.request.method == "PATCH" and not gone:
            gone.append(route.request.url)
            route.fulfill(status=410, body="gone", headers={"Tus-Resumable": "1.0.0"})
        else:
            route.continue_()

    amina.page.route("**/tus/*", forget_first_patch)
    amina.page.set_input_files("input[type=file]", [str(photo)])
    amina.page.click("#upload button[type=submit]")
    assert amina.settled("IMG_8.jpg").endswith("stored")
    assert len(gone) == 1
    assert [i["name"] for i in _items(server.archive_root)] == ["IMG_8.jpg"]
    expected = "the server responded with a status of 410"  # the answer this test arranged
    assert [p for p in amina.problems if expected not in p] == [], amina.problems


def test_too_large_says_the_limit(browser: Any, server: LiveServer, tmp_path: Path) -> None:
    big = tmp_path / "VID_9.mp4"
    big.write_bytes(b"\0" * (5 * 1024 * 1024 + 1))  # one byte over the served limit
    amina = Phone(browser, server.url)
    amina.sign_in()
    amina.page.set_input_files("input[type=file]", [str(big)])
    amina.page.click("#upload button[type=submit]")
    text = amina.settled("VID_9.mp4")
    assert "too large" in text and "5.0 MiB" in text
    assert not amina.problems, amina.problems
