"""The demo's last act: what a volunteer does at night before writing to supporters.

`temoin.demo` calls `publish_demo` after ingesting; each step is the verb a CLI command calls
(`redact`, `review ID --approve`, `story new`, `publish site`), printed as that command.
"""

from __future__ import annotations

from pathlib import Path

from temoin.archive import Archive

TITLE = "Calais, 24 October 2016"
APPROVED_KINDS = ("photo", "video", "text")  # a reviewer's yes; voices and chats stay home


def publish_demo(archive_path: Path, out: Path | None = None) -> Path:
    """Redact, approve what a reviewer would, define the day's story and publish the site.

    Returns the site's index.html. Voice notes and chat messages are left unapproved, so the
    site's build lists them as withheld, with the gate's reasons.
    """
    site = out or archive_path.parent / "site"
    archive = Archive.open(archive_path)
    try:
        _say(f"temoin -A {archive_path} redact")
        archive.redact()
        for record in archive.review_queue():
            if record["kind"] in APPROVED_KINDS:
                _say(f"temoin -A {archive_path} review {record['id'][:12]} --approve")
                archive.approve(record["id"])
        _say(
            f'temoin -A {archive_path} story new "{TITLE}" --from 2016-10-24T06:00 --to 2016-10-24T23:59'
        )
        archive.new_story(TITLE, "2016-10-24T06:00", "2016-10-24T23:59")
        _say(f"temoin -A {archive_path} publish site {site}")
        report = archive.publish_site(site)
    finally:
        archive.close()
    print(f"{len(report.withheld)} item(s) withheld by the gate (not approved, or audio)")
    print(f"\nThe demo story's site: {report.index.as_uri()}")
    return report.index


def _say(command: str) -> None:
    print(f"\n$ {command}", flush=True)
