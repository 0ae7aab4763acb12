"""Where the publish button writes: `site/` in the archive folder, the folder `serve --site`
names, or (an encrypted archive not told where) nowhere at all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.serve.conftest import settings, sign_in, token, wait_job

from temoin.archive import Archive
from temoin.serve.app import create_app


def _eve(archive: Archive, site_folder: str) -> Any:
    from fastapi.testclient import TestClient

    client = TestClient(create_app(archive, settings(site_folder=site_folder)))
    client.__enter__()
    client.follow_redirects = False
    sign_in(client, "eve")
    return client


def test_without_a_site_folder_the_button_writes_nothing(people_archive: Archive) -> None:
    eve = _eve(people_archive, "")
    try:
        page = eve.get("/publish").text
        assert "writes a site in clear only where you point it" in page
        assert 'action="/publish/site"' not in page
        refused = eve.post("/publish/site", data={"csrf": token(eve, "/publish")})
        assert refused.status_code == 409
        assert eve.get("/site/index.html").status_code == 404
        assert eve.get("/site/temoin.toml").status_code == 404  # never the archive folder
    finally:
        eve.__exit__(None, None, None)
    assert not (people_archive.root / "site").exists()


def test_a_site_folder_outside_the_archive_is_where_it_goes(
    people_archive: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    eve = _eve(people_archive, str(out))
    try:
        assert f"<code>{out}</code>" in eve.get("/publish").text
        story = {"title": "Calais", "start": "2016-10-24T06:00", "end": "2016-10-24T20:00"}
        made = eve.post("/publish/stories", data={"csrf": token(eve, "/publish"), **story})
        assert made.status_code == 303
        published = eve.post("/publish/site", data={"csrf": token(eve, "/publish")})
        job_id = published.headers["location"].split("/")[2].split("?")[0]
        job = wait_job(eve, job_id, timeout=120)
        assert job["status"] == "done", job["message"]
        assert (out / "index.html").is_file()
        assert eve.get("/site/index.html").status_code == 200
    finally:
        eve.__exit__(None, None, None)
    assert not (people_archive.root / "site").exists()


@pytest.mark.parametrize("encrypted", [False, True])
def test_serve_chooses_the_folder(
    encrypted: bool, tmp_path: Path, cli: Callable[..., Any], no_catalog_server: None
) -> None:
    """What `temoin serve` hands the app: `site` for a plain archive, nothing for an encrypted
    one unless --site names a folder."""
    import temoin.cli.main  # noqa: F401 - the command modules register on it
    from temoin.cli import serve as command

    assert "--site" in cli("serve", "--help").out
    root = tmp_path / "archive"
    phrase = "a passphrase for this test" if encrypted else None
    made = Archive.create(
        root, passphrase=phrase, kdf_cost={"time_cost": 1, "memory_cost": 8192, "parallelism": 1}
    )
    try:
        assert command.site_folder_for(made, None) == ("" if made.ctx.encrypted else "site")
        assert command.site_folder_for(made, tmp_path / "out") == str(tmp_path / "out")
    finally:
        made.close()
