"""The demo's last act: what a volunteer does at night before writing to supporters.

`temoin.demo` calls `publish_demo` after ingesting; each step is the verb a CLI command calls
(`redact`, `review ID --approve`, `story new`, `publish site`), printed as that command.
"""

from __future__ import annotations

from pathlib import Path

from temoin.archive import Archive

TITLE = "Calais, 24 October 2016"
APPROVED_KINDS = ("photo", "video", "audio", "text")  # a reviewer's yes; chat messages stay home


def publish_demo(archive_path: Path, out: Path | None = None) -> Path:
    """Redact, approve what a reviewer would, define the day's story and publish the site.

    The reviewer listens to each sound: the video's has no voice in it, and the voice note is
    Amina's own, who agreed to be heard. Chat messages are left unapproved, so the site's build
    lists them as withheld, with the gate's reasons.

    Returns the site's index.html.
    """
    site = out or archive_path.parent / "site"
    archive = Archive.open(archive_path)
    try:
        _say(f"temoin -A {archive_path} redact")
        archive.redact()
        _say(
            f"temoin -A {archive_path} people add Amina --consent yes --scope face,voice,name "
            '--how "asked before recording her voice note, 24/10"'
        )
        archive.add_person(
            "Amina",
            consent="yes",
            scope=["face", "voice", "name"],
            how="asked before recording her voice note, 24/10",
        )
        for record in archive.review_queue():
            short = record["id"][:12]
            if record["kind"] == "audio":
                _say(f"temoin -A {archive_path} review {short} --link-voice Amina")
                archive.link_voice(record["id"], "Amina")
            if record["kind"] in ("audio", "video"):
                _say(f"temoin -A {archive_path} review {short} --voices-checked")
                archive.set_voices_checked(record["id"], True)
            if record["kind"] in APPROVED_KINDS:
                _say(f"temoin -A {archive_path} review {short} --approve")
                archive.approve(record["id"])
        _say(
            f'temoin -A {archive_path} story new "{TITLE}" --from 2016-10-24T06:00 --to 2016-10-24T23:59'
        )
        archive.new_story(TITLE, "2016-10-24T06:00", "2016-10-24T23:59")
        _say(f"temoin -A {archive_path} publish site {site}")
        report = archive.publish_site(site)
    finally:
        archive.close()
    print(f"{len(report.withheld)} item(s) withheld by the gate (not approved)")
    print(f"\nThe demo story's site: {report.index.as_uri()}")
    return report.index


def _say(command: str) -> None:
    print(f"\n$ {command}", flush=True)
