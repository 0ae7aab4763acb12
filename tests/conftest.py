from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from temoin.archive import Archive

REPO = Path(__file__).resolve().parents[1]

# `temoin init` without --timezone takes this machine's zone: the suite pins it, so an archive made
# without one reads naive times the same on every machine. A test of that choice sets TZ itself.
os.environ["TZ"] = "UTC"
SAMPLES = REPO.parent / "shared" / "samples"


CHROMIUM = Path("/usr/bin/chromium")  # Debian's; tests never download a browser
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium (apt install chromium)"
    ),
]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


def run_cli(*args: str, cwd: Path | None = None) -> Result:
    """Run the real CLI in-process, as a user would from a shell."""
    from temoin.cli.main import main

    stdout, stderr = io.StringIO(), io.StringIO()
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        with redirect_stdout(stdout), redirect_stderr(stderr):
            try:
                code = main(list(args)) or 0
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        os.chdir(old)
        sys.stdout.flush()
    return Result(int(code), stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def cli() -> Callable[..., Result]:
    return run_cli


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    made = Archive.create(tmp_path / "archive", name="test", timezone="Europe/Paris")
    yield made
    made.close()


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"shared sample {name} not present")
    return path
