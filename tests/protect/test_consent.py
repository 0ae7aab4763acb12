"""The consent register: default no, every change a custody event, no name in the log."""

from __future__ import annotations

import pytest

from temoin.archive import Archive
from temoin.catalog.models import Person
from temoin.errors import NotFound, UsageError
from temoin.protect.consent import covers, parse_scope


def test_default_is_no_consent() -> None:
    assert not covers(None, "face")
    assert not covers(Person(name="x", consent="no", scope=["face"]), "face")
    assert not covers(Person(name="x", consent="withdrawn", scope=["face"]), "face")
    assert not covers(Person(name="x", consent="yes", scope=["name"]), "face")
    assert covers(Person(name="x", consent="yes", scope=["face"]), "face")


def test_scope_is_checked() -> None:
    assert parse_scope("Face, name") == ["face", "name"]
    assert parse_scope(None) == []
    with pytest.raises(UsageError):
        parse_scope("face,fingerprint")


def test_every_change_is_logged_without_the_name(archive: Archive) -> None:
    archive.add_person(
        "Moussa", consent="yes", scope=["face", "name"], how="asked on camera by the buses"
    )
    archive.add_person("Man with the football", consent="no", scope=["face"])
    archive.withdraw_person("Moussa", "phoned on 25/10")

    people = {p["name"]: p for p in archive.people()}
    assert people["Moussa"]["consent"] == "withdrawn" and people["Moussa"]["scope"] == []
    assert people["Moussa"]["how"] == "phoned on 25/10"
    assert people["Man with the football"]["scope"] == []  # "no" covers nothing
    assert people["Moussa"]["recorded_by"] == archive.actor
    events = [e for e in archive.custody_log() if e["action"] == "consent"]
    assert [e["detail"]["consent"] for e in events] == ["yes", "no", "withdrawn"]
    assert events[2]["detail"]["previous"] == "yes"
    # the entries' own times are left out: a run at 07:40 would match them
    log = str([{k: v for k, v in e.items() if k != "at"} for e in archive.custody_log()])
    assert "Moussa" not in log and "football" not in log and "buses" not in log
    assert archive.verify().ok


def test_yes_needs_a_scope_and_unknown_people_are_refused(archive: Archive) -> None:
    with pytest.raises(UsageError):
        archive.add_person("Awa", consent="yes")
    with pytest.raises(UsageError):
        archive.add_person("Awa", consent="maybe")
    with pytest.raises(NotFound):
        archive.withdraw_person("Nobody")
    assert archive.people() == []
