"""The protect commands as a volunteer types them, run in-process."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.conftest import Result
from tests.protect.conftest import derivative_files

from temoin.protect.gate import metadata_problems
from temoin.protect.scrub import assert_clean


@pytest.fixture(autouse=True)
def every_derivative_is_clean(tmp_path: Path) -> Iterator[None]:
    yield
    with derivative_files(tmp_path, "*.jpg") as files:
        for stored, path in files:
            assert path is not None, f"{stored}: not the archive's own sealed file"
            assert assert_clean(path) == [], stored
            assert metadata_problems(path) == [], stored
    for path in tmp_path.rglob("out/*.jpg"):  # exports are in clear
        assert assert_clean(path) == [], path
        assert metadata_problems(path) == [], path


def test_people_redact_review_approve_export_withdraw(
    field: Callable[..., Result], tmp_path: Path
) -> None:
    added = field(
        "people",
        "add",
        "Moussa",
        "--consent",
        "yes",
        "--scope",
        "face,name",
        "--how",
        "asked on camera, 24/10 07:40",
    )
    assert added.code == 0 and "consent yes" in added.out
    assert field("people", "add", "Man with the football", "--consent", "no").code == 0
    listed = field("people", "ls", "--json").json()
    assert [(p["name"], p["consent"]) for p in listed] == [
        ("Man with the football", "no"),
        ("Moussa", "yes"),
    ]

    assert "1 rendered" in field("redact").out
    (entry,) = field("review", "--json").json()
    item = entry["id"]
    assert len([d for d in entry["detections"] if d["source"] == "detector"]) == 2
    assert "face 1" in field("review", item[:10]).out

    linked = field("review", item[:10], "--link-face", "1", "Moussa", "--json").json()
    assert linked["links"][0]["face_visible"]
    assert field("review", item[:10], "--add-box", "0.41,0.80,0.08,0.12").code == 0
    approved = field("review", item[:10], "--approve")
    assert approved.code == 0 and "publishable" in approved.out

    exported = field("redact", "--export", str(tmp_path / "out"))
    assert "1 publishable exported" in exported.out
    assert (tmp_path / "out" / f"{item[:16]}.jpg").is_file()
    audit = field("audit", str(tmp_path / "out"), "--json")
    assert audit.code == 0, audit.out  # Moussa's face is there, with his consent
    report = audit.json()
    # seen by the audit (its face is there), but accounted for by the link and not listed
    assert report["findings"] == [] and report["accounted"] >= 1

    withdrawn = field("people", "withdraw", "Moussa")
    assert withdrawn.code == 0 and "rendered again" in withdrawn.out
    assert [r["id"] for r in field("review", "--json").json()] == [item]
    field("redact", "--export", str(tmp_path / "out"))
    assert not (tmp_path / "out" / f"{item[:16]}.jpg").exists()
    assert field("verify").code == 0


def test_audit_finds_an_unredacted_copy_and_nothing_on_derivatives(
    field: Callable[..., Result], tmp_path: Path
) -> None:
    field("redact")
    clean = field("audit")
    assert clean.code == 0 and "no face or metadata found" in clean.out

    by_hand = tmp_path / "archive" / "derivatives" / "zz" / "copied.png"
    by_hand.parent.mkdir()
    shutil.copy(tmp_path / "card" / "two.png", by_hand)
    found = field("audit", "--json")
    assert found.code == 1
    assert {f["file"] for f in found.json()["findings"] if f["kind"] == "face"} == {
        "derivatives/zz/copied.png",
    }


def test_review_errors_are_one_line(field: Callable[..., Result]) -> None:
    field("redact")
    (entry,) = field("review", "--json").json()
    unknown = field("review", entry["id"], "--link-face", "1", "Nobody")
    assert unknown.code == 5 and unknown.err.startswith("error:") and "Traceback" not in unknown.err
    both = field("review", entry["id"], "--approve", "--withhold", "why")
    assert both.code == 2
    bad_box = field("review", entry["id"], "--add-box", "1,2,3")
    assert bad_box.code == 2
    assert field("people", "add", "Awa", "--consent", "yes").code == 2  # a yes needs a scope
    assert field("review", "ffff", "--approve").code == 5
