"""Changing one's own password, and the one-time reset link an admin prints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from tests.serve.conftest import PASSWORD, csrf_of, sign_in, token

from temoin.archive import Archive
from temoin.catalog.models import PasswordReset

NEW = "a brand new passphrase"


def _change(client: Any, current: str, new: str = NEW, again: str | None = None) -> Any:
    form = {"csrf": token(client, "/account"), "current": current, "password": new}
    return client.post("/account/password", data={**form, "again": again or new})


def test_a_witness_changes_her_password_and_every_session_ends(
    clients: Any, people_archive: Archive
) -> None:
    amina, other_phone = clients("amina"), clients("amina")
    assert _change(amina, "wrong password").status_code == 401
    assert _change(amina, PASSWORD, again="something else").status_code == 400
    assert _change(amina, PASSWORD, new="short").status_code == 400
    assert sign_in(clients(), "amina").status_code == 303  # nothing changed yet
    changed = _change(amina, PASSWORD)
    assert changed.status_code == 303 and changed.headers["location"] == "/login"
    for phone in (amina, other_phone):
        assert phone.get("/").status_code in (303, 401)  # signed out everywhere
    assert sign_in(clients(), "amina").status_code == 401
    assert sign_in(clients(), "amina", NEW).status_code == 303
    [event] = [
        e
        for e in people_archive.custody_log()
        if e["action"] == "account" and e["detail"].get("change") == "password"
    ]
    assert event["actor"] == "amina" and NEW not in str(event)


def test_the_password_form_needs_its_token(clients: Any) -> None:
    amina = clients("amina")
    form = {"current": PASSWORD, "password": NEW, "again": NEW}
    assert amina.post("/account/password", data=form).status_code == 403
    assert sign_in(clients(), "amina").status_code == 303


def _reset_link(cli: Any, archive: Archive, name: str) -> str:
    printed = cli("-A", str(archive.root), "user", "reset", name)
    assert printed.code == 0, printed.err
    link = printed.out.strip()
    assert link.startswith("/reset/")
    return link


def _use(client: Any, link: str, password: str = NEW) -> Any:
    page = client.get(link)
    form = {"csrf": csrf_of(page.text), "password": password, "again": password}
    return client.post(link, data=form)


def test_a_reset_link_works_once(clients: Any, people_archive: Archive, cli: Any) -> None:
    bilal = clients("bilal")
    link = _reset_link(cli, people_archive, "amina")
    anonymous = clients()
    page = anonymous.get(link)
    assert page.status_code == 200 and "amina" in page.text
    assert anonymous.post(link, data={"password": NEW, "again": NEW}).status_code == 403
    assert _use(anonymous, link).status_code == 303
    assert sign_in(clients(), "amina", NEW).status_code == 303
    assert sign_in(clients(), "amina").status_code == 401
    # spent: neither the page nor the form works again
    assert anonymous.get(link).status_code == 404
    assert _use(clients(), _reset_link(cli, people_archive, "bilal"), NEW).status_code == 303
    assert bilal.get("/").status_code in (303, 401)  # bilal's open session ended
    assert clients().post(link, data={"csrf": "x", "password": NEW, "again": NEW}).status_code in (
        403,
        404,
    )
    changes = [
        e["detail"]["change"] for e in people_archive.custody_log() if e["action"] == "account"
    ]
    assert changes.count("reset-issued") == 2
    assert not any(link.removeprefix("/reset/") in str(e) for e in people_archive.custody_log())


def test_a_reset_link_expires(clients: Any, people_archive: Archive, cli: Any) -> None:
    link = _reset_link(cli, people_archive, "amina")
    with people_archive.session() as session:  # as if its day had passed
        session.execute(update(PasswordReset).values(expires_at=datetime(2000, 1, 1)))
        session.commit()
    assert clients().get(link).status_code == 404
    assert sign_in(clients(), "amina").status_code == 303


def test_a_newer_link_replaces_the_older(clients: Any, people_archive: Archive, cli: Any) -> None:
    first = _reset_link(cli, people_archive, "amina")
    second = _reset_link(cli, people_archive, "amina")
    assert clients().get(first).status_code == 404
    assert _use(clients(), second).status_code == 303
    assert cli("-A", str(people_archive.root), "user", "reset", "nobody").code != 0
