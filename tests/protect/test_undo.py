"""Second thoughts from the command line: every decision can be taken back, and is logged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.conftest import Result
from tests.protect.conftest import derivative_bytes

from temoin.protect.detector import Box
from temoin.protect.recall import COVERED_BELOW, similarity


@pytest.fixture
def field(field: Callable[..., Result]) -> Callable[..., Result]:
    """The shared archive of one photo of two people, redacted."""
    assert field("redact").code == 0
    return field


def pixels(tmp_path: Path, record: dict) -> np.ndarray:
    derivative = derivative_bytes(tmp_path / "archive", record["derivative"]["path"])
    return np.asarray(Image.open(derivative).convert("RGB"))


def original(tmp_path: Path) -> np.ndarray:
    return np.asarray(Image.open(tmp_path / "card" / "two.png").convert("RGB"))


def face_shown(tmp_path: Path, record: dict, n: int) -> bool:
    (face,) = [d for d in record["detections"] if d.get("n") == n]
    box = Box.from_normalised(tuple(face["box"]), 640, 320)
    return similarity(original(tmp_path), pixels(tmp_path, record), box) >= COVERED_BELOW


def test_a_dismissed_detection_is_left_uncovered_passes_the_gate_and_can_be_restored(
    field: Callable[..., Result], tmp_path: Path
) -> None:
    (entry,) = field("review", "--json").json()
    item = entry["id"][:12]
    dismissed = field("review", item, "--dismiss-face", "2", "--json").json()
    assert face_shown(tmp_path, dismissed, 2) and not face_shown(tmp_path, dismissed, 1)
    approved = field("review", item, "--approve")
    assert approved.code == 0 and "approved rendering " in approved.out
    assert field("review", item, "--json").json()["gate"] == []  # a person said: not a face
    audit = field("audit", "--json")
    assert audit.code == 1 and audit.json()["findings"]  # the second opinion still sees a face
    restored = field("review", item, "--restore-face", "2", "--json").json()
    assert restored["status"] == "pending"  # a new rendering needs a new approval
    assert not face_shown(tmp_path, restored, 2)
    assert field("review", item, "--restore-face", "2").code == 2  # nothing left to restore
    assert field("audit").code == 0


def test_boxes_are_numbered_and_removed_and_a_withheld_item_released(
    field: Callable[..., Result], tmp_path: Path
) -> None:
    (entry,) = field("review", "--json").json()
    item = entry["id"][:12]
    field("review", item, "--add-box", "0.0,0.0,0.2,0.2")
    field("review", item, "--add-box", "0.5,0.5,0.1,0.1")
    shown = field("review", item)
    assert "box 1 (added by" in shown.out and "box 2 (added by" in shown.out
    numbers = [b["n"] for b in field("review", item, "--json").json()["boxes"]]
    corner = Box.from_normalised((0.0, 0.0, 0.2, 0.2), 640, 320)
    before = field("review", item, "--json").json()
    assert similarity(original(tmp_path), pixels(tmp_path, before), corner) < COVERED_BELOW
    removed = field("review", item, "--remove-box", str(numbers[0]), "--json").json()
    assert [b["box"] for b in removed["boxes"]] == [[0.5, 0.5, 0.1, 0.1]]
    assert similarity(original(tmp_path), pixels(tmp_path, removed), corner) >= COVERED_BELOW
    assert [b["n"] for b in removed["boxes"]] == numbers[1:]  # the other keeps its number
    assert field("review", item, "--remove-box", str(numbers[0])).code == 2
    assert "nothing is withheld" in field("review", "--withheld").out
    field("review", item, "--withhold", "shows a volunteer's car")
    listed = field("review", "--withheld", "--json").json()
    assert [(r["id"][:12], r["reason"]) for r in listed] == [(item, "shows a volunteer's car")]
    assert field("review", "--json").json() == []  # not in the queue while withheld
    released = field("review", item, "--release", "--json").json()
    assert released["status"] == "pending" and released["reason"] is None
    assert field("review", item, "--release").code == 2  # only a withheld item is released
    decisions = [d["decision"] for d in released["decisions"]]
    assert decisions == ["add-box", "add-box", "remove-box", "withheld", "released"]
    events = [json.loads(line) for line in field("log", "--json").out.splitlines()]
    assert [e["detail"].get("decision") for e in events if e["action"] == "reviewed"][-2:] == [
        "withheld",
        "released",
    ]


def test_a_linked_face_is_not_dismissed_and_a_link_replaces_a_dismissal(
    field: Callable[..., Result], tmp_path: Path
) -> None:
    (entry,) = field("review", "--json").json()
    item = entry["id"][:12]
    field("people", "add", "Sam", "--consent", "yes", "--scope", "face")
    field("review", item, "--link-face", "1", "Sam")
    refused = field("review", item, "--dismiss-face", "1")
    assert refused.code == 2 and "unlink it first" in refused.err
    field("review", item, "--dismiss-face", "2")
    linked = field("review", item, "--link-face", "2", "Sam", "--json").json()
    assert linked["dismissed"] == []  # it is a face after all: Sam's
    field("people", "withdraw", "Sam")
    after = field("review", item, "--json").json()
    assert not face_shown(tmp_path, after, 1) and not face_shown(tmp_path, after, 2)
