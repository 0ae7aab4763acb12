"""Entries written on the phone: notes and letters to supporters, edited and deleted."""

from __future__ import annotations

from typing import Any

from tests.serve.conftest import token, wait_job

from temoin.archive import Archive

LETTER = "Dear everyone,\nTonight 1051 people left in buses. Thank you for your support."


def _approve(eve: Any, item: str) -> None:
    form = {"csrf": token(eve, f"/review/{item}")}
    assert eve.post(f"/review/{item}/approve", data=form).status_code == 303


def _publish(eve: Any, archive: Archive) -> str:
    """Make the day's story, build the site; the story page and the feed together."""
    made = eve.post(
        "/publish/stories",
        data={
            "csrf": token(eve, "/publish"),
            "title": "Calais",
            "start": "2016-10-24T06:00",
            "end": "2016-10-24T23:59",
        },
    )
    assert made.status_code == 303
    return _rebuild(eve, archive)


def _rebuild(eve: Any, archive: Archive) -> str:
    published = eve.post("/publish/site", data={"csrf": token(eve, "/publish")})
    job = wait_job(eve, published.headers["location"].split("/")[2].split("?")[0], timeout=120)
    assert job["status"] == "done", job["message"]
    site = archive.root / "site"
    story = (site / "stories" / "calais" / "index.html").read_text()
    return story + (site / "feed.xml").read_text()


def _write(client: Any, **fields: str) -> str:
    posted = client.post("/entries", data={"csrf": token(client), **fields})
    assert posted.status_code == 303, posted.text
    return str(posted.headers["location"].split("#i")[1])


def _item(archive: Archive, prefix: str) -> dict[str, Any]:
    [found] = [i for i in archive.list_items() if i["id"].startswith(prefix)]
    return found


def test_a_letter_from_the_phone_is_a_dispatch_on_the_story_and_the_feed(
    clients: Any, people_archive: Archive
) -> None:
    amina, eve = clients("amina"), clients("eve")
    prefix = _write(
        amina,
        form="letter",
        title="The night of the 24th",
        day="2016-10-24",
        time="21:40",
        text=LETTER,
    )
    item = _item(people_archive, prefix)
    assert item["kind"] == "text" and item["source"] == "amina"
    # the time is a field of the entry, not text put before the greeting
    assert "21:40" not in people_archive.vault.path_for(item["id"]).read_text().split("\n\n", 1)[1]
    _approve(eve, item["id"])
    published = _publish(eve, people_archive)
    assert 'class="dispatch"' in published and "The night of the 24th" in published
    assert "<title>Calais: The night of the 24th</title>" in published
    assert "urn:temoin:dispatch:" in published and "1051 people left in buses" in published


def test_an_unapproved_letter_is_not_published(clients: Any, people_archive: Archive) -> None:
    amina, eve = clients("amina"), clients("eve")
    _write(amina, form="letter", day="2016-10-24", time="21:40", text=LETTER)
    published = _publish(eve, people_archive)
    assert "1051 people" not in published and "urn:temoin:dispatch:" not in published


def test_a_note_without_a_time_is_not_given_one(clients: Any, people_archive: Archive) -> None:
    amina, eve = clients("amina"), clients("eve")
    prefix = _write(amina, day="2016-10-24", time="", text="tents cleared by the police")
    item = _item(people_archive, prefix)
    assert item.get("time_utc") is None and item.get("time") is None
    _approve(eve, item["id"])
    published = _publish(eve, people_archive)
    assert "tents cleared" not in published and "12:00" not in published
    # a time written in the note itself still times it
    prefix = _write(amina, day="2016-10-24", time="", text="15h10 the last bus leaves")
    _approve(eve, _item(people_archive, prefix)["id"])
    assert "the last bus leaves" in _rebuild(eve, people_archive)


def test_a_note_keeps_its_time_field_and_markers(clients: Any, people_archive: Archive) -> None:
    amina = clients("amina")
    _write(amina, day="2016-10-24", time="09:10", text="tents cleared\n10h30 buses arrive")
    page = amina.get("/timeline").text
    assert "<time>09:10</time>" in page and "<time>10:30</time>" in page


def _faults(archive: Archive) -> list[Any]:
    report = archive.verify()
    return list(report.faults) if hasattr(report, "faults") else list(report["faults"])


def test_an_edit_publishes_the_new_text_only_and_keeps_the_old(
    clients: Any, people_archive: Archive
) -> None:
    amina, eve = clients("amina"), clients("eve")
    old = _item(people_archive, _write(amina, day="2016-10-24", time="09:10", text="tents clered"))
    page = amina.get(f"/entries/{old['id']}/edit")
    assert page.status_code == 200 and "tents clered" in page.text
    edited = amina.post(
        f"/entries/{old['id']}/edit",
        data={"csrf": token(amina), "day": "2016-10-24", "time": "09:15", "text": "tents cleared"},
    )
    assert edited.status_code == 303
    new_id = edited.headers["location"].rsplit("/", 1)[1]
    assert new_id != old["id"] and _item(people_archive, new_id)["source"] == "amina"
    # the old version is still in the vault, whole, and custody says what became of it
    assert "tents clered" in people_archive.vault.path_for(old["id"]).read_text()
    [change] = [e for e in people_archive.custody_log() if e["action"] == "entry-changed"]
    assert change["item"] == old["id"] and change["detail"]["replaced_by"] == new_id
    assert change["actor"] == "amina"
    timeline = amina.get("/timeline").text
    assert "tents cleared" in timeline and "tents clered" not in timeline
    assert old["id"] not in eve.get("/review").text
    _approve(eve, new_id)
    published = _publish(eve, people_archive)
    assert "tents cleared" in published and "tents clered" not in published
    # an editor may still change an approved entry; its author may not
    assert amina.get(f"/entries/{new_id}/edit").status_code == 403
    gone = eve.post(f"/entries/{new_id}/delete", data={"csrf": token(eve)})
    assert gone.status_code == 303
    assert "tents cleared" not in _rebuild(eve, people_archive)
    assert _faults(people_archive) == []


def test_a_witness_changes_only_her_own_entries(clients: Any, people_archive: Archive) -> None:
    amina, bilal = clients("amina"), clients("bilal")
    item = _item(people_archive, _write(amina, day="2016-10-24", time="09:10", text="buses"))
    form = {"csrf": token(bilal), "text": "forged", "day": "2016-10-24", "time": "09:10"}
    assert bilal.post(f"/entries/{item['id']}/edit", data=form).status_code == 404
    assert (
        bilal.post(f"/entries/{item['id']}/delete", data={"csrf": token(bilal)}).status_code == 404
    )
    assert amina.post(f"/entries/{item['id']}/delete", data={}).status_code == 403  # no token
    assert (
        amina.post(f"/entries/{item['id']}/delete", data={"csrf": token(amina)}).status_code == 303
    )
    # deleted once: neither changed again nor shown
    again = amina.post(f"/entries/{item['id']}/delete", data={"csrf": token(amina)})
    assert again.status_code == 400
    assert "buses" not in amina.get("/timeline").text
    assert _faults(people_archive) == []


def test_verify_names_an_entry_change_without_its_event(
    clients: Any, people_archive: Archive
) -> None:
    """Deleting an approved letter in the database takes it off the site: verify must say so."""
    from datetime import datetime

    from temoin.catalog.models import EntryChange

    amina = clients("amina")
    item = _item(people_archive, _write(amina, day="2016-10-24", time="09:10", text="buses"))
    with people_archive.session() as session:
        session.add(
            EntryChange(
                item_id=item["id"], replaced_by=None, changed_by="x", at=datetime(2020, 1, 1)
            )
        )
        session.commit()
    faults = [f.line() for f in _faults(people_archive)]
    assert any(f"change of entry {item['id']}" in f and "no custody event" in f for f in faults)


def test_the_same_entry_sent_twice_is_already_in_the_archive(clients: Any) -> None:
    """A phone that lost the answer to its first post sends the entry again: 409 says the
    archive holds it (the queue then marks it sent), where a refusal would be 400."""
    amina = clients("amina")
    fields = {"day": "2016-10-24", "time": "07:40", "text": "Two buses left the camp"}
    _write(amina, **fields)
    again = amina.post("/entries", data={"csrf": token(amina), **fields})
    assert again.status_code == 409
    assert again.text.strip() == "the archive already holds this very entry"
    refused = amina.post("/entries", data={"csrf": token(amina), "day": "2016-10-24"})
    assert refused.status_code == 400
