"""What reaches the disk is what was read, and what a transaction rolls back leaves no trace.

A file-size limit is a real one (RLIMIT_FSIZE in a child process, SIGXFSZ ignored so writes fail
with EFBIG as on a full card), not a patched write.
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from temoin.archive import Archive
from temoin.catalog.models import Blob
from temoin.events import Action
from temoin.protect import provenance
from temoin.testing.photos import make_photo

LIMIT = 2_150_400


def _limited() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _motion_photo(path: Path, size: int) -> Path:
    """A JPEG with a clip's bytes after it, as phones write motion photos."""
    make_photo(path, size=(320, 240), taken=datetime(2016, 10, 24, 9))
    with open(path, "ab") as handle:
        handle.write(os.urandom(size - path.stat().st_size))
    return path


def test_a_short_write_is_never_stored_as_a_complete_original(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    Archive.create(root).close()
    photo = _motion_photo(tmp_path / "card" / "MVIMG_0912.jpg", 2_300_000)
    sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    command = [sys.executable, "-m", "temoin", "-A", str(root), "ingest", str(photo.parent),
               "--json"]  # fmt: skip
    limited = subprocess.run(command, capture_output=True, preexec_fn=_limited, check=False)
    assert limited.returncode != 0
    assert b"Traceback" not in limited.stderr

    archive = Archive.open(root)
    try:
        with archive.session() as session:
            assert session.get(Blob, sha) is None  # not reported, not listed as stored
        assert not archive.vault.stored(sha).exists()
        assert archive.verify().ok
        assert archive.ingest([photo.parent], source="card").stored == 1  # room again: stored
        assert archive.vault.path_for(sha).stat().st_size == 2_300_000
        assert archive.verify().ok
    finally:
        archive.close()


def test_a_rolled_back_transaction_leaves_the_head_alone(archive: Archive, tmp_path: Path) -> None:
    make_photo(tmp_path / "card" / "IMG_1.jpg", size=(160, 120))
    archive.ingest([tmp_path / "card"], source="phone")
    archive.publish_feed(tmp_path / "site")
    head = archive.custody.read_head()
    with archive.session() as session:
        archive.custody.append(session, archive.actor, Action.EXPORTED, None, story="x")
        session.rollback()  # an export that failed
    archive.publish_feed(tmp_path / "site")  # unchanged: a commit that records nothing
    assert archive.custody.read_head() == head
    assert archive.verify().ok, [f.line() for f in archive.verify().faults]


def test_a_key_whose_event_never_committed_is_recorded_on_its_next_use(
    archive: Archive, tmp_path: Path
) -> None:
    make_photo(tmp_path / "card" / "IMG_1.jpg", size=(320, 240))
    archive.ingest([tmp_path / "card"], source="phone")
    with archive.writing(), archive.session() as session:
        provenance.signing_key(session, archive.ctx)  # the first redact dies before its commit
        session.rollback()
    assert (archive.root / "keys").is_dir()
    assert [f.detail for f in archive.verify().faults] == [
        "no custody event records this key's creation"
    ]

    archive.redact()
    assert archive.verify().ok, [f.line() for f in archive.verify().faults]
    created = [e for e in archive.custody_log() if e["action"] == "key-created"]
    assert len(created) == 1 and "recorded_late" in created[0]["detail"]


def test_a_key_put_in_place_of_a_recorded_one_stays_an_alarm(
    archive: Archive, tmp_path: Path
) -> None:
    make_photo(tmp_path / "card" / "IMG_1.jpg", size=(320, 240))
    archive.ingest([tmp_path / "card"], source="phone")
    archive.redact()
    foreign = Ed25519PrivateKey.generate()
    keys = archive.root / "keys"
    for name, data in (
        (
            provenance.PRIVATE,
            foreign.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()),
        ),
        (provenance.PUBLIC, provenance.public_pem(foreign.public_key())),
    ):
        (keys / name).unlink()
        archive.ctx.sealer.write_bytes(keys / name, data)  # sealed in an encrypted archive
    make_photo(tmp_path / "more" / "IMG_2.jpg", size=(320, 240), seed=2)
    archive.ingest([tmp_path / "more"], source="phone")
    archive.redact()  # signs with the key it finds: not recorded as if it were the first
    faults = [(f.object, f.detail) for f in archive.verify().faults]
    public = f"keys/{provenance.PUBLIC}"
    assert (public, "no custody event records this key's creation") in faults
    assert len([e for e in archive.custody_log() if e["action"] == "key-created"]) == 1
