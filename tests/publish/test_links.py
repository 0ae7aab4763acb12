"""Settings that become links take only https: or mailto:; anything else is refused when the
archive opens, with one line naming the setting, and a good link still reaches the pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from temoin.archive import Archive

HOSTILE = [
    ("donation_url", "javascript:alert(document.cookie)"),
    ("donation_url", "JavaScript:alert(1)"),
    ("donation_url", "java\tscript:alert(1)"),
    ("donation_url", "data:text/html,<script>alert(1)</script>"),
    ("donation_url", "http://pot.example.org/calais"),
    ("donation_url", 'https://pot.example.org/"><script>alert(1)</script>'),
    ("donation_url", "mailto:javascript:alert(1)"),
    ("base_url", "javascript:alert(1)//"),
    ("base_url", "mailto:x@example.org"),
    ("base_url", "//witness.example.org/"),
    ("support_email", "x@example.org?bcc=everyone@example.org"),
    ("support_email", "javascript:alert(1)"),
]


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'


@pytest.mark.parametrize(("name", "value"), HOSTILE)
def test_a_hostile_link_in_temoin_toml_is_refused_at_open(
    archive: Archive, cli: Callable[..., object], name: str, value: str
) -> None:
    config = archive.root / "temoin.toml"
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f"{name} = {_toml(value)}\n")
    result = cli("-A", str(archive.root), "status")
    assert result.code == 2, result.out  # type: ignore[attr-defined]
    lines = result.err.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert f"setting {name!r}" in lines[0]


def test_a_hostile_link_from_the_environment_is_refused(
    archive: Archive, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMOIN_DONATION_URL", "javascript:alert(1)")
    result = cli("-A", str(archive.root), "status")
    assert result.code == 2  # type: ignore[attr-defined]
    assert "setting 'donation_url'" in result.err  # type: ignore[attr-defined]


def test_good_links_open_and_reach_the_site_and_the_web_app(
    day_archive: Archive, tmp_path: Path
) -> None:
    """The published support page, as the web app serves it at /site/, links to the pot."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    from temoin.serve.app import create_app
    from temoin.serve.config import ServeSettings
    from temoin.serve.users import add_user

    root = day_archive.root
    with (root / "temoin.toml").open("a", encoding="utf-8") as handle:
        handle.write('base_url = "https://witness.example.org/calais/"\n')
    archive = Archive.open(root)
    try:
        assert archive.settings.donation_url == "https://pot.example.org/calais"
        archive.publish_site(root / "site")
        add_user(archive, "a new user", "witness", "correct horse battery", by="test")
        app = create_app(archive, ServeSettings(redact_after_ingest=False))
        with TestClient(app, follow_redirects=False) as client:
            login = client.get("/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', login)
            assert csrf is not None
            client.post(
                "/login",
                data={
                    "csrf": csrf.group(1),
                    "name": "a new user",
                    "password": "correct horse battery",
                },
            )
            support = client.get("/site/support.html")
        assert support.status_code == 200
        assert 'href="https://pot.example.org/calais"' in support.text
        assert 'href="mailto:contact@support.example.org"' in support.text
    finally:
        archive.close()


def test_a_mailto_donation_link_is_accepted(archive: Archive) -> None:
    with (archive.root / "temoin.toml").open("a", encoding="utf-8") as handle:
        handle.write('donation_url = "mailto:pot@support.example.org?subject=A%20gift"\n')
    opened = Archive.open(archive.root)
    try:
        assert opened.settings.donation_url.startswith("mailto:")
    finally:
        opened.close()
