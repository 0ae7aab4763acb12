"""Damaged photos (cut short, undecodable) are kept as evidence, marked, and never leave unseen."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import update

from temoin.archive import Archive
from temoin.catalog.models import Item
from temoin.errors import DamageNotAcknowledged
from temoin.testing.photos import make_photo


def _damaged_dump(tmp_path: Path) -> Path:
    """An iPhone-style HEIC with 60 % of it gone, a JPEG with garbage Huffman tables, a good one."""
    dump = tmp_path / "dump"
    heic = make_photo(tmp_path / "whole.heic", size=(640, 480), seed=1).read_bytes()
    dump.mkdir()
    (dump / "IMG_0001.HEIC").write_bytes(heic[: int(len(heic) * 0.4)])
    jpeg = bytearray(make_photo(tmp_path / "whole.jpg", size=(640, 480), seed=2).read_bytes())
    table = jpeg.find(b"\xff\xc4")
    length = int.from_bytes(jpeg[table + 2 : table + 4], "big")
    noise = random.Random(1)
    for i in range(table + 4 + 17, table + 2 + length):  # the code values, after the counts
        jpeg[i] = noise.randrange(256)
    (dump / "IMG_0002.jpg").write_bytes(bytes(jpeg))
    make_photo(dump / "IMG_0003.jpg", seed=3)
    return dump


def test_damaged_photos_are_stored_marked_and_shown(cli, tmp_path: Path) -> None:
    assert cli("init", str(tmp_path / "a")).code == 0
    dump = _damaged_dump(tmp_path)
    result = cli("ingest", str(dump), "--source", "phone", "--json", cwd=tmp_path / "a")
    assert result.code == 0, result.err
    report = result.json()
    assert (report["stored"], report["rejected"]) == (3, [])
    damaged = {Path(d["path"]).name: d["reason"] for d in report["damaged"]}
    assert damaged["IMG_0001.HEIC"].startswith("truncated image: ")
    assert damaged["IMG_0002.jpg"].startswith("undecodable image: ")
    assert "IMG_0003.jpg" not in damaged
    listed = cli("ls", "--json", cwd=tmp_path / "a").json()
    flags = {i["name"]: i.get("damaged") for i in listed}
    assert flags["IMG_0001.HEIC"] == damaged["IMG_0001.HEIC"] and flags["IMG_0003.jpg"] is None
    table = cli("ls", cwd=tmp_path / "a").out
    assert "IMG_0002.jpg (damaged)" in table and "IMG_0003.jpg (damaged)" not in table
    heic = next(i["id"] for i in listed if i["name"] == "IMG_0001.HEIC")
    shown = cli("show", heic[:12], cwd=tmp_path / "a").out
    assert "damaged" in shown and "truncated image" in " ".join(shown.split())
    ingested = cli("show", heic[:12], "--json", cwd=tmp_path / "a").json()["custody"][0]
    assert ingested["detail"]["damaged"] == damaged["IMG_0001.HEIC"]
    refused = cli("review", heic[:12], "--approve", cwd=tmp_path / "a")
    assert refused.code == DamageNotAcknowledged.exit_code
    assert "damaged" in refused.err and "--damaged-ok" in refused.err
    assert len(refused.err.strip().splitlines()) == 1


@pytest.fixture
def rendered(archive: Archive, tmp_path: Path) -> str:
    make_photo(tmp_path / "in/IMG_1.jpg", size=(320, 240), seed=4)
    archive.ingest([tmp_path / "in"], source="phone")
    archive.redact()
    return archive.list_items()[0]["id"]


def test_the_gate_lets_a_damaged_photo_out_only_with_its_damage_acknowledged(
    archive: Archive, rendered: str
) -> None:
    """Redaction cannot draw the damaged photos above, so the reader's flag is put on a
    rendered one: what is tested is the gate's and the approval's own rule."""
    with archive.session() as session:
        session.execute(
            update(Item).where(Item.id == rendered).values(damaged="truncated image: test")
        )
        session.commit()
    with pytest.raises(DamageNotAcknowledged):
        archive.approve(rendered)
    assert archive.gate(rendered).reasons == ["not approved by a person yet"]
    archive.approve(rendered, damaged_ok=True)
    assert archive.gate(rendered).ok
    [event] = [e for e in archive.custody_log() if e["action"] == "reviewed"]
    assert event["detail"]["damage_acknowledged"] == "truncated image: test"
    archive.withhold(rendered, "check the lost part first")  # any later decision drops it
    archive.release(rendered)
    with pytest.raises(DamageNotAcknowledged):
        archive.approve(rendered)


def test_an_approval_without_acknowledgement_does_not_pass_the_gate(
    archive: Archive, rendered: str
) -> None:
    archive.approve(rendered)
    assert archive.gate(rendered).ok
    with archive.session() as session:  # found damaged after the approval (say, on re-reading)
        session.execute(
            update(Item).where(Item.id == rendered).values(damaged="undecodable image: test")
        )
        session.commit()
    verdict = archive.gate(rendered)
    assert verdict.reasons == [
        "the original is damaged (undecodable image: test) and the approval does not acknowledge it"
    ]
