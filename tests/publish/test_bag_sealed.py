"""A bag for counsel sealed to their age keys: one file only they can open, no clear bag left."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import bagit
import pyrage
import pytest
from pyrage import x25519
from tests.conftest import ON_ENCRYPTED, PLAIN_ONLY, run_cli

from temoin.archive import Archive
from temoin.testing.media import make_video
from temoin.testing.photos import make_photo

STORY = "calais-night"


@pytest.fixture
def night(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """An archive with a photo and a video in a story (nothing redacted: a bag of originals needs
    none); the originals' SHA-256 by file name."""
    material = tmp_path / "material"
    make_photo(
        material / "IMG_2210.jpg", size=(900, 600), seed=5, taken=datetime(2016, 10, 24, 22, 10)
    )
    make_video(
        material / "VID_2230.mp4",
        seconds=1.0,
        size=(160, 90),
        creation_time=datetime(2016, 10, 24, 20, 30, tzinfo=UTC),
    )
    root = tmp_path / "archive"
    archive = Archive.create(root, name="night", timezone="Europe/Paris")
    try:
        archive.ingest([material], source="phone")
        archive.new_story("Calais night", "2016-10-24T18:00", "2016-10-24T23:59")
        assert archive.ctx.encrypted == ON_ENCRYPTED
    finally:
        archive.close()
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in material.iterdir()}
    yield root, hashes


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def no_clear_bag(*folders: Path) -> None:
    for folder in folders:
        left = [p for p in files_under(folder) if p.name in ("bagit.txt", "manifest-sha256.txt")]
        assert not left, left
        assert not list(folder.rglob(".bag-build")), folder


def exported(root: Path) -> list[dict[str, object]]:
    archive = Archive.open(root)
    try:
        return [e for e in archive.custody_log() if e["action"] == "exported"]
    finally:
        archive.close()


def test_a_bag_sealed_to_two_recipients_opens_for_each_and_validates(
    night: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, hashes = night
    counsel, colleague, stranger = (x25519.Identity.generate() for _ in range(3))
    out = tmp_path / "for-counsel"
    result = run_cli(
        "-A", str(root), "export", "bag", str(out), "--story", STORY, "--originals",
        "--to", str(counsel.to_public()), "--to", str(colleague.to_public()),
    )  # fmt: skip
    assert result.code == 0, result.err
    sealed = tmp_path / "for-counsel.tar.age"
    assert "encrypted to 2 recipient(s)" in result.out
    assert sorted(os.listdir(tmp_path)) == ["archive", "for-counsel.tar.age", "material"]
    data = sealed.read_bytes()
    assert data.startswith(b"age-encryption.org/v1\n")
    for digest in hashes.values():  # not a byte of an original in clear, nor its name
        assert digest.encode() not in data
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(data, [stranger])
    assert pyrage.decrypt(data, [counsel]) == pyrage.decrypt(data, [colleague])

    opened = tmp_path / "opened"
    with tarfile.open(fileobj=io.BytesIO(pyrage.decrypt(data, [colleague]))) as tar:
        assert all(m.uname == "" and m.uid == 0 for m in tar.getmembers())
        tar.extractall(opened, filter="data")
    bag = bagit.Bag(str(opened / "for-counsel"))
    bag.validate()
    assert "sha256" in bag.algorithms
    originals = {
        p.name.split(".")[0]: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (opened / "for-counsel" / "data" / "originals").iterdir()
    }
    assert originals == {sha: sha for sha in hashes.values()}  # named by, and holding, their hash

    summary = [e for e in exported(root) if e["item"] is None]
    assert summary[-1]["detail"]["bag"] == "for-counsel.tar.age"
    assert summary[-1]["detail"]["recipients"] == 2
    no_clear_bag(root, tmp_path / "material", Path(os.environ["TEMOIN_RUNTIME_DIR"]))
    assert run_cli("-A", str(root), "verify").code == 0


def test_a_bad_recipient_is_refused_before_anything_is_written(
    night: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, _ = night
    good = str(x25519.Identity.generate().to_public())
    out = tmp_path / "bags" / "for-counsel"
    before = exported(root)
    for bad in ("age1notakey", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA counsel@example.org", ""):
        result = run_cli(
            "-A", str(root), "export", "bag", str(out), "--story", STORY, "--originals",
            "--to", good, "--to", bad,
        )  # fmt: skip
        assert result.code == 2, (bad, result.err)
        assert result.err.strip().splitlines()[-1].startswith(f"error: --to {bad}")
    assert not (tmp_path / "bags").exists()
    assert exported(root) == before
    no_clear_bag(root, Path(os.environ["TEMOIN_RUNTIME_DIR"]))


def test_an_existing_sealed_bag_is_never_overwritten(
    night: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, _ = night
    key = str(x25519.Identity.generate().to_public())
    sealed = tmp_path / "given.tar.age"
    sealed.write_bytes(b"a bag handed over last week")
    result = run_cli(
        "-A", str(root), "export", "bag", str(sealed), "--story", STORY, "--to", key
    )  # fmt: skip
    assert result.code == 2 and "already exists" in result.err
    assert sealed.read_bytes() == b"a bag handed over last week"


def test_the_clear_build_is_gone_while_the_archive_stays_open(
    night: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """A web app keeps its archive open for hours: the clear bag must go when the file is made,
    not when the process ends."""
    root, hashes = night
    counsel = x25519.Identity.generate()
    archive = Archive.open(root)
    try:
        report = archive.export_bag(
            tmp_path / "bag", STORY, originals=True, to=[str(counsel.to_public())]
        )
        assert report.path == tmp_path / "bag.tar.age" and len(report.files) == len(hashes)
        no_clear_bag(root, tmp_path, Path(os.environ["TEMOIN_RUNTIME_DIR"]))
    finally:
        archive.close()


@PLAIN_ONLY  # an encrypted archive builds in its process's memory folder, swept with it
def test_the_build_of_a_killed_export_is_swept_by_the_next(
    night: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, _ = night
    dead = subprocess.Popen(["true"])  # a process id that no longer runs
    dead.wait()
    stale = root / ".bag-build" / f"bag-{dead.pid}-x" / "night" / "data" / "originals"
    stale.mkdir(parents=True)
    (stale / "photo.jpg").write_bytes(b"an original copied by a killed export")
    key = str(x25519.Identity.generate().to_public())
    result = run_cli(
        "-A", str(root), "export", "bag", str(tmp_path / "b"), "--story", STORY, "--to", key
    )
    assert result.code == 0, result.err
    assert not (root / ".bag-build").exists()
