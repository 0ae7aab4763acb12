"""A letter to supporters, from a phone's browser to the feed, on a real server and archive.

The letter is how supporters far away hear from the camp, and it is written on a phone in a hurry.
The form-level tests post the fields directly; this one goes through the pages as people use them,
on a 390-pixel screen: the witness's form, the editor's review page and the publish page, so a
field the form stops sending, a button the review page hides or a publish that leaves the letter
out of `feed.xml` is caught.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.conftest import BROWSER_MARKS
from tests.serve.conftest import LiveServer, wait_job
from tests.serve.test_upload_page import Phone, _items

LETTER = "Dear everyone,\nTonight 1051 people left in buses. Thank you for your support."


@pytest.mark.browser
@BROWSER_MARKS[1]
def test_a_letter_written_on_a_phone_is_approved_and_published_in_the_feed(
    browser: Any, server: LiveServer
) -> None:
    amina = Phone(browser, server.url)
    amina.sign_in()
    page = amina.page
    letter = page.locator("form", has=page.locator("input[name=form][value=letter]"))
    letter.locator("input[name=title]").fill("The night of the 24th")
    letter.locator("input[name=day]").fill("2016-10-24")
    letter.locator("input[name=time]").fill("21:40")
    letter.locator("textarea[name=text]").fill(LETTER)
    letter.get_by_role("button", name="Send the letter").click()
    page.wait_for_url("**#i*")
    prefix = page.url.split("#i", 1)[1]
    [item] = [i for i in _items(server.archive_root) if i["id"].startswith(prefix)]
    assert item["kind"] == "text" and item["meta"]["entry"]["form"] == "letter"

    eve = Phone(browser, server.url)
    eve.sign_in("eve")
    review = eve.page
    review.goto(f"{server.url}/review/{item['id']}")
    review.locator("#approve").get_by_role("button", name="Approve").click()
    review.wait_for_load_state("load")

    review.goto(server.url + "/publish")
    story = review.locator("form[action='/publish/stories']")
    story.locator("input[name=title]").fill("Calais")
    story.locator("input[name=start]").fill("2016-10-24T06:00")
    story.locator("input[name=end]").fill("2016-10-24T23:59")
    story.get_by_role("button", name="Add story").click()
    review.wait_for_url("**/publish*")
    review.get_by_role("button", name="Publish the site").click()
    review.wait_for_url(re.compile(r"/jobs/\d+"))
    job_id = re.findall(r"/jobs/(\d+)", review.url)[0]
    with server.session("eve") as client:
        job = wait_job(client, job_id, timeout=120)
    assert job["status"] == "done", job["message"]

    feed = (server.archive_root / "site" / "feed.xml").read_text("utf-8")
    assert "urn:temoin:dispatch:" in feed
    assert "<title>Calais: The night of the 24th</title>" in feed
    assert "1051 people left in buses" in feed
    assert amina.problems == [] and eve.problems == []
