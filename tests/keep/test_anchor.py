"""Published copies carry the custody head; `verify --against` proves the log still holds it, so
a log rewritten from end to end with every hash recomputed is caught by any copy made before."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest

from temoin.archive import Archive
from temoin.keep.custody import canonical
from temoin.testing.catalogs import raw_catalog
from temoin.testing.photos import make_photo


@pytest.fixture
def published(archive: Archive, tmp_path: Path) -> tuple[Archive, Path, Path]:
    for i in range(2):
        make_photo(tmp_path / "in" / f"IMG_{i}.jpg", seed=i, taken=datetime(2016, 10, 24, 8, i))
    archive.ingest([tmp_path / "in"], source="phone")
    archive.add_person("Man with the football", consent="no", how="said no")
    archive.new_story("Calais", "2016-10-24T06:00", "2016-10-24T23:59", slug="calais")
    archive.publish_site(tmp_path / "site")
    archive.export_bag(tmp_path / "bag", "calais")
    return archive, tmp_path / "site", tmp_path / "bag"


def _rewrite(archive: Archive) -> int:
    """Turn the consent "no" into "yes" in the log and the register, recomputing every hash after
    it and the head file: the chain stays whole. Returns the seq of the edited event."""
    connection = raw_catalog(archive)
    try:
        rows = connection.execute(
            "SELECT seq, at, actor, action, item, detail FROM custody ORDER BY seq"
        ).fetchall()
        prev, edited = "0" * 64, 0
        for seq, at, actor, action, item, detail in rows:
            body = json.loads(detail)
            if action == "consent" and body.get("consent") == "no":
                body.update(consent="yes", scope=["face"])
                edited = seq
            body_text = canonical(body)
            record = {
                "seq": seq, "at": at, "actor": actor, "action": action, "item": item,
                "detail": body, "prev": prev,
            }  # fmt: skip
            digest = hashlib.sha256(canonical(record).encode()).hexdigest()
            connection.execute(
                "UPDATE custody SET detail=?, prev=?, hash=? WHERE seq=?",
                (body_text, prev, digest, seq),
            )
            prev = digest
        connection.execute("UPDATE people SET consent='yes', scope='[\"face\"]'")
        connection.commit()
    finally:
        connection.close()
    head = canonical({"seq": rows[-1][0], "hash": prev}).encode()
    archive.ctx.sealer.write_bytes(archive.root / "custody.head", head, 0o644)
    return edited


def test_published_copies_carry_the_head(published: tuple[Archive, Path, Path]) -> None:
    _, site, bag = published
    manifest = json.loads((site / ".temoin-manifest.json").read_text())
    head = f"{manifest['custody']['seq']}:{manifest['custody']['hash']}"
    assert f"custody head <code>{head}</code>" in (site / "index.html").read_text()
    assert f"custody head {head}" in (site / "feed.xml").read_text()
    assert any(
        line.startswith("Temoin-Custody-Head: ")
        for line in (bag / "bag-info.txt").read_text().splitlines()
    )


def test_a_clean_archive_passes_against_site_bag_and_head(
    published: tuple[Archive, Path, Path], cli
) -> None:
    archive, site, bag = published
    last = archive.custody_log()[-1]
    head = f"{last['seq']}:{last['hash']}"
    report = archive.verify(against=[str(site), str(bag), head, str(site / "feed.xml")])
    assert report.ok, [f.line() for f in report.faults]
    result = cli("-A", str(archive.root), "verify", "--against", str(site), "--against", head)
    assert result.code == 0, result.err


def test_a_consistent_rewrite_passes_alone_but_not_against_a_site(
    published: tuple[Archive, Path, Path], cli
) -> None:
    archive, site, bag = published
    edited = _rewrite(archive)
    assert edited
    assert archive.verify().ok  # the chain and the register agree: nothing to see from inside
    anchored = json.loads((site / ".temoin-manifest.json").read_text())["custody"]["seq"]
    assert anchored >= edited
    lines = [f.line() for f in archive.verify(against=[str(site)]).faults]
    assert len(lines) == 1
    assert lines[0].startswith(f"chain-broken: custody event #{anchored}: site site records hash ")
    assert lines[0].endswith("the log was rewritten")
    assert not archive.verify(against=[str(bag)]).ok
    result = cli("-A", str(archive.root), "verify", "--against", str(site))
    assert result.code == 1 and f"custody event #{anchored}" in " ".join(result.err.split())


def test_a_copy_without_its_manifest_is_read_from_its_front_page(
    published: tuple[Archive, Path, Path],
) -> None:
    archive, site, _ = published
    (site / ".temoin-manifest.json").unlink()
    assert archive.verify(against=[str(site)]).ok
    _rewrite(archive)
    assert not archive.verify(against=[str(site)]).ok


def test_a_bad_head_is_a_usage_error(published: tuple[Archive, Path, Path], cli) -> None:
    archive, _, _ = published
    result = cli("-A", str(archive.root), "verify", "--against", "12:nothex")
    assert result.code == 2 and "SEQ:HASH" in result.err
    result = cli("-A", str(archive.root), "verify", "--against", f"999:{'a' * 64}")
    assert result.code == 1 and "the log no longer reaches it" in " ".join(result.err.split())
