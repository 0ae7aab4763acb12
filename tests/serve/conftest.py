"""A served archive with four accounts, signed-in clients, and a real uvicorn server on loopback."""

from __future__ import annotations

import re
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from tests.conftest import copy_archive, template_catalog

with warnings.catch_warnings():
    # Starlette 1.x suggests httpx2 for its test client; httpx is what this project installs.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from temoin.archive import Archive
from temoin.serve.app import create_app
from temoin.serve.config import ServeSettings
from temoin.serve.users import add_user

PASSWORD = "correct horse battery"
ACCOUNTS = {"amina": "witness", "bilal": "witness", "eve": "editor", "root": "admin"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture(scope="session")
def _accounts_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Made once: hashing four argon2 passwords per test would cost most of the suite's time."""
    root = tmp_path_factory.mktemp("serve-template") / "archive"
    with template_catalog(root):
        made = Archive.create(root, name="test", timezone="Europe/Paris")
        for name, role in ACCOUNTS.items():
            add_user(made, name, role, PASSWORD, by="setup")
        made.close()
    return root


@pytest.fixture
def people_archive(_accounts_template: Path, tmp_path: Path) -> Iterator[Archive]:
    root = tmp_path / "archive"
    copy_archive(_accounts_template, root)
    made = Archive.open(root)
    yield made
    made.close()


def settings(**changes: Any) -> ServeSettings:
    base = {"redact_after_ingest": False, "max_upload_bytes": 5 * 1024 * 1024}
    return ServeSettings(**{**base, **changes})


@pytest.fixture
def app_settings() -> ServeSettings:
    return settings()


@pytest.fixture
def clients(people_archive: Archive, app_settings: ServeSettings) -> Iterator[Callable[..., Any]]:
    """`clients(name)`: a TestClient signed in as that account (None: anonymous)."""
    app = create_app(people_archive, app_settings)
    made: list[TestClient] = []

    def make(name: str | None = None) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        made.append(client)
        if name is not None:
            sign_in(client, name)
        return client

    yield make
    for client in made:
        client.__exit__(None, None, None)


def sign_in(client: Any, name: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    response = client.post(
        "/login", data={"csrf": csrf_of(page.text), "name": name, "password": password}
    )
    return response


def token(client: Any, path: str = "/") -> str:
    return csrf_of(client.get(path).text)


def wait_job(client: Any, job_id: int | str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}.json").json()
        if job["finished"]:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    """uvicorn in a thread on 127.0.0.1; stop() and start() again on the same port (a restart)."""

    archive_root: Path
    settings: ServeSettings
    port: int
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        archive = Archive.open(self.archive_root)
        config = uvicorn.Config(
            create_app(archive, self.settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._archive = archive
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)
        self._archive.close()

    @contextmanager
    def session(self, name: str) -> Iterator[httpx.Client]:
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=30) as client:
            sign_in(client, name)
            yield client


@pytest.fixture
def live(people_archive: Archive) -> Iterator[LiveServer]:
    people_archive.close()
    server = LiveServer(people_archive.root, settings(), free_port()).start()
    yield server
    if server._thread is not None and server._thread.is_alive():
        server.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, for the browser tests of this folder."""
    from playwright.sync_api import sync_playwright
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server(people_archive: Archive) -> Iterator[LiveServer]:
    """The app on a real uvicorn over the people archive, default settings (a test module
    that needs others defines its own ``server``)."""
    people_archive.close()
    live = LiveServer(people_archive.root, settings(), free_port()).start()
    yield live
    live.stop()
