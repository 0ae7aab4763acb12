"""The static site: only what the gate lets out, never an original, verifiable, incremental."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.publish.conftest import SLUG, ids

from temoin.archive import Archive
from temoin.protect.gate import metadata_problems


def build(archive: Archive, out: Path) -> dict:
    result = run_cli("-A", str(archive.root), "publish", "site", str(out), "--json")
    assert result.code == 0, result.err
    return result.json()  # type: ignore[return-value]


def test_site_shows_what_the_gate_lets_out_and_says_what_it_withheld(
    day_archive: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    result = run_cli("-A", str(day_archive.root), "publish", "site", str(out))
    assert result.code == 0, result.err
    assert "withheld:" in result.err and "shows a child" in result.err
    assert "the voice note is withheld until a reviewer has linked every voice" in result.err
    assert "open file://" in result.out

    named = ids(day_archive)
    story = (out / "stories" / SLUG / "index.html").read_text()
    for name in ("IMG_0805.jpg", "IMG_1431.jpg", "VID_1000.mp4"):
        assert f"items/{named[name][:16]}.html" in story
    for name in ("IMG_0930.jpg", "voice-note.opus"):
        assert named[name][:16] not in story
        assert not (out / "items" / f"{named[name][:16]}.html").exists()
    # the diary's own time markers, its text, and its figure highlighted
    for marker in (">7:00<", ">8:00<", ">Noon<", ">14h30<", ">2:45 PM<"):
        assert marker in story
    assert '<strong class="figure">1051</strong> people left in buses' in story
    assert "Dear everyone" in story and 'class="row dispatch"' in story
    # a caption becomes the alt text; no caption still gives a description
    assert 'alt="Buses lined up on the rue des Garennes"' in story
    assert 'alt="Photo taken at 08:05 (not described yet)"' in story
    support = (out / "support.html").read_text()
    assert 'href="https://pot.example.org/calais"' in support
    assert "mailto:contact@support.example.org" in support
    assert "documenting evictions" in support


def test_no_original_leaves_and_every_file_is_clean(day_archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(day_archive, out)
    originals = {p.name for p in (day_archive.root / "vault").rglob("*") if p.is_file()}
    for path in out.rglob("*"):
        if not path.is_file():
            continue
        assert hashlib.sha256(path.read_bytes()).hexdigest() not in originals, path
        if path.suffix in (".jpg", ".mp4"):
            assert metadata_problems(path) == [], path
    # srcset has 2-3 widths for a large photo, made from the derivative
    page = (out / "items" / f"{ids(day_archive)['IMG_1431.jpg'][:16]}.html").read_text()
    srcset = re.search(r'srcset="([^"]+)"', page)
    assert srcset is not None
    assert [w.split()[-1] for w in srcset.group(1).split(", ")] == [
        "320w",
        "640w",
        "1280w",
        "1400w",
    ][-4:]
    video = (out / "items" / f"{ids(day_archive)['VID_1000.mp4'][:16]}.html").read_text()
    assert re.search(r'<video [^>]*poster="\.\./media/[0-9a-f]{16}-poster\.jpg"', video)
    assert 'type="video/mp4"' in video


def test_links_are_relative_and_resolve(day_archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(day_archive, out)
    for page in out.rglob("*.html"):
        text = page.read_text()
        targets = re.findall(r'(?:href|src|poster)="([^"]+)"', text)
        targets += [
            part.split()[0] for s in re.findall(r'srcset="([^"]+)"', text) for part in s.split(", ")
        ]
        for target in targets:
            if target.startswith(("https://pot.example.org", "mailto:")) or target == "#main":
                continue
            assert not target.startswith(("/", "file:", "http")), (page, target)
            assert (page.parent / html.unescape(target)).resolve().is_file(), (page, target)
    assert "<script" not in "".join(p.read_text() for p in out.rglob("*.html"))


def test_the_provenance_instructions_on_an_item_page_work(
    day_archive: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build(day_archive, out)
    item = ids(day_archive)["IMG_0805.jpg"]
    page = (out / "items" / f"{item[:16]}.html").read_text()
    python, shell = (
        html.unescape(c) for c in re.findall(r"<pre><code>(.*?)</code></pre>", page, re.S)[::-1][:2]
    )
    done = subprocess.run([sys.executable, "-c", python], cwd=out, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "verified", done.stderr
    record = json.loads((out / "provenance" / f"{item[:16]}.record.json").read_text())
    assert record["sha256"] in page
    if shutil.which("openssl"):
        openssl = shell.split("\n", 1)[1].replace("\\\n", " ")
        done = subprocess.run(openssl, shell=True, cwd=out, capture_output=True, text=True)
        assert "Signature Verified Successfully" in done.stdout, done.stderr
    # tampering is caught by the same lines
    media = next((out / "media").glob(f"{record['sha256'][:16]}.jpg"))
    media.write_bytes(media.read_bytes() + b"\0")
    done = subprocess.run([sys.executable, "-c", python], cwd=out, capture_output=True, text=True)
    assert done.returncode != 0 and "altered" in done.stderr


def test_rebuild_is_incremental_and_withdrawal_removes_files(
    day_archive: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    first = build(day_archive, out)
    assert first["written"] > 20 and first["unchanged"] == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    second = build(day_archive, out)
    assert second["written"] == 0 and second["removed"] == [] and second["published"] == []
    assert {
        p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name[0] != "."
    } == {p: t for p, t in before.items() if p.name[0] != "."}

    named = ids(day_archive)
    day_archive.caption(named["IMG_0805.jpg"], "Police line at dawn")
    third = build(day_archive, out)
    rewritten = {Path(p).as_posix() for p in json.loads(json.dumps(third))["published"]}
    assert rewritten >= {named["IMG_0805.jpg"]}
    assert "Police line at dawn" in (out / "stories" / SLUG / "index.html").read_text()
    assert third["written"] <= 6  # the item page, the story, the index, the feed, the manifest…

    day_archive.withhold(named["IMG_0805.jpg"], "Moussa asked us to take it down")
    fourth = build(day_archive, out)
    assert named["IMG_0805.jpg"][:16] in fourth["unpublished"]
    assert not (out / "items" / f"{named['IMG_0805.jpg'][:16]}.html").exists()
    gone = [r for r in fourth["removed"] if r.startswith("media/")]
    assert gone and not any((out / r).exists() for r in gone)
    assert "Police line at dawn" not in (out / "stories" / SLUG / "index.html").read_text()


def test_publishing_is_in_the_custody_log(day_archive: Archive, tmp_path: Path) -> None:
    build(day_archive, tmp_path / "site")
    events = [e for e in day_archive.custody_log() if e["action"] == "published"]
    items = {e["item"] for e in events if e["item"]}
    named = ids(day_archive)
    assert {named["IMG_0805.jpg"], named["VID_1000.mp4"], named["diary.txt"]} <= items
    assert named["IMG_0930.jpg"] not in items
    summary = events[-1]
    assert summary["item"] is None and summary["detail"]["channel"] == "site"
    assert summary["detail"]["withheld"] == 2
    assert run_cli("-A", str(day_archive.root), "verify").code == 0


def test_story_commands(day_archive: Archive) -> None:
    root = str(day_archive.root)
    listed = run_cli("-A", root, "story", "ls", "--json").json()
    assert listed[0]["slug"] == SLUG and listed[0]["from"] == "2016-10-24T06:00:00+02:00"
    made = run_cli(
        "-A",
        root,
        "story",
        "new",
        "Dimanche à Grande-Synthe",
        "--from",
        "2016-10-23T08:00",
        "--to",
        "2016-10-23T20:00",
        "--json",
    )
    assert made.code == 0 and made.json()["slug"] == "dimanche-a-grande-synthe"
    again = run_cli(
        "-A",
        root,
        "story",
        "new",
        "Dimanche à Grande-Synthe",
        "--from",
        "2016-10-23T08:00",
        "--to",
        "2016-10-23T20:00",
    )
    assert again.code == 2 and "already exists" in again.err
    backwards = run_cli(
        "-A", root, "story", "new", "X", "--from", "2016-10-23T08:00", "--to", "2016-10-22T20:00"
    )
    assert backwards.code == 2 and "after --from" in backwards.err
    garbled = run_cli(
        "-A", root, "story", "new", "X", "--from", "yesterday", "--to", "2016-10-22T20:00"
    )
    assert garbled.code == 2 and "ISO 8601" in garbled.err
    assert any(e["action"] == "story-created" for e in day_archive.custody_log())


@pytest.mark.parametrize("command", [("publish", "site"), ("publish", "feed")])
def test_commands_have_help(command: tuple[str, str]) -> None:
    assert run_cli(*command, "--help").code == 0


def test_a_site_published_in_french(day_archive: Archive, tmp_path: Path) -> None:
    with open(day_archive.root / "temoin.toml", "a", encoding="utf-8") as config:
        config.write('language = "fr"\n')
    out = tmp_path / "site"
    build(day_archive, out)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in index
    assert "Comment nous soutenir" in index and "How to support us" not in index
    [story] = (out / "stories").glob("*/index.html")
    text = story.read_text(encoding="utf-8")
    assert '<html lang="fr">' in text and "lundi 24 octobre 2016" in text
    support = (out / "support.html").read_text(encoding="utf-8")
    assert "<h1>Soutenir</h1>" in support
    feed = (out / "feed.xml").read_text(encoding="utf-8")
    assert "Nouvelles et récits de Calais witnesses" in feed
    assert "2 photos, 1 vidéo, 7 entrées du journal." in feed  # counted with French plurals
    assert ": nouvelles de 18:00</title>" in feed
    pages = [p.read_text(encoding="utf-8") for p in (out / "items").glob("*.html")]
    assert pages and all("<dd>redressé, visages détectés, " in p for p in pages)  # the steps


def test_the_language_setting_is_checked(day_archive: Archive) -> None:
    with open(day_archive.root / "temoin.toml", "a", encoding="utf-8") as config:
        config.write('language = "de"\n')
    result = run_cli("-A", str(day_archive.root), "status")
    assert result.code == 2 and "'language'" in result.err and "en, fr" in result.err
