"""Fixtures shared by the protect stage's tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data
from tests.conftest import Result


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
