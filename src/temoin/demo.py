"""`python -m temoin.demo FOLDER`: a day of field material, made here, run through the pipeline.

Everything is generated (or shipped by a dependency: scikit-image's public-domain astronaut photo
stands in for a face), so the demo needs no network and exposes nobody. It writes two phone dumps
with skewed clocks, a French diary, an English dispatch, a WhatsApp export with attachments and a
Telegram export, then runs every stage as a user would from the shell, and ends by publishing the
day's story as a static site.
"""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from temoin.archive import Archive
from temoin.kinds import SOUND, Kind
from temoin.testing.chats import make_telegram_export, make_whatsapp_export
from temoin.testing.diaries import ENGLISH_DIARY, FRENCH_DIARY
from temoin.testing.media import make_audio, make_video
from temoin.testing.photos import astronaut, make_photo

DAY = datetime(2016, 10, 24)
CAMP = (50.9665, 1.8867)  # the Calais "jungle", as public reporting placed it


def _photo_bytes(seed: int, taken: datetime) -> bytes:
    buffer = BytesIO()
    from temoin.testing.photos import make_exif, pattern

    pattern(1024, 768, seed=seed).save(buffer, "JPEG", quality=85, exif=make_exif(taken=taken))
    return buffer.getvalue()


def make_material(folder: Path) -> dict[str, Path]:
    amina, jules = folder / "amina-phone", folder / "jules-phone"
    for hour, minute, seed in ((7, 2, 1), (8, 0, 2), (9, 15, 3), (12, 5, 4), (14, 30, 5)):
        taken = DAY.replace(hour=hour, minute=minute, second=12)
        utc = taken - timedelta(hours=2)
        make_photo(
            amina / f"DCIM/Camera/IMG_{taken:%Y%m%d_%H%M%S}.jpg",
            size=(1024, 768),
            seed=seed,
            taken=taken,
            offset="+02:00",
            gps=CAMP,
            gps_time=utc,
            make="Fairphone",
            model="FP2",
        )
    make_photo(
        amina / "DCIM/Camera/IMG_20161024_101500.jpg",
        image=astronaut(),
        taken=DAY.replace(hour=10, minute=15),
        offset="+02:00",
    )
    make_video(
        amina / "DCIM/Camera/VID_20161024_081500.mp4",
        seconds=3.0,
        size=(640, 360),
        creation_time=datetime(2016, 10, 24, 6, 15, tzinfo=UTC),
        location="+50.9665+001.8867/",
    )
    make_audio(
        amina / "WhatsApp/Media/WhatsApp Voice Notes/PTT-20161024-WA0001.opus",
        seconds=2,
        tags={"date": "2016-10-24T09:12:00+02:00"},  # Amina recorded it at 9:12
    )
    (amina / "Notes").mkdir(parents=True, exist_ok=True)
    (amina / "Notes/journal-24-octobre.txt").write_text(FRENCH_DIARY, encoding="utf-8")

    # Jules's phone runs 3 min 20 s slow: his camera times are behind the GPS times.
    for hour, minute, seed in ((7, 40, 11), (14, 31, 12)):
        true_local = DAY.replace(hour=hour, minute=minute)
        make_photo(
            jules / f"DCIM/IMG_{true_local:%Y%m%d_%H%M}00.jpg",
            size=(1024, 768),
            seed=seed,
            taken=true_local - timedelta(minutes=3, seconds=20),
            gps=CAMP,
            gps_time=true_local - timedelta(hours=2),
            make="samsung",
            model="SM-G930F",
        )
    (jules / "diary.txt").parent.mkdir(parents=True, exist_ok=True)
    (jules / "diary.txt").write_text(ENGLISH_DIARY, encoding="utf-8")

    chat = make_whatsapp_export(
        folder / "WhatsApp Chat with Calais volunteers.zip",
        title="Calais volunteers",
        attachments={
            "IMG-20161024-WA0003.jpg": _photo_bytes(21, DAY.replace(hour=7, minute=7)),
            "VID-20161024-WA0004.mp4": (amina / "DCIM/Camera/VID_20161024_081500.mp4").read_bytes(),
        },
    )
    telegram = make_telegram_export(
        folder / "telegram-export",
        photos={
            "photo_1@24-10-2016_07-30-00.jpg": _photo_bytes(31, DAY.replace(hour=7, minute=30))
        },
    )
    return {"amina": amina, "jules": jules, "whatsapp": chat, "telegram": telegram.parent}


def run(folder: Path) -> int:
    from temoin.cli.main import main

    if folder.exists():
        shutil.rmtree(folder)
    material = make_material(folder / "material")
    archive = folder / "calais-2016"
    steps: list[list[str]] = [
        ["init", str(archive), "--name", "Calais, 24 October 2016", "--timezone", "Europe/Paris"],
        ["-A", str(archive), "ingest", str(material["amina"]), "--source", "Amina's phone"],
        ["-A", str(archive), "ingest", str(material["jules"]), "--source", "Jules's phone"],
        [
            "-A",
            str(archive),
            "ingest",
            str(material["whatsapp"]),
            str(material["telegram"]),
            "--source",
            "volunteers' chats",
        ],
        ["-A", str(archive), "status"],
        ["-A", str(archive), "ls"],
        ["-A", str(archive), "verify"],
        ["-A", str(archive), "clock", "--estimate", "--apply"],
        ["-A", str(archive), "timeline", "--day", "2016-10-24"],
        ["-A", str(archive), "search", "bus*"],
        ["-A", str(archive), "people", "add", "Man with the football", "--consent", "no",
         "--how", "said no, no please, at 10:15"],
    ]  # fmt: skip
    for step in steps:
        print(f"\n$ temoin {' '.join(_quote(a) for a in step)}", flush=True)
        code = main(step) or 0
        if code:
            print(f"demo: step failed with exit status {code}", file=sys.stderr)
            return int(code)
    index = publish_demo(archive, folder / "site")
    for step in (["-A", str(archive), "verify"], ["-A", str(archive), "audit"]):
        print(f"\n$ temoin {' '.join(_quote(a) for a in step)}", flush=True)
        code = main(step) or 0
        if code:
            print(f"demo: step failed with exit status {code}", file=sys.stderr)
            return int(code)
    print(f"\nThe demo archive is in {archive}; try `temoin -A {archive} show <id>`.")
    print(f"The demo story's site is published at {index.as_uri()}")
    return 0


# -- the last act: what a volunteer does at night before writing to supporters -------------------
# Each step is the verb a CLI command calls (`redact`, `review ID --approve`, `story new`,
# `publish site`), printed as that command.

TITLE = "Calais, 24 October 2016"
APPROVED_KINDS = (
    Kind.PHOTO,
    Kind.VIDEO,
    Kind.AUDIO,
    Kind.TEXT,
)  # a reviewer's yes; chats stay home


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
            if record["kind"] == Kind.AUDIO:
                _say(f"temoin -A {archive_path} review {short} --link-voice Amina")
                archive.link_voice(record["id"], "Amina")
            if record["kind"] in SOUND:
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
    assert report.index is not None  # a site build always names its front page
    print(f"{len(report.withheld)} item(s) withheld by the gate (not approved)")
    print(f"\nThe demo story's site: {report.index.as_uri()}")
    return report.index


def _say(command: str) -> None:
    print(f"\n$ {command}", flush=True)


def _quote(arg: str) -> str:
    return f'"{arg}"' if " " in arg or "'" in arg else arg


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1] if len(sys.argv) > 1 else "demo")))
