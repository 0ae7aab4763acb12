"""Signed derivatives: the key, the signatures, and `verify` naming what was tampered with."""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update
from tests.protect.conftest import derivative_files

from temoin.archive import Archive
from temoin.catalog.models import Derivative
from temoin.protect import provenance
from temoin.protect.gate import metadata_problems
from temoin.protect.scrub import assert_clean
from temoin.testing.photos import astronaut


@pytest.fixture(autouse=True)
def every_derivative_is_clean(tmp_path: Path) -> Iterator[None]:
    yield
    with derivative_files(tmp_path, "*.jpg") as files:
        for stored, path in files:
            if path is None or path.stat().st_size <= 100:  # the tampered one, or its stub
                continue
            assert assert_clean(path) == [], stored
            assert metadata_problems(path) == [], stored


@pytest.fixture
def redacted(archive: Archive, tmp_path: Path) -> tuple[str, Derivative]:
    src = tmp_path / "in" / "portrait.png"
    src.parent.mkdir()
    astronaut().resize((256, 256)).save(src)
    archive.ingest([src], source="phone")
    archive.redact()
    item = archive.list_items()[0]["id"]
    with archive.session() as session:
        row = session.get(Derivative, item)
        assert row is not None
        return item, row


def test_key_pair_is_made_once_private_and_exported(
    archive: Archive, redacted: tuple[str, Derivative]
) -> None:
    private = archive.root / "keys" / "archive.ed25519"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    pem = provenance.export_public_key(archive.ctx)
    public = serialization.load_pem_public_key(pem)
    _, row = redacted
    public.verify(bytes.fromhex(row.signature), row.record.encode())  # type: ignore[union-attr]
    log = archive.custody_log()
    created = [e for e in log if e["action"] == "key-created"]
    assert len(created) == 1
    assert created[0]["detail"]["fingerprint"] == provenance.fingerprint(public)  # type: ignore[arg-type]
    assert archive.verify().ok


def test_tampered_derivative_file_is_a_fault_and_refused(
    archive: Archive, redacted: tuple[str, Derivative]
) -> None:
    item, row = redacted
    archive.approve(item)
    assert archive.gate(item).ok
    path = archive.root / row.path
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    faults = archive.verify().faults
    assert [(f.kind, f.object) for f in faults] == [("changed", f"derivative {row.sha256}")]
    assert f"{row.path} was changed after it was made" in archive.gate(item).reasons


def test_tampered_signature_or_record_is_a_fault(
    archive: Archive, redacted: tuple[str, Derivative]
) -> None:
    item, row = redacted
    with archive.session() as session:
        forged = row.record.replace('"made_at":', '"x":"added later","made_at":')
        assert forged != row.record
        session.execute(update(Derivative).values(record=forged))
        session.commit()
    details = [f.detail for f in archive.verify().faults]
    assert "its signature does not match its record" in details
    assert "the derivative's signature does not verify" in archive.gate(item).reasons


def test_swapped_key_and_stray_files_are_noticed(
    archive: Archive, redacted: tuple[str, Derivative], tmp_path: Path
) -> None:
    _, row = redacted
    other = Ed25519PrivateKey.generate()
    archive.ctx.sealer.write_bytes(  # in clear, or sealed as the archive's own files are
        archive.root / "keys" / "archive.ed25519.pub", provenance.public_pem(other.public_key())
    )
    text, signature = provenance.sign(other, json.loads(row.record))
    with archive.session() as session:  # every signature re-made with the new key
        session.execute(update(Derivative).values(record=text, signature=signature))
        session.commit()
    stray = archive.root / "derivatives" / "ab" / "copied-by-hand.jpg"
    stray.parent.mkdir(exist_ok=True)
    shutil.copy(archive.root / row.path, stray)
    faults = {(f.kind, f.object) for f in archive.verify().faults}
    assert ("changed", "keys/archive.ed25519.pub") in faults
    assert ("untracked", "derivatives/ab/copied-by-hand.jpg") in faults


def test_missing_derivative_is_a_fault(archive: Archive, redacted: tuple[str, Derivative]) -> None:
    _, row = redacted
    (archive.root / row.path).unlink()
    assert [f.kind for f in archive.verify().faults] == ["missing"]
