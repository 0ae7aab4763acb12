from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from temoin.archive import Archive
from temoin.testing import postgres

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


# -- the catalog's database ------------------------------------------------------------------------
# `make test` runs the suites twice: on SQLite, then with TEMOIN_TEST_CATALOG=postgresql, where
# every test's archive keeps its catalog in a database of its own on TEMOIN_TEST_POSTGRES_URL's
# server (an archive refuses a catalog that is another's, so none is ever shared).
ON_POSTGRES = postgres.on_postgres()
DATABASE_ENV = "TEMOIN_DATABASE_URL"
SQLITE_ONLY = pytest.mark.skipif(ON_POSTGRES, reason="about the catalog.sqlite file itself")


# -- encryption at rest ---------------------------------------------------------------------------
# `make test` runs the collect, keep, protect and publish suites a third time with
# TEMOIN_TEST_ENCRYPT=1: every archive a test makes (`init`, `Archive.create`) is then encrypted
# under the suite's passphrase, with a cheap Argon2id (the key file records its own cost).
ON_ENCRYPTED = os.environ.get("TEMOIN_TEST_ENCRYPT") == "1"
TEST_PASSPHRASE = "a passphrase for the test suite"
if ON_ENCRYPTED:
    os.environ["TEMOIN_ENCRYPT"] = "1"
    os.environ["TEMOIN_PASSPHRASE"] = TEST_PASSPHRASE
    os.environ["TEMOIN_KDF_MEMORY_KIB"] = "8192"
PLAIN_ONLY = pytest.mark.skipif(ON_ENCRYPTED, reason="about a plain archive's files themselves")
# Keys left by `unlock` and decrypted copies go to a folder of this run, removed at its end.
_RUNTIME = tempfile.mkdtemp(prefix="temoin-runtime-")
os.environ["TEMOIN_RUNTIME_DIR"] = _RUNTIME
# An unlock that ends by itself leaves a process waiting for its end: the suite's archives stay
# unlocked until they are locked or the run ends, except where a test asks for an end.
os.environ["TEMOIN_UNLOCK_HOURS"] = "0"


@pytest.fixture
def no_catalog_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """For a test's encrypted archive on the PostgreSQL pass: its catalog is SQLCipher's, in its
    folder, whatever database this pass gives other tests."""
    monkeypatch.delenv(DATABASE_ENV, raising=False)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and postgres.admin_url() is None:
        pytest.skip(f"needs a PostgreSQL server: set {postgres.ENV} (`make test` starts one)")


def pytest_sessionfinish(session: pytest.Session) -> None:
    shutil.rmtree(_RUNTIME, ignore_errors=True)
    if postgres.admin_url() is not None:
        postgres.drop_templates()


@pytest.fixture(autouse=True)
def catalog_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str | None]:
    """On the PostgreSQL pass, this test's own empty catalog, named in TEMOIN_DATABASE_URL."""
    if not ON_POSTGRES:
        yield None
        return
    url = postgres.migrated_database()
    monkeypatch.setenv(DATABASE_ENV, url)
    yield url
    postgres.recycle(url)
    while postgres.copies:  # of template archives' catalogs (`copy_archive`)
        postgres.recycle(postgres.copies.pop())


@contextmanager
def template_catalog(root: Path) -> Iterator[None]:
    """While an archive made once for many tests (at `root`) is built: on PostgreSQL, its own
    database, kept until the end of the run for `copy_archive` to copy."""
    if not ON_POSTGRES:
        yield
        return
    url = postgres.keep_database(root)
    before = os.environ.get(DATABASE_ENV)
    os.environ[DATABASE_ENV] = url
    try:
        yield
    finally:
        if before is None:
            del os.environ[DATABASE_ENV]
        else:
            os.environ[DATABASE_ENV] = before


def copy_archive(source: Path, target: Path) -> None:
    """A test's private copy of an archive made by `template_catalog`: its folder and, on
    PostgreSQL, its catalog, which becomes this test's."""
    shutil.copytree(source, target)
    if ON_POSTGRES:
        copy = postgres.clone_database(postgres.kept_database(source))
        postgres.copies.append(copy)
        os.environ[DATABASE_ENV] = copy


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
