"""What a witness sees is what their account sent, by the account's id: an account named like the
laptop's OS user (the command line's actor) sees none of what was ingested from the command line,
and the web items of an archive made before ids were recorded keep their owner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from tests.serve.conftest import token, wait_job

from temoin.archive import Archive
from temoin.catalog.database import _alembic_config
from temoin.testing.photos import make_photo


def _send_form(client: Any, path: Path) -> str:
    files = [("files", (path.name, path.read_bytes(), "image/jpeg"))]
    posted = client.post("/upload", data={"csrf": token(client)}, files=files)
    assert posted.status_code == 303, posted.text
    done = wait_job(client, posted.headers["location"].rsplit("/", 1)[-1])
    assert done["status"] == "done", done["message"]
    return str(done["result"]["stored_ids"][0])


def _cli_ingest(cli: Any, root: Path, folder: Path, source: str) -> list[str]:
    """`temoin ingest FOLDER --source SOURCE`; the ids of what it stored, from `temoin ls`."""
    ingested = cli("-A", str(root), "ingest", str(folder), "--source", source, "--json")
    assert ingested.code == 0 and ingested.json()["stored"] == 1, ingested.err
    names = {p.name for p in folder.iterdir()}
    listed = cli("-A", str(root), "ls", "--json").json()
    return [str(i["id"]) for i in listed if i["name"] in names]


def _sees(client: Any, item: str, name: str) -> bool:
    page = client.get(f"/items/{item}").status_code
    listed = name in client.get("/").text
    on_timeline = name in client.get("/timeline").text
    assert page in (200, 404)
    assert (page == 200) == listed == on_timeline, (page, listed, on_timeline)
    return page == 200


def test_an_account_named_like_the_cli_actor_sees_none_of_its_items(
    clients: Any,
    people_archive: Archive,
    cli: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The laptop's OS user is called amina, like a witness account: what `temoin ingest` stores
    there (even labelled with her name) is not hers."""
    monkeypatch.setenv("TEMOIN_ACTOR", "amina")  # the CLI's actor, as its OS user would be
    make_photo(tmp_path / "laptop" / "IMG_CLI1.jpg", size=(200, 150), seed=71)
    make_photo(tmp_path / "labelled" / "IMG_CLI2.jpg", size=(200, 150), seed=72)
    (plain,) = _cli_ingest(cli, people_archive.root, tmp_path / "laptop", "field laptop")
    (labelled,) = _cli_ingest(cli, people_archive.root, tmp_path / "labelled", "amina")
    assert {e["actor"] for e in people_archive.custody_log() if e["action"] == "ingested"} == {
        "amina"
    }
    amina, eve = clients("amina"), clients("eve")
    assert not _sees(amina, plain, "IMG_CLI1.jpg")
    assert not _sees(amina, labelled, "IMG_CLI2.jpg")
    assert eve.get(f"/items/{plain}").status_code == 200  # an editor sees everything
    # what amina sends from her phone is hers
    own = _send_form(amina, make_photo(tmp_path / "IMG_WEB.jpg", size=(200, 150), seed=73))
    assert _sees(amina, own, "IMG_WEB.jpg")
    assert not _sees(clients("bilal"), own, "IMG_WEB.jpg")


def _before_this_change(archive: Archive) -> str:
    """The catalog's revision before run and job owners were recorded."""
    scripts = ScriptDirectory.from_config(_alembic_config(archive.engine))
    (mine,) = [s for s in scripts.walk_revisions() if s.path.endswith("_account_owners.py")]
    assert isinstance(mine.down_revision, str)
    return mine.down_revision


def test_web_items_keep_their_owner_through_the_upgrade(
    clients: Any, people_archive: Archive, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archive served before ids were recorded: its uploads and entries stay their senders',
    and what the command line ingested under the same name and label stays nobody's."""
    amina = clients("amina")
    upload = _send_form(amina, make_photo(tmp_path / "IMG_OLD.jpg", size=(200, 150), seed=81))
    written = amina.post(
        "/entries", data={"csrf": token(amina), "time": "09:10", "text": "tents cleared"}
    )
    assert written.status_code == 303
    monkeypatch.setenv("TEMOIN_ACTOR", "amina")
    make_photo(tmp_path / "cli" / "IMG_CLI3.jpg", size=(200, 150), seed=82)
    (from_cli,) = _cli_ingest(cli, people_archive.root, tmp_path / "cli", "amina")

    config = _alembic_config(people_archive.engine)
    command.downgrade(config, _before_this_change(people_archive))  # as the archive was
    command.upgrade(config, "head")  # what opening it with this version does

    assert _sees(amina, upload, "IMG_OLD.jpg")
    assert "tents cleared" in amina.get("/timeline").text
    assert not _sees(amina, from_cli, "IMG_CLI3.jpg")
    jobs = amina.get("/jobs").text
    assert 'href="/jobs/' in jobs  # her upload's job is still hers
