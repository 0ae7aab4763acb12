"""The whole day in headless Chromium against a real uvicorn on 127.0.0.1.

A witness signs in on a phone-sized screen, sends a photo and a video (the page's tus script does
the sending), and writes an entry; an editor reviews everything, defines the story and presses
publish. Any console error (a script failing, a CSP violation) fails the test. Screenshots are
saved under the test's tmp_path, and copied to ``artifacts/serve/`` when TEMOIN_ARTIFACTS is set.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import BROWSER_MARKS, REPO
from tests.serve.conftest import PASSWORD, LiveServer, free_port, settings

from temoin.archive import Archive
from temoin.testing.media import make_video
from temoin.testing.photos import astronaut, make_photo

pytestmark = BROWSER_MARKS


@pytest.fixture
def server(people_archive: Archive) -> Iterator[LiveServer]:
    people_archive.close()
    live = LiveServer(people_archive.root, settings(redact_after_ingest=True), free_port()).start()
    yield live
    live.stop()


class Phone:
    """One person's browser: phone-sized, recording problems and taking numbered screenshots."""

    def __init__(self, browser: Any, base: str, shots: Path, who: str) -> None:
        self.context = browser.new_context(viewport={"width": 390, "height": 844})
        self.page = self.context.new_page()
        self.base, self.shots, self.who = base, shots, who
        self.problems: list[str] = []
        self.page.on(
            "console", lambda m: self.problems.append(m.text) if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))

    def go(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="load")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{self.who}-{name}.png"), full_page=True)

    def sign_in(self) -> None:
        self.go("/")
        assert "/login" in self.page.url
        self.page.fill("input[name=name]", self.who)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.base + "/")

    def wait_jobs(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.go("/jobs")
            text = self.page.inner_text("main")
            if "No jobs" not in text and "running" not in text and "queued" not in text:
                assert "failed" not in text, text
                return
            time.sleep(0.3)
        raise AssertionError("jobs did not finish")


def test_witness_sends_editor_publishes(browser: Any, server: LiveServer, tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    material = tmp_path / "phone"
    day = datetime(2016, 10, 24)
    photo = make_photo(
        material / "IMG_1431.jpg",
        image=astronaut(),
        taken=day.replace(hour=14, minute=31),
        offset="+02:00",
    )
    video = make_video(
        material / "VID_1400.mp4",
        seconds=1.0,
        size=(320, 180),
        creation_time=datetime(2016, 10, 24, 12, 0, tzinfo=UTC),
    )

    amina = Phone(browser, server.url, shots, "amina")
    amina.sign_in()
    amina.shot("1-home")
    amina.page.set_input_files("input[type=file]", [str(photo), str(video)])
    amina.page.click("#upload button[type=submit]")
    amina.page.locator("#progress li a").nth(1).wait_for(timeout=60_000)
    assert amina.page.inner_text("#progress").count("stored") == 2  # the ingest's own word
    amina.shot("2-sent")
    amina.page.fill("input[name=day]", "2016-10-24")
    amina.page.fill("input[name=time]", "14:30")
    amina.page.fill("textarea[name=text]", "1051 people left in buses")
    amina.page.click("text=Add to the timeline")
    amina.page.wait_for_url("**/timeline*")
    assert "1051 people left in buses" in amina.page.inner_text("main")
    amina.wait_jobs()
    amina.go("/timeline")
    assert "IMG_1431.jpg" in amina.page.inner_text("main")
    amina.shot("3-timeline")

    eve = Phone(browser, server.url, shots, "eve")
    eve.sign_in()
    eve.go("/review")
    eve.shot("4-queue")
    reviewed = 0
    while "Nothing waits for review" not in eve.page.inner_text("main"):
        eve.page.click("ul.grid li a >> nth=0")
        eve.page.wait_for_load_state("load")
        if reviewed == 0:
            eve.shot("5-review-item")
        listened = eve.page.locator("text=I listened: every voice is linked")
        if listened.count():  # the video's sound: no voice in it
            listened.click()
            eve.page.wait_for_load_state("load")
            assert "Every voice is accounted for" in eve.page.inner_text("main")
            eve.shot("5-voices-checked")
        eve.page.click("#approve button.ok")
        eve.page.wait_for_load_state("load")
        reviewed += 1
        eve.go("/review")
        assert reviewed <= 5
    assert reviewed == 3  # the photo, the video, the entry
    eve.go("/publish")
    eve.page.fill("input[name=title]", "Calais, 24 October 2016")
    eve.page.fill("input[name=start]", "2016-10-24T06:00")
    eve.page.fill("input[name=end]", "2016-10-24T20:00")
    eve.page.click("text=Add story")
    eve.page.wait_for_url(server.url + "/publish")
    assert "3 item(s) pass the gate" in eve.page.inner_text("main")
    eve.page.click("text=Publish the site")
    eve.page.wait_for_selector("#status.status-done", timeout=120_000)
    eve.shot("6-published")

    site = server.archive_root / "site"
    assert (site / "index.html").is_file()
    story = (site / "stories" / "calais-24-october-2016" / "index.html").read_text("utf-8")
    assert "1051</strong> people left in buses" in story
    assert not amina.problems and not eve.problems, amina.problems + eve.problems
    if os.environ.get("TEMOIN_ARTIFACTS"):
        target = REPO / "artifacts" / "serve"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(shots, target)
