"""The published site in a real browser (Debian's headless Chromium, driven by Playwright).

Opens the index, the story's timeline, a photo's page, the video's page and the support page from
disk, as a volunteer would from a USB stick, and fails on any console error, page error or broken
image. Screenshots (phone width) go to ``artifacts/publish/`` for a person to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS, REPO, run_cli
from tests.publish.conftest import SLUG, ids

from temoin.archive import Archive

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_site_renders_without_errors(day_archive: Archive, tmp_path: Path, browser: Any) -> None:
    out = tmp_path / "site"
    assert run_cli("-A", str(day_archive.root), "publish", "site", str(out)).code == 0
    shots = REPO / "artifacts" / "publish"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    named = ids(day_archive)
    pages = {
        "index": out / "index.html",
        "story": out / "stories" / SLUG / "index.html",
        "photo": out / "items" / f"{named['IMG_1431.jpg'][:16]}.html",
        "video": out / "items" / f"{named['VID_1000.mp4'][:16]}.html",
        "support": out / "support.html",
    }
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    for name, path in pages.items():
        page.goto(path.as_uri(), wait_until="load")
        for img in page.locator("img").all():
            img.scroll_into_view_if_needed()
        page.wait_for_load_state("load")
        broken = page.evaluate(
            "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
        )
        assert broken == [], (name, broken)
        assert page.locator("h1").count() == 1, name
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        if name == "story":
            assert page.locator("ol.timeline > li").count() >= 9
            assert page.locator("time", has_text="Noon").count() == 1
            assert page.locator("strong.figure", has_text="1051").count() >= 1
            assert page.locator("img[alt='Buses lined up on the rue des Garennes']").count() == 1
        if name == "photo":
            assert "Provenance" in page.locator("h2").all_inner_texts()
        if name == "video":
            assert page.locator("video source[type='video/mp4']").count() == 1
        if name == "support":
            assert page.locator("a[href='https://pot.example.org/calais']").count() == 1
    context.close()
    assert problems == []
