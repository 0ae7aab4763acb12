"""The Atom feed: valid, one entry per dispatch and per story, stable when nothing changed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import run_cli
from tests.publish.conftest import SLUG

from temoin.archive import Archive

ATOM = "{http://www.w3.org/2005/Atom}"


def parse(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == f"{ATOM}feed"
    return root


def test_feed_is_valid_atom_with_the_dispatch(day_archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert run_cli("-A", str(day_archive.root), "publish", "site", str(out)).code == 0
    feed = parse(out / "feed.xml")
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    assert feed.findtext(f"{ATOM}author/{ATOM}name") == "Calais witnesses"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2  # the night's letter and the story
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.findtext(f"{ATOM}{required}"), required
        link = entry.find(f"{ATOM}link")
        assert link is not None and link.get("href") == f"stories/{SLUG}/index.html"
        assert (out / link.get("href", "")).is_file()
    dispatch = entries[0]
    assert dispatch.findtext(f"{ATOM}id", "").startswith("urn:temoin:dispatch:")
    assert "Continue sharing!" in dispatch.findtext(f"{ATOM}content", "")
    assert dispatch.findtext(f"{ATOM}published") == "2016-10-24T16:00:00+00:00"
    assert "1051 people left in buses" in entries[1].findtext(f"{ATOM}summary", "")


def test_feed_alone_keeps_the_site_and_is_stable(day_archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert run_cli("-A", str(day_archive.root), "publish", "site", str(out)).code == 0
    pages = sorted(p for p in out.rglob("*.html"))
    before = (out / "feed.xml").read_bytes()
    (out / "feed.xml").unlink()
    result = run_cli("-A", str(day_archive.root), "publish", "feed", str(out), "--json")
    assert result.code == 0, result.err
    assert (out / "feed.xml").read_bytes() == before  # dates come from the archive, not the clock
    assert sorted(p for p in out.rglob("*.html")) == pages
    again = run_cli("-A", str(day_archive.root), "publish", "feed", str(out), "--json").json()
    assert again["written"] == 0  # type: ignore[index]
    rebuilt = run_cli("-A", str(day_archive.root), "publish", "site", str(out), "--json").json()
    assert rebuilt["removed"] == []  # type: ignore[index]
    channels = [
        e["detail"].get("channel") for e in day_archive.custody_log() if e["action"] == "published"
    ]
    assert channels.count("feed") == 1


def test_base_url_makes_links_absolute(day_archive: Archive, tmp_path: Path) -> None:
    with open(day_archive.root / "temoin.toml", "a", encoding="utf-8") as config:
        config.write('base_url = "https://witness.example.org/calais"\n')
    out = tmp_path / "feed-only"
    assert run_cli("-A", str(day_archive.root), "publish", "feed", str(out)).code == 0
    feed = parse(out / "feed.xml")
    assert feed.findtext(f"{ATOM}id") == "https://witness.example.org/calais/feed.xml"
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links["self"] == "https://witness.example.org/calais/feed.xml"
    entry_link = feed.find(f"{ATOM}entry/{ATOM}link")
    assert entry_link is not None
    assert entry_link.get("href") == f"https://witness.example.org/calais/stories/{SLUG}/index.html"
