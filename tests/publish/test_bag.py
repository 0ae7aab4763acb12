"""BagIt export: validates, carries the custody log and the catalog, originals only when asked."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import bagit
from tests.conftest import run_cli
from tests.publish.conftest import SLUG, ids

from temoin.archive import Archive


def blob_hashes(archive: Archive) -> set[str]:
    """The SHA-256 of every original the vault holds, by content (decrypted when sealed)."""
    return {archive.ctx.sealer.hash_stored(path)[0] for _, path in archive.ctx.vault.walk()}


def payload_hashes(bag: Path) -> set[str]:
    return {
        hashlib.sha256(p.read_bytes()).hexdigest() for p in (bag / "data").rglob("*") if p.is_file()
    }


def chain_ok(lines: list[str]) -> bool:
    """The check docs/internals/custody.md gives, verbatim in spirit."""
    prev = "0" * 64
    for n, line in enumerate(lines, start=1):
        e = json.loads(line)
        body = {k: e[k] for k in ("seq", "at", "actor", "action", "item", "detail", "prev")}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if (
            e["seq"] != n
            or e["prev"] != prev
            or e["hash"] != hashlib.sha256(text.encode()).hexdigest()
        ):
            return False
        prev = e["hash"]
    return True


def test_derivatives_bag_validates_and_holds_no_original(
    day_archive: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "bag"
    result = run_cli(
        "-A", str(day_archive.root), "export", "bag", str(out), "--story", SLUG, "--json"
    )
    assert result.code == 0, result.err
    bag = bagit.Bag(str(out))
    bag.validate()
    assert "sha256" in bag.algorithms
    assert bag.info["External-Identifier"] == SLUG
    assert not payload_hashes(out) & blob_hashes(day_archive)
    assert not (out / "data" / "originals").exists()
    derivatives = sorted((out / "data" / "derivatives").glob("*.*[gp4]"))
    assert len(derivatives) == 3  # two photos and the video; the withheld photo stays home
    lines = (out / "data" / "custody.jsonl").read_text().splitlines()
    assert chain_ok(lines)
    assert json.loads(lines[-1])["action"] == "exported"
    items = list(csv.DictReader((out / "data" / "catalog" / "items.csv").read_text().splitlines()))
    by_id = {row["id"]: row for row in items}
    named = ids(day_archive)
    assert by_id[named["IMG_0930.jpg"]]["withheld"] == "withheld: shows a child"
    assert by_id[named["IMG_0930.jpg"]]["derivative_file"] == ""
    # no file names or sources without counsel
    assert all(not row.get("name") and not row.get("source") for row in items)
    entries = json.loads((out / "data" / "catalog" / "entries.json").read_text())
    assert any(e["dispatch"] for e in entries)
    records = (out / "data" / "derivatives" / "provenance.jsonl").read_text().splitlines()
    assert len(records) == 3


def test_originals_only_on_request_and_logged(day_archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "for-counsel"
    result = run_cli(
        "-A", str(day_archive.root), "export", "bag", str(out), "--story", SLUG, "--originals"
    )
    assert result.code == 0, result.err
    assert "unredacted originals" in result.err
    bagit.Bag(str(out)).validate()
    named = ids(day_archive)
    originals = {p.name.split(".")[0] for p in (out / "data" / "originals").iterdir()}
    assert named["IMG_0930.jpg"] in originals and named["IMG_0805.jpg"] in originals
    assert originals <= blob_hashes(day_archive)
    exported = [e for e in day_archive.custody_log() if e["action"] == "exported"]
    assert {e["item"] for e in exported if e["detail"].get("originals") and e["item"]} == originals
    assert run_cli("-A", str(day_archive.root), "verify").code == 0


def test_damaged_bag_fails_validation_and_busy_folder_is_refused(
    day_archive: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "bag"
    assert (
        run_cli("-A", str(day_archive.root), "export", "bag", str(out), "--story", SLUG).code == 0
    )
    target = next((out / "data" / "derivatives").glob("*.jpg"))
    target.write_bytes(target.read_bytes()[:-10])
    try:
        bagit.Bag(str(out)).validate()
        raise AssertionError("a damaged bag validated")
    except bagit.BagValidationError:
        pass
    again = run_cli("-A", str(day_archive.root), "export", "bag", str(out), "--story", SLUG)
    assert again.code == 2 and "empty folder" in again.err
    missing = run_cli(
        "-A", str(day_archive.root), "export", "bag", str(tmp_path / "x"), "--story", "nope"
    )
    assert missing.code == 5 and "no such story" in missing.err
