"""The review workbench in headless Chromium: approve what you saw, review a video frame by frame,
undo every decision, decide a day's photos in bulk, and pass axe-core.

An editor works on a desktop-sized screen against a real uvicorn on 127.0.0.1. What a page shows is
checked from the bytes the browser downloads and from the derivatives' pixels, not from the DOM's
text alone. axe-core comes from the npm registry (`make test` installs it; TEMOIN_AXE names it) and
is run in a context that lets the test inject it past the app's Content-Security-Policy.
Screenshots are saved under the test's tmp_path, and copied to ``artifacts/workbench/`` when
TEMOIN_ARTIFACTS is set.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image
from skimage import data
from tests.conftest import BROWSER_MARKS, REPO
from tests.serve.conftest import PASSWORD, LiveServer, free_port, settings

from temoin.archive import Archive
from temoin.catalog.models import Derivative
from temoin.protect.detector import Box
from temoin.protect.recall import COVERED_BELOW, similarity
from temoin.serve.strips import COLOURS, chosen_frames
from temoin.testing.footage import Key, Shot, write_clip
from temoin.testing.photos import make_photo

pytestmark = BROWSER_MARKS
AXE = Path(os.environ.get("TEMOIN_AXE") or REPO / ".venv/axe/node_modules/axe-core/axe.min.js")
DAY = datetime(2016, 10, 24)


@pytest.fixture
def day(people_archive: Archive, tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """Ten plain photos, a photo of two people, a video of two people, all redacted; Sam in the
    consent register; the server started on the archive."""
    material = tmp_path / "card"
    for n in range(10):
        make_photo(material / f"IMG_10{n:02d}.jpg", size=(480, 320), seed=n, taken=DAY)
    both = np.concatenate([data.astronaut(), data.astronaut()[:, ::-1]], axis=1)
    Image.fromarray(both).resize((640, 320)).save(material / "two.png")
    shot = Shot(both, 2.0, [Key(0, 512, 256, 512), Key(2.0, 530, 256, 480)])
    write_clip(material / "VID_0910.mp4", [shot], size=(640, 320), fps=12)
    people_archive.ingest([material], source="amina")
    people_archive.add_person("Sam", consent="yes", scope=["face"], how="asked, 24/10")
    people_archive.redact()
    ids = {i["name"]: i["id"] for i in people_archive.list_items()}
    people_archive.close()
    server = LiveServer(people_archive.root, settings(), free_port()).start()
    yield server, ids
    server.stop()


class Desk:
    """An editor's browser on a desktop screen; ``axe=True`` lets axe-core be injected."""

    def __init__(self, browser: Any, base: str, shots: Path, *, axe: bool = False) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=axe)
        self.page = self.context.new_page()
        self.base, self.shots = base, shots
        self.problems: list[str] = []
        self.page.on(
            "console", lambda m: self.problems.append(m.text) if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.go("/")
        self.page.fill("input[name=name]", "eve")
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.base + "/")

    def go(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="load")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def image_bytes(self, selector: str) -> tuple[str, bytes]:
        src = self.page.get_attribute(selector, "src")
        assert src
        return src, self.page.request.get(self.base + src).body()

    def finish_job(self) -> None:
        """A decision that renders again goes through its job page, then back to the item."""
        self.page.wait_for_selector("#continue", timeout=120_000)
        assert "failed" not in self.page.inner_text("#status")
        self.page.click("#continue")
        self.page.wait_for_load_state("load")

    def serious(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is."""
        self.page.evaluate(AXE.read_text("utf-8"))
        found = self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                 .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))"""
        )
        return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.fixture
def shots(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "shots"
    folder.mkdir()
    yield folder
    if os.environ.get("TEMOIN_ARTIFACTS"):
        target = REPO / "artifacts" / "workbench"
        target.mkdir(parents=True, exist_ok=True)
        for picture in folder.iterdir():
            shutil.copy(picture, target / picture.name)


def archive_of(server: LiveServer) -> Archive:
    return Archive.open(server.archive_root)


def decisions(server: LiveServer, item: str) -> list[str]:
    archive = archive_of(server)
    try:
        return [d["decision"] for d in archive.review_item(item)["decisions"]]
    finally:
        archive.close()


def test_photo_approve_what_you_saw_and_undo_every_decision(
    browser: Any, day: tuple[LiveServer, dict[str, str]], shots: Path
) -> None:
    server, ids = day
    photo = ids["two.png"]
    eve = Desk(browser, server.url, shots)
    eve.go(f"/review/{photo}")
    eve.shot("photo-1-review")
    before_src, before = eve.image_bytes("#picture")

    stale = Desk(browser, server.url, shots)  # the same page, left open in another tab
    stale.go(f"/review/{photo}")

    eve.page.select_option("form.stack select[name=face]", "1")
    eve.page.select_option("form.stack select[name=person]", "Sam")
    eve.page.click("text=Link the face")
    eve.finish_job()
    after_src, after = eve.image_bytes("#picture")
    assert after_src != before_src and after != before  # a new rendering, fetched anew
    assert eve.page.request.get(server.url + before_src).status == 404  # the old one is gone
    eve.shot("photo-2-linked")

    stale.page.click("#approve button.ok")  # approving the picture shown before the link
    stale.page.wait_for_load_state("load")
    assert "rendered again since you looked" in stale.page.inner_text("main")
    stale.shot("photo-3-stale-approval-refused")

    eve.page.click("text=Unlink")
    eve.finish_job()
    assert "visible (person" not in eve.page.inner_text("table.tracks")
    eve.page.click("table.tracks tr:nth-child(2) >> text=Not a face")
    eve.finish_job()
    assert "dismissed: not a face" in eve.page.inner_text("table.tracks")
    eve.page.click("text=Cover it again")
    eve.finish_job()
    assert "dismissed" not in eve.page.inner_text("table.tracks")
    for field, value in zip("xywh", ("0.05", "0.6", "0.2", "0.3"), strict=True):
        eve.page.fill(f"#boxform input[name={field}]", value)
    eve.page.click("text=Add box")
    eve.finish_job()
    assert "Box 1" in eve.page.inner_text("main")
    eve.page.click("ul.boxes >> text=Remove")
    eve.finish_job()
    assert "Box 1" not in eve.page.inner_text("main")
    eve.page.fill("input[name=reason]", "shows a volunteer's car")
    eve.page.click("text=Withhold")
    eve.page.wait_for_load_state("load")
    eve.go("/review?status=withheld")
    assert "shows a volunteer's car" in eve.page.inner_text("main")
    eve.shot("photo-4-withheld-list")
    eve.go(f"/review/{photo}")
    with eve.page.expect_navigation():
        eve.page.click("text=Release: back to the queue")
    assert "pending" in eve.page.inner_text("main > p.muted")
    done = decisions(server, photo)
    for decision in ("link-face", "unlink-face", "dismiss-face", "restore-face", "add-box"):
        assert decision in done
    assert {"remove-box", "withheld", "released"} <= set(done)
    eve.go(f"/review/{photo}")
    shown_src = eve.page.get_attribute("#picture", "src") or ""
    with eve.page.expect_navigation():
        eve.page.keyboard.press("a")  # the approve key: this rendering, shown on this page
    archive = archive_of(server)
    try:
        assert archive.review_item(photo)["status"] == "approved"
        (approval,) = [
            e for e in archive.custody_log() if e["detail"].get("decision") == "approved"
        ]
        assert approval["detail"]["derivative"] in shown_src  # the very rendering shown
    finally:
        archive.close()
    assert not eve.problems, eve.problems


def test_bulk_approve_ten_photos_and_axe_on_queue_and_photo_review(
    browser: Any, day: tuple[LiveServer, dict[str, str]], shots: Path
) -> None:
    server, ids = day
    eve = Desk(browser, server.url, shots, axe=True)
    eve.go("/review?kind=photo")
    eve.shot("queue-1-photos")
    assert eve.serious() == []
    chosen = [n for n in ids if n.startswith("IMG_10")]
    for name in chosen:
        eve.page.check(f"input[name=chosen][value^='{ids[name]}']")
    images = eve.page.locator("ul.grid img")
    assert images.count() == 11
    assert all(images.nth(i).get_attribute("width") for i in range(11))  # no jumping page
    assert eve.page.locator(f"input[name=chosen][value^='{ids['VID_0910.mp4']}']").count() == 0
    with eve.page.expect_navigation():
        eve.page.click("text=Approve each")
    assert "10 item(s) approved" in eve.page.inner_text("main")
    eve.shot("queue-2-bulk-approved")
    bare = {"csrf": eve.page.input_value("input[name=csrf]"), "action": "approve"}
    refused = eve.page.request.post(  # a photo named without the rendering shown
        server.url + "/review/bulk", form={**bare, "chosen": ids["two.png"]}
    )
    assert "no rendering shown for it" in refused.text()
    withheld = eve.page.request.post(
        server.url + "/review/bulk",
        form={**bare, "action": "withhold", "reason": "a child", "chosen": ids["two.png"]},
    )
    assert "1 item(s) withheld" in withheld.text()
    archive = archive_of(server)
    try:
        assert all(archive.review_item(ids[n])["status"] == "approved" for n in chosen)
        events = [e for e in archive.custody_log() if e["detail"].get("decision") == "approved"]
        assert len(events) == 10 and {e["actor"] for e in events} == {"eve"}
    finally:
        archive.close()
    eve.go(f"/review/{ids['two.png']}")
    assert eve.serious() == []
    eve.page.set_viewport_size({"width": 390, "height": 844})  # a phone, too
    eve.go("/review")
    assert eve.serious() == []


def test_video_workbench_play_pause_draw_a_box_over_a_span(
    browser: Any, day: tuple[LiveServer, dict[str, str]], shots: Path
) -> None:
    server, ids = day
    video = ids["VID_0910.mp4"]
    eve = Desk(browser, server.url, shots, axe=True)
    eve.go(f"/review/{video}")
    assert eve.serious() == []
    archive = archive_of(server)
    try:
        found = archive.review_item(video)["detections"]
    finally:
        archive.close()
    strip = eve.page.locator("ol.strip img")
    assert strip.count() == len(chosen_frames(found))  # a frame a second, and every track's ends
    assert {t["first"] for t in found["tracks"]} <= set(chosen_frames(found))
    for i in range(strip.count()):
        strip.nth(i).scroll_into_view_if_needed()
    eve.page.wait_for_function(
        "() => [...document.querySelectorAll('ol.strip img')].every(i => i.naturalWidth > 0)"
    )
    first_src = server.url + (strip.nth(0).get_attribute("src") or "")
    first = eve.page.request.get(first_src).body()
    pixels = np.asarray(Image.open(io.BytesIO(first)).convert("RGB")).astype(int)
    red = np.abs(pixels - np.array(COLOURS["detector"])).sum(axis=2) < 60
    assert red.sum() > 50  # the covered faces' boxes are drawn on the frame
    assert "T1" in eve.page.inner_text("table.tracks") and "T2" in eve.page.inner_text(
        "table.tracks"
    )
    eve.shot("video-1-workbench")
    eve.page.evaluate(
        """() => new Promise(done => { const v = document.getElementById('player');
             v.muted = true; v.play().then(() => setTimeout(() => { v.pause();
             v.currentTime = 0.75; done(); }, 300)); })"""
    )
    layer = eve.page.locator(".draw-layer")
    layer.wait_for(state="visible")
    area = eve.page.locator("#player").bounding_box()
    assert area is not None
    x0, y0 = area["x"] + 0.05 * area["width"], area["y"] + 0.70 * area["height"]
    eve.page.mouse.move(x0, y0)
    eve.page.mouse.down()
    eve.page.mouse.move(x0 + 0.15 * area["width"], y0 + 0.15 * area["height"], steps=5)
    eve.page.mouse.up()
    form = {k: float(eve.page.input_value(f"#boxform input[name={k}]")) for k in "xywh"}
    assert abs(form["x"] - 0.05) < 0.02 and abs(form["w"] - 0.15) < 0.02
    assert float(eve.page.input_value("#boxform input[name=start]")) == pytest.approx(0.25, abs=0.1)
    eve.page.fill("#boxform input[name=end]", "1.5")
    eve.shot("video-2-box-drawn")
    eve.page.click("text=Add box")
    eve.finish_job()
    assert "Box 1" in eve.page.inner_text("main")
    eve.shot("video-3-rendered-again")
    assert eve.page.request.get(first_src).status == 404  # frames of the old rendering are gone
    fresh = eve.page.locator("ol.strip img").nth(0).get_attribute("src") or ""
    assert fresh != first_src.removeprefix(server.url)
    assert eve.page.request.get(server.url + fresh).status == 200

    archive = archive_of(server)
    try:
        with archive.session() as session:
            row = session.get(Derivative, video)
            assert row is not None
            path = archive.root / row.path
        source = archive.vault.path_for(archive.describe(video)["sha256"])
    finally:
        archive.close()
    box = Box.from_normalised((form["x"], form["y"], form["w"], form["h"]), 640, 320)
    with av.open(str(source)) as a, av.open(str(path)) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0), strict=True))
    covered = [
        i
        for i, (x, y) in enumerate(pairs)
        if similarity(x.to_ndarray(format="rgb24"), y.to_ndarray(format="rgb24"), box)
        < COVERED_BELOW
    ]
    fps = 12
    assert covered and min(covered) / fps == pytest.approx(0.25, abs=0.1)
    assert max(covered) / fps == pytest.approx(1.5, abs=0.1)
    assert not eve.problems, eve.problems
    # a track said not to be a face is left uncovered; taken back, it is covered again
    eve.page.click("table.tracks tbody tr:nth-child(1) >> text=Not a face")
    eve.finish_job()
    assert "dismissed: not a face" in eve.page.inner_text("table.tracks")
    eve.page.click("table.tracks >> text=Cover it again")
    eve.finish_job()
    assert "dismissed" not in eve.page.inner_text("table.tracks")
    assert {"dismiss-track", "restore-track", "add-box"} <= set(decisions(server, video))
    # the track list's times seek the player there
    eve.page.evaluate("document.getElementById('player').currentTime = 1.9")
    eve.page.click("table.tracks a[data-seconds] >> nth=0")
    start = float(
        eve.page.get_attribute("table.tracks a[data-seconds] >> nth=0", "data-seconds") or 0
    )
    eve.page.wait_for_function(
        f"() => Math.abs(document.getElementById('player').currentTime - {start}) < 0.05"
    )
    assert re.search(r"Box 1 \(", eve.page.inner_text("ul.boxes"))


def test_the_pages_in_french_pass_axe(
    browser: Any, day: tuple[LiveServer, dict[str, str]], shots: Path
) -> None:
    server, ids = day
    eve = Desk(browser, server.url, shots, axe=True)
    eve.go("/language/fr?next=/review")
    assert eve.page.get_attribute("html", "lang") == "fr"
    assert eve.page.inner_text("h1") == "Revue"
    assert eve.serious() == []
    for path in ("/", f"/review/{ids['two.png']}", f"/review/{ids['VID_0910.mp4']}", "/people"):
        eve.go(path)
        assert eve.page.get_attribute("html", "lang") == "fr"
        assert eve.serious() == [], path
    eve.shot("french-people")
    assert not eve.problems
