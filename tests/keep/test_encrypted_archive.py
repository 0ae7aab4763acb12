"""An encrypted archive on a seized laptop: locked, it gives nothing away; wiped, nothing opens.

Every command runs as a real `temoin` process with its own system temporary folder, so "every
byte under the archive folder and the system temp folder" is exactly what these processes wrote.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from temoin.testing.chats import make_whatsapp_export
from temoin.testing.photos import make_exif, pattern

PASSPHRASE = "the bridge at dawn, 7 vans"
NAMES = {
    "file name": "canary-fn-7f3k",
    "exif make": "CanaryMakeQ7",
    "exif serial": "CANARYSN55X",
    "note": "canary-note-9x2",
    "message": "canary-msg-4u8",
    "sender": "Canarina Personne",
    "person": "Canary Person Zed",
}
GPS = (43.718273, 7.262812)


class Field:
    """A folder with its own temp and runtime folders, and the `temoin` command run in it."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.tmp = base / "system-tmp"
        self.runtime = base / "runtime"
        self.archive = base / "archive"
        for folder in (self.tmp, self.runtime):
            folder.mkdir(parents=True)
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k
            not in (
                "TEMOIN_PASSPHRASE",
                "TEMOIN_ENCRYPT",
                "TEMOIN_KDF_MEMORY_KIB",
                "TEMOIN_DATABASE_URL",  # its own catalog, whichever pass this is
            )
        }
        self.env |= {
            "TMPDIR": str(self.tmp),
            "TEMOIN_RUNTIME_DIR": str(self.runtime),
            "TEMOIN_KDF_MEMORY_KIB": "8192",
        }

    def run(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "temoin", "-A", str(self.archive), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env | (env or {}),
            timeout=300,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "temoin", "-A", str(self.archive), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )


def _material(folder: Path) -> Path:
    """Media and notes carrying every canary: in EXIF, file names, text, a sender, GPS."""
    folder.mkdir(parents=True)
    exif = make_exif(
        taken=datetime(2016, 10, 24, 7, 40),
        make=NAMES["exif make"],
        serial=NAMES["exif serial"],
        gps=GPS,
    )
    pattern(320, 240, seed=3).save(folder / f"{NAMES['file name']}.jpg", "JPEG", exif=exif)
    (folder / "journal.txt").write_text(
        f"7:00 helicopters over the camp {NAMES['note']}\n14h30: 1051 people left in buses\n",
        encoding="utf-8",
    )
    day = datetime(2016, 10, 24, 7, 2)
    make_whatsapp_export(
        folder / "chat.zip",
        messages=[(day, NAMES["sender"], f"police at the gate {NAMES['message']}")],
        title="Gate",
    )
    return folder


def _needles(stored_gps: list[float]) -> dict[str, list[bytes]]:
    found = {what: [text.lower().encode()] for what, text in NAMES.items()}
    found["file name"].append(NAMES["file name"].encode("utf-16-le"))
    for value in stored_gps:  # as text, and as SQLite (big-endian) and C (little-endian) doubles
        found.setdefault("gps", []).extend(
            [repr(value).encode(), f"{value:.5f}".encode(), struct.pack(">d", value)]
        )
        found["gps"].append(struct.pack("<d", value))
    return found


def _scan(folders: list[Path], needles: dict[str, list[bytes]]) -> list[str]:
    """Every (file, canary) where a canary's bytes appear, in any case for the text ones."""
    hits = []
    for folder in folders:
        for path in _files(folder):
            data = path.read_bytes()
            lowered = data.lower()
            for what, forms in needles.items():
                if any(f in data or f in lowered for f in forms):
                    hits.append(f"{path.relative_to(folder.parent)}: {what}")
    return hits


def _files(folder: Path) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _day_in_the_field(field: Field, *, encrypt: bool) -> list[float]:
    """Init, ingest, name a person, redact, verify, list: what a day's work writes."""
    args = ["init", str(field.archive), "--timezone", "Europe/Paris"]
    made = field.run(*args, *(["--encrypt", "--passphrase-stdin"] if encrypt else []),
                     stdin=f"{PASSPHRASE}\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    source = _material(field.base / "phone")
    assert field.run("ingest", str(source)).returncode == 0
    assert field.run("people", "add", NAMES["person"], "--consent", "no").returncode == 0
    assert field.run("redact").returncode == 0
    assert field.run("verify").returncode == 0
    listed = field.run("ls", "--messages", "--json")
    assert listed.returncode == 0, listed.stderr
    photo = next(i for i in json.loads(listed.stdout) if i["kind"] == "photo")
    shown = json.loads(field.run("show", photo["id"], "--json").stdout)
    gps = shown.get("gps") or shown.get("meta", {}).get("gps") or {}
    values = [float(v) for v in (gps.values() if isinstance(gps, dict) else gps) if v]
    assert values and abs(values[0] - GPS[0]) < 1e-3, shown  # the position was read and stored
    return values


def test_a_locked_encrypted_archive_holds_no_canary(tmp_path: Path) -> None:
    field = Field(tmp_path / "encrypted")
    gps = _day_in_the_field(field, encrypt=True)
    assert field.run("lock").returncode == 0
    hits = _scan([field.archive, field.tmp, field.runtime], _needles(gps))
    assert hits == []
    # Locked, nothing reads: one line, exit 3, for every kind of command.
    for args in (["ls"], ["status"], ["verify"], ["timeline"], ["log"]):
        refused = field.run(*args)
        assert refused.returncode == 3, (args, refused.stderr)
        assert refused.stderr.strip().count("\n") == 0
        assert "locked" in refused.stderr and "temoin unlock" in refused.stderr
    # Unlocked again, everything is there and verifies.
    assert field.run("unlock", "--passphrase-stdin", stdin=f"{PASSPHRASE}\n").returncode == 0
    assert field.run("verify").returncode == 0
    assert len(json.loads(field.run("ls", "--messages", "--json").stdout)) >= 3


def test_the_same_day_in_a_plain_archive_leaves_every_canary_on_disk(tmp_path: Path) -> None:
    """The scan finds what is there: a plain archive shows each canary somewhere."""
    field = Field(tmp_path / "plain")
    gps = _day_in_the_field(field, encrypt=False)
    hits = _scan([field.archive, field.tmp, field.runtime], _needles(gps))
    found = {hit.rsplit(": ", 1)[1] for hit in hits}
    assert found >= {"file name", "exif make", "exif serial", "note", "message", "sender"}
    assert "person" in found and "gps" in found


def test_a_wrong_passphrase_is_refused_in_one_line(tmp_path: Path) -> None:
    field = Field(tmp_path)
    field.run("init", str(field.archive), "--encrypt", "--passphrase-stdin", stdin=PASSPHRASE)
    assert field.run("lock").returncode == 0
    wrong = field.run("unlock", "--passphrase-stdin", stdin="not the passphrase\n")
    assert wrong.returncode == 3
    assert "passphrase is wrong" in wrong.stderr and wrong.stderr.count("\n") == 1
    by_env = field.run("status", env={"TEMOIN_PASSPHRASE": "not the passphrase"})
    assert by_env.returncode == 3
    assert field.run("status", env={"TEMOIN_PASSPHRASE": PASSPHRASE}).returncode == 0
    assert field.run("status").returncode == 3  # a passphrase for one command unlocks no other


def test_an_unlock_ends_by_itself(tmp_path: Path) -> None:
    field = Field(tmp_path)
    field.run("init", str(field.archive), "--encrypt", "--passphrase-stdin", stdin=PASSPHRASE)
    field.run("lock")
    short = field.run("unlock", "--passphrase-stdin", "--for", "0.0005", stdin=PASSPHRASE)
    assert short.returncode == 0, short.stderr
    assert field.run("status").returncode == 0
    assert list(field.runtime.glob("*/keys.json"))
    deadline = time.monotonic() + 30
    while list(field.runtime.glob("*/keys.json")) and time.monotonic() < deadline:
        time.sleep(0.2)  # no command runs: the keys must still go at the end
    assert not list(field.runtime.glob("*/keys.json"))
    assert field.run("status").returncode == 3
    for bad in ("-1", "nan", "inf"):
        assert field.run("unlock", "--for", bad, stdin=PASSPHRASE).returncode == 2


def test_lock_removes_the_decrypted_copies_a_killed_process_left(tmp_path: Path) -> None:
    field = Field(tmp_path)
    field.run("init", str(field.archive), "--encrypt", "--passphrase-stdin", stdin=PASSPHRASE)
    source = _material(tmp_path / "phone")
    assert field.run("ingest", str(source)).returncode == 0
    reader = subprocess.Popen(
        [sys.executable, "-c", _READ_AND_WAIT, str(field.archive)],
        stdout=subprocess.PIPE,
        text=True,
        env=field.env,
    )
    assert reader.stdout is not None
    copy = Path(reader.stdout.readline().strip())
    assert copy.is_file() and field.runtime in copy.parents  # in memory, not the archive
    reader.kill()
    reader.wait()
    reader.stdout.close()
    assert copy.is_file()  # a killed process cleans nothing up
    assert field.run("lock").returncode == 0
    assert not copy.exists()
    assert _scan([field.runtime], _needles([])) == []


_READ_AND_WAIT = """
import sys, time
from pathlib import Path
from temoin.archive import Archive
archive = Archive.open(Path(sys.argv[1]))
with archive.session() as session:
    from sqlalchemy import select
    from temoin.catalog.models import Blob
    sha = session.scalars(select(Blob.sha256)).first()
print(archive.vault.path_for(sha), flush=True)
time.sleep(600)
"""


def _wav(path: Path, megabytes: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(48_000)
        frames = os.urandom(1024 * 1024)
        for _ in range(megabytes):
            out.writeframes(frames)


def test_wipe_during_an_ingest_leaves_nothing_that_opens(tmp_path: Path) -> None:
    field = Field(tmp_path)
    field.run("init", str(field.archive), "--encrypt", "--passphrase-stdin", stdin=PASSPHRASE)
    source = tmp_path / "recorder"
    source.mkdir()
    for n in range(24):
        _wav(source / f"voice-{n:02d}.wav", 12)
    ingest = field.popen("ingest", str(source))
    vault = field.archive / "vault"
    deadline = time.monotonic() + 120
    while not any((vault / "tmp").glob("*.part")) and time.monotonic() < deadline:
        time.sleep(0.02)  # sealed blobs being written: the ingest is under way
    assert ingest.poll() is None, "the ingest ended before the wipe: make the set larger"
    wiped = field.run("wipe", "--yes", "--json")
    assert wiped.returncode == 0, wiped.stderr
    report = json.loads(wiped.stdout)
    assert report["key_destroyed"] is True
    _out, err = ingest.communicate(timeout=120)
    assert ingest.returncode == 3, err  # the running ingest stops at its next file
    assert "wiped" in err or "destroyed" in err
    assert not (field.archive / "temoin.key").exists()
    assert not list(field.runtime.rglob("*.json"))  # no cached key of it anywhere
    unlock = field.run("unlock", "--passphrase-stdin", stdin=f"{PASSPHRASE}\n")
    assert unlock.returncode == 3 and "wiped" in unlock.stderr
    assert field.run("ls", env={"TEMOIN_PASSPHRASE": PASSPHRASE}).returncode == 3
    gone = field.run("wipe", "--yes", "--and-delete", "--json")
    assert gone.returncode == 0 and json.loads(gone.stdout)["deleted"] is True
    assert list(field.archive.iterdir()) == []


def test_wipe_asks_before_it_destroys(tmp_path: Path) -> None:
    field = Field(tmp_path)
    field.run("init", str(field.archive), "--encrypt", "--passphrase-stdin", stdin=PASSPHRASE)
    refused = field.run("wipe")  # no terminal, no --yes
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert (field.archive / "temoin.key").exists()
    assert field.run("status").returncode == 0


@pytest.mark.parametrize("bad", ["", "short"])
def test_a_passphrase_too_short_makes_nothing(tmp_path: Path, bad: str) -> None:
    field = Field(tmp_path)
    made = field.run("init", str(field.archive), "--encrypt", "--passphrase-stdin", stdin=bad)
    assert made.returncode == 2 and "at least" in made.stderr
    assert not field.archive.exists()


def _encrypted(tmp_path: Path) -> Field:
    field = Field(tmp_path)
    made = field.run(
        "init", str(field.archive), "--encrypt", "--passphrase-stdin", stdin=PASSPHRASE
    )
    assert made.returncode == 0, made.stderr
    return field


def test_an_archive_id_is_never_taken_for_a_path(tmp_path: Path) -> None:
    """The key file's clear header names the runtime entry `lock` and `wipe` delete: an edited
    one must not make them delete anything else."""
    field = _encrypted(tmp_path)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    key = field.archive / "temoin.key"
    document = json.loads(key.read_text())
    for forged in (str(victim), "../victim", ""):
        key.write_text(json.dumps({**document, "archive": forged}))
        locked = field.run("lock")
        assert locked.returncode == 3, locked.stderr
        assert "damaged" in locked.stderr
        assert (victim / "keep.txt").read_text() == "mine"
        assert list(field.runtime.glob("*/keys.json"))  # and the real entry is still there
    wiped = field.run("wipe", "--yes")
    assert wiped.returncode == 0, wiped.stderr
    assert (victim / "keep.txt").read_text() == "mine"
    assert not list(field.runtime.glob("*/keys.json"))  # found by the folder it is noted for


def test_wipe_finds_the_cached_keys_when_the_key_file_is_already_gone(tmp_path: Path) -> None:
    field = _encrypted(tmp_path)
    assert list(field.runtime.glob("*/keys.json"))
    (field.archive / "temoin.key").unlink()
    assert field.run("wipe", "--yes").returncode == 0
    assert not list(field.runtime.glob("*/keys.json"))


def test_a_sealed_file_put_in_place_of_another_is_refused(tmp_path: Path) -> None:
    field = _encrypted(tmp_path)
    seen = field.archive / "keys.seen"
    seen.write_bytes((field.archive / "custody.head").read_bytes())
    refused = field.run("status")
    assert refused.returncode == 1, refused.stderr
    assert "keys.seen: is another file of the archive put in its place" in refused.stderr


def test_wipe_and_lock_refuse_a_plain_archive(tmp_path: Path) -> None:
    field = Field(tmp_path)
    assert field.run("init", str(field.archive)).returncode == 0
    source = _material(tmp_path / "phone")
    assert field.run("ingest", str(source)).returncode == 0
    for args in (["wipe", "--yes", "--and-delete"], ["lock"], ["unlock"]):
        refused = field.run(*args, stdin=PASSPHRASE)
        assert refused.returncode == 2, (args, refused.stderr)
        assert "not an encrypted archive" in refused.stderr
    assert field.run("verify").returncode == 0  # every file still there
    # an environment asking for encryption makes new archives encrypted, not old ones "wiped"
    assert field.run("status", env={"TEMOIN_ENCRYPT": "1"}).returncode == 0


def test_an_altered_key_file_cannot_ask_for_hours_of_work(tmp_path: Path) -> None:
    field = _encrypted(tmp_path)
    field.run("lock")
    key = field.archive / "temoin.key"
    document = json.loads(key.read_text())
    document["kdf"]["memory_cost"] = 2**40
    key.write_text(json.dumps(document))
    refused = field.run("unlock", "--passphrase-stdin", stdin=PASSPHRASE)
    assert refused.returncode == 3 and "altered" in refused.stderr


def test_init_takes_a_passphrase_only_with_encrypt(tmp_path: Path) -> None:
    field = Field(tmp_path)
    made = field.run("init", str(field.archive), "--passphrase-stdin", stdin=PASSPHRASE)
    assert made.returncode == 2 and "--encrypt" in made.stderr
    assert not field.archive.exists()


def test_no_archive_is_made_inside_another(tmp_path: Path) -> None:
    field = _encrypted(tmp_path)
    nested = field.run("init", str(field.archive / "vault" / "inner"))
    assert nested.returncode == 3 and "inside the archive" in nested.stderr
    assert not (field.archive / "vault" / "inner").exists()
    assert field.run("verify").returncode == 0
