"""An encrypted archive altered on the disk: every altered file is refused when read and named by
`temoin verify`, and an old key file put back does not open the archive.

Each test makes its own encrypted archive (whatever pass the suite runs in) holding a real photo
with a face and its real redacted derivative, alters one thing as someone with the disk in hand
could (a flipped byte, two files swapped, an older key file), and reads it through the real CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import Result

from temoin.archive import Archive
from temoin.catalog.models import Derivative
from temoin.errors import KeyRolledBack, SealBroken
from temoin.keep import keys as keyfile
from temoin.keep.unlocking import PASSPHRASE_ENV
from temoin.protect import provenance
from temoin.testing.photos import astronaut, make_photo

PASSPHRASE = "the first passphrase of this archive"
NEW_PASSPHRASE = "the passphrase it was changed to"
CHEAP = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}
SRC = Path(__file__).resolve().parents[2] / "src"


@dataclass
class Sealed:
    root: Path
    originals: list[str]  # the photos' hashes, the face first
    items: list[str]
    derivatives: list[tuple[str, str]]  # (stored path, content hash), in the items' order


@pytest.fixture
def sealed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sealed:
    """Two photos (one an astronaut's face) ingested and redacted in an encrypted archive, which
    is left unlocked as `init` leaves it; the suite's own passphrase is not in the way."""
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    monkeypatch.delenv("TEMOIN_ENCRYPT", raising=False)
    card = tmp_path / "card"
    make_photo(card / "IMG_0001.jpg", image=astronaut().resize((320, 320)))
    make_photo(card / "IMG_0002.jpg", size=(320, 240), seed=4)
    root = tmp_path / "archive"
    archive = Archive.create(root, name="sealed", passphrase=PASSPHRASE, kdf_cost=CHEAP)
    try:
        assert archive.ctx.encrypted
        stored = archive.ingest([card], source="phone").stored_ids
        assert len(stored) == 2
        report = archive.redact()
        assert len(report.rendered) == 2 and not report.failed
        items: list[str] = []
        derivatives: list[tuple[str, str]] = []
        for sha in stored:
            item = next(i["id"] for i in archive.list_items() if i.get("sha256") == sha)
            with archive.session() as session:
                row = session.get(Derivative, item)
                assert row is not None
                items.append(item)
                derivatives.append((row.path, row.sha256))
        assert archive.verify().ok
    finally:
        archive.close()
    return Sealed(root, stored, items, derivatives)


@pytest.fixture
def temoin(cli: Callable[..., Result], sealed: Sealed) -> Callable[..., Result]:
    return lambda *args: cli("-A", str(sealed.root), *args)


@pytest.fixture
def opened(sealed: Sealed) -> Iterator[Archive]:
    """The archive opened anew: nothing of it decrypted yet in this process."""
    archive = Archive.open(sealed.root)
    yield archive
    archive.close()


def _flip(path: Path, at: int | None = None) -> None:
    os.chmod(path, 0o600)  # vault files are made read-only
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if at is None else at] ^= 0x01
    path.write_bytes(bytes(data))


def _swap(first: Path, second: Path) -> None:
    """Each file put under the other's name, as a hand with the disk could."""
    aside = first.with_name(first.name + ".aside")
    os.rename(first, aside)
    os.rename(second, first)
    os.rename(aside, second)


def _faults(result: Result) -> list[dict[str, str]]:
    body = result.json()
    assert isinstance(body, dict)
    return list(body["faults"])


def _one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, text
    return " ".join(text.split())


def _temoin_process(root: Path, *args: str, stdin: str = "", **env: str) -> Result:
    """The CLI in a process of its own, as from a shell (a passphrase typed on stdin)."""
    environ = {**os.environ, "PYTHONPATH": str(SRC), **env}
    if PASSPHRASE_ENV not in env:
        environ.pop(PASSPHRASE_ENV, None)
    done = subprocess.run(
        [sys.executable, "-m", "temoin", "-A", str(root), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        check=False,
        timeout=120,
    )
    return Result(done.returncode, done.stdout, done.stderr)


# -- the vault -------------------------------------------------------------------------------------


def test_a_flipped_byte_in_an_original_is_refused_on_read_and_named_by_verify(
    sealed: Sealed, opened: Archive, temoin: Callable[..., Result]
) -> None:
    face = sealed.originals[0]
    stored = opened.vault.stored(face)
    _flip(stored)

    with pytest.raises(SealBroken) as caught:
        opened.vault.path_for(face)
    where = stored.relative_to(sealed.root).as_posix()
    assert str(caught.value) == f"{where}: does not decrypt: altered or damaged"

    # rendering it again reads it: refused in one line naming the file, nothing rendered
    again = temoin("review", sealed.items[0], "--add-box", "0.1,0.1,0.2,0.2")
    assert again.code != 0
    assert f"{where}: does not decrypt: altered or damaged" in _one_line(again.err)

    said = temoin("verify", "--json")
    assert said.code == 1
    assert _faults(said) == [
        {
            "kind": "changed",
            "object": f"original {face}",
            "detail": f"{where}: does not decrypt: altered or damaged",
        }
    ]


def test_two_originals_swapped_are_refused_on_read_and_both_named_by_verify(
    sealed: Sealed, opened: Archive, temoin: Callable[..., Result]
) -> None:
    face, other = sealed.originals
    _swap(opened.vault.stored(face), opened.vault.stored(other))

    for sha in (face, other):  # each decrypts, to the other's bytes
        with pytest.raises(SealBroken, match="holds other bytes than its name says"):
            opened.vault.path_for(sha)

    said = temoin("verify", "--json")
    assert said.code == 1
    faults = _faults(said)
    assert [(f["kind"], f["object"]) for f in faults] == [
        ("changed", f"original {sha}") for sha in sorted((face, other))
    ]
    assert all("swapped" in f["detail"] for f in faults)


# -- derivatives -----------------------------------------------------------------------------------


def test_a_flipped_byte_in_a_derivative_is_refused_by_the_gate_and_named_by_verify(
    sealed: Sealed, opened: Archive, temoin: Callable[..., Result]
) -> None:
    item = sealed.items[0]
    assert temoin("review", item, "--approve").code == 0
    assert opened.gate(item).ok
    relative, sha = sealed.derivatives[0]
    _flip(sealed.root / relative)

    fresh = Archive.open(sealed.root)  # nothing decrypted yet, as a later command
    try:
        with pytest.raises(SealBroken, match=f"^{relative}: does not decrypt"):
            provenance.readable(fresh.ctx, relative, sha)
        assert f"{relative} was changed after it was made" in fresh.gate(item).reasons
    finally:
        fresh.close()
    # the process that had read it before checks the file itself again, not its copy
    assert f"{relative} was changed after it was made" in opened.gate(item).reasons

    said = temoin("verify", "--json")
    assert said.code == 1
    assert _faults(said) == [
        {
            "kind": "changed",
            "object": f"derivative {sha}",
            "detail": f"{relative} does not decrypt: altered or damaged",
        }
    ]
    audited = temoin("audit", "--json")  # nobody can say what it shows: listed
    assert audited.code == 1
    body = audited.json()
    assert isinstance(body, dict)
    assert (relative, "unreadable") in {(f["file"], f["kind"]) for f in body["findings"]}
    exported = temoin("redact", "--export", str(sealed.root.parent / "out"))
    assert exported.code == 0 and not list((sealed.root.parent / "out").glob("*.jpg"))


def test_two_derivatives_swapped_are_refused_and_both_named_by_verify(
    sealed: Sealed, opened: Archive, temoin: Callable[..., Result]
) -> None:
    (first, first_sha), (second, second_sha) = sealed.derivatives
    _swap(sealed.root / first, sealed.root / second)

    with pytest.raises(SealBroken, match="holds other bytes than its name says"):
        provenance.readable(opened.ctx, first, first_sha)
    for item, (relative, _) in zip(sealed.items, sealed.derivatives, strict=True):
        assert temoin("review", item, "--approve").code == 0
        assert f"{relative} was changed after it was made" in opened.gate(item).reasons

    said = temoin("verify", "--json")
    assert said.code == 1
    assert sorted((f["kind"], f["object"]) for f in _faults(said)) == sorted(
        [("changed", f"derivative {first_sha}"), ("changed", f"derivative {second_sha}")]
    )


# -- the key file ----------------------------------------------------------------------------------


def test_an_old_key_file_put_back_after_a_new_passphrase_is_refused(sealed: Sealed) -> None:
    key = keyfile.key_path(sealed.root)
    old = key.read_bytes()
    changed = _temoin_process(
        sealed.root, "passphrase", "--passphrase-stdin", stdin=f"{PASSPHRASE}\n{NEW_PASSPHRASE}\n"
    )
    assert changed.code == 0, changed.err
    new = key.read_bytes()
    assert new != old

    key.write_bytes(old)  # the old passphrase's file, say from a backup or a seized copy
    unlock = _temoin_process(sealed.root, "unlock", "--passphrase-stdin", stdin=f"{PASSPHRASE}\n")
    assert unlock.code == KeyRolledBack.exit_code == 3
    assert "an old key file was put back" in _one_line(unlock.err)
    # with the passphrase in the environment: refused the same, by every command (verify too)
    said = _temoin_process(sealed.root, "verify", **{PASSPHRASE_ENV: PASSPHRASE})
    assert said.code == 3 and "an old key file was put back" in _one_line(said.err)
    os.environ[PASSPHRASE_ENV] = PASSPHRASE
    try:
        with pytest.raises(KeyRolledBack):
            Archive.open(sealed.root)
    finally:
        del os.environ[PASSPHRASE_ENV]
    # the new passphrase does not open the old file either
    wrong = _temoin_process(
        sealed.root, "unlock", "--passphrase-stdin", stdin=f"{NEW_PASSPHRASE}\n"
    )
    assert wrong.code == 3 and "passphrase is wrong" in _one_line(wrong.err)

    key.write_bytes(new)  # the current file back: the archive opens and is whole
    unlock = _temoin_process(
        sealed.root, "unlock", "--passphrase-stdin", stdin=f"{NEW_PASSPHRASE}\n"
    )
    assert unlock.code == 0, unlock.err
    assert _temoin_process(sealed.root, "verify").code == 0


@pytest.mark.parametrize("where", ["sealed", "generation"])
def test_a_flipped_byte_in_the_key_file_is_refused(sealed: Sealed, where: str) -> None:
    """In the wrapped keys, or in the clear header the wrapping authenticates."""
    key = keyfile.key_path(sealed.root)
    text = key.read_text()
    if where == "sealed":
        start = text.index('"sealed": "') + len('"sealed": "') + 10
    else:
        start = text.index('"generation": ') + len('"generation": ')
    replacement = {"A": "B", "1": "3"}.get(text[start], "A")
    key.write_text(text[:start] + replacement + text[start + 1 :])

    for passphrase in (PASSPHRASE, NEW_PASSPHRASE):
        unlock = _temoin_process(
            sealed.root, "unlock", "--passphrase-stdin", stdin=f"{passphrase}\n"
        )
        assert unlock.code == 3
        assert "the passphrase is wrong, or the key file was altered" in _one_line(unlock.err)
    # the keys `init` left in memory were made from another file: not used any more
    said = _temoin_process(sealed.root, "verify")
    assert said.code == 3 and "locked" in _one_line(said.err)
