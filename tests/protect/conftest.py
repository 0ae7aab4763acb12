"""Fixtures shared by the protect stage's tests."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data
from tests.conftest import Result

from temoin.errors import SealBroken
from temoin.keep import keys as keyfile
from temoin.keep.sealing import Plain, Sealer
from temoin.keep.unlocking import unsealed


def derivative_bytes(root: Path, relative: str) -> io.BytesIO:
    """A file of the archive at ``root`` as someone with it unlocked reads it: as it lies, or
    decrypted in memory (nothing written)."""
    path = root / relative
    if not keyfile.is_encrypted(root):
        return io.BytesIO(path.read_bytes())
    sealer = unsealed(root, None)
    try:
        return io.BytesIO(sealer.clear(path).read_bytes())
    finally:
        sealer.close()


@contextmanager
def derivative_files(
    tmp_path: Path, pattern: str = "*"
) -> Iterator[list[tuple[Path, Path | None]]]:
    """Every file in an archive's ``derivatives/<xx>/`` under ``tmp_path``, with a path to read
    its bytes: itself, or in an encrypted archive a decrypted copy in memory (removed after).
    None when a sealed file does not decrypt: in an encrypted archive a file there that is not
    the archive's own sealed file is a failure, unless a test altered it on purpose."""
    sealers: dict[Path, Sealer] = {}
    found: list[tuple[Path, Path | None]] = []
    try:
        for stored in sorted(tmp_path.rglob(f"derivatives/*/{pattern}")):
            root = stored.parent.parent.parent
            if root not in sealers:
                sealers[root] = unsealed(root, None) if keyfile.is_encrypted(root) else Plain()
            try:
                found.append((stored, sealers[root].clear(stored)))
            except SealBroken:
                found.append((stored, None))
        yield found
    finally:
        for sealer in sealers.values():
            sealer.close()


@pytest.fixture
def field(tmp_path: Path, cli: Callable[..., Result]) -> Callable[..., Result]:
    """An archive with one photo of two people, and a shortcut running commands against it."""
    both = np.concatenate([data.astronaut(), data.astronaut()[:, ::-1]], axis=1)
    (tmp_path / "card").mkdir()
    Image.fromarray(both).resize((640, 320)).save(tmp_path / "card" / "two.png")
    archive = str(tmp_path / "archive")
    assert cli("init", archive).code == 0

    def run(*args: str) -> Result:
        return cli("-A", archive, *args)

    assert run("ingest", str(tmp_path / "card"), "--source", "phone").code == 0
    return run
