"""The web app's pages in-process: a witness sends and writes, an editor reviews and publishes,
an admin adds accounts; every action lands in custody under the person's name."""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from tests.serve.conftest import PASSWORD, sign_in, token, wait_job

from temoin.archive import Archive
from temoin.serve.jobs import QUEUED, PoolRunner, create_job, get_job
from temoin.serve.writes import Writes
from temoin.testing.media import make_video
from temoin.testing.photos import astronaut, make_photo


def _send_form(client: Any, *paths: Path) -> Any:
    files = [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths]
    return client.post("/upload", data={"csrf": token(client)}, files=files)


def _actors(archive: Archive, action: str) -> set[str]:
    return {e["actor"] for e in archive.custody_log() if e["action"] == action}


def test_entry_is_on_the_timeline_at_once(clients: Any, people_archive: Archive) -> None:
    amina = clients("amina")
    posted = amina.post(
        "/entries",
        data={
            "csrf": token(amina),
            "day": "2016-10-24",
            "time": "14:30",
            "text": "1051 people left in buses",
        },
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith("/timeline#i")
    page = amina.get("/timeline").text
    assert "1051 people left in buses" in page
    assert re.search(r"<time>14:30</time>\s*<span class=\"entry\">1051 people", page)
    assert "2016-10-24" in page
    [item] = people_archive.list_items(source="amina")
    assert item["kind"] == "text"
    assert "amina" in _actors(people_archive, "ingested")
    assert "1051 people" not in clients("bilal").get("/timeline").text  # bilal sees his own only
    assert "1051 people" in clients("eve").get("/timeline").text


def test_form_upload_without_javascript(
    clients: Any, people_archive: Archive, tmp_path: Path
) -> None:
    amina = clients("amina")
    photo = make_photo(
        tmp_path / "IMG_0805.jpg", size=(400, 300), seed=2, taken=datetime(2016, 10, 24, 8, 5)
    )
    video = make_video(tmp_path / "VID_1000.mp4", seconds=1.0, size=(320, 180))
    posted = _send_form(amina, photo, video)
    assert posted.status_code == 303 and posted.headers["location"] == "/jobs"
    jobs = amina.get("/jobs").text
    for job_id in set(re.findall(r'href="/jobs/(\d+)"', jobs)):
        assert wait_job(amina, job_id)["status"] == "done"
    names = {i["name"]: i for i in people_archive.list_items(source="amina")}
    assert set(names) == {"IMG_0805.jpg", "VID_1000.mp4"}
    assert names["VID_1000.mp4"]["kind"] == "video"
    home = amina.get("/").text
    assert "IMG_0805.jpg" in home and "VID_1000.mp4" in home
    assert not list((people_archive.root / "uploads").rglob("*.jpg"))  # ingested, then removed
    rejected = _send_form(amina, _text(tmp_path / "empty.jpg", b"not a jpeg at all"))
    assert rejected.status_code == 303
    job = wait_job(amina, rejected.headers["location"].rsplit("/", 1)[1])
    assert job["result"]["rejected"], "a file that is not what it claims is refused as at the CLI"


def _text(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_editor_reviews_links_boxes_approves_and_publishes(
    clients: Any, people_archive: Archive, tmp_path: Path
) -> None:
    amina, eve = clients("amina"), clients("eve")
    face = make_photo(
        tmp_path / "IMG_0900.jpg", image=astronaut(), taken=datetime(2016, 10, 24, 9, 0)
    )
    plain = make_photo(
        tmp_path / "IMG_0930.jpg", size=(400, 300), seed=7, taken=datetime(2016, 10, 24, 9, 30)
    )
    _send_form(amina, face, plain)
    for job_id in set(re.findall(r'href="/jobs/(\d+)"', amina.get("/jobs").text)):
        wait_job(amina, job_id)
    redact = eve.post("/publish/redact", data={"csrf": token(eve)})
    assert wait_job(eve, redact.headers["location"].split("/")[2].split("?")[0])["status"] == "done"
    ids = {i["name"]: i["id"] for i in people_archive.list_items()}
    queue = eve.get("/review").text
    sha = people_archive.review_item(ids["IMG_0900.jpg"])["derivative"]["sha256"]
    assert f"/items/{ids['IMG_0900.jpg']}/preview/{sha}-320.jpg?boxes=1" in queue
    boxed = eve.get(f"/items/{ids['IMG_0900.jpg']}/preview.jpg?boxes=1").content
    unboxed = amina.get(f"/items/{ids['IMG_0900.jpg']}/preview.jpg?boxes=1").content  # no boxes
    assert boxed != unboxed
    page = eve.get(f"/review/{ids['IMG_0900.jpg']}").text
    assert '<option value="1">1</option>' in page
    # the consent register, then a link to face 1
    added = eve.post(
        "/people",
        data={
            "csrf": token(eve),
            "name": "Sam",
            "consent": "yes",
            "scope": ["face"],
            "how": "form",
        },
    )
    assert wait_job(eve, added.headers["location"].split("/")[2].split("?")[0])["status"] == "done"
    linked = eve.post(
        f"/review/{ids['IMG_0900.jpg']}/link",
        data={"csrf": token(eve), "face": "1", "person": "Sam"},
    )
    job = wait_job(eve, linked.headers["location"].split("/")[2].split("?")[0])
    assert job["status"] == "done", job["message"]
    boxed_again = eve.post(
        f"/review/{ids['IMG_0930.jpg']}/box",
        data={"csrf": token(eve), "x": "0.1", "y": "0.1", "w": "0.2", "h": "0.2"},
    )
    job = wait_job(eve, boxed_again.headers["location"].split("/")[2].split("?")[0])
    assert job["status"] == "done", job["message"]
    bad = eve.post(
        f"/review/{ids['IMG_0930.jpg']}/box",
        data={"csrf": token(eve), "x": "2", "y": "0", "w": "1", "h": "1"},
    )
    assert bad.status_code == 400
    for name in ("IMG_0900.jpg", "IMG_0930.jpg"):
        seen = people_archive.review_item(ids[name])["derivative"]["sha256"]
        form = {"csrf": token(eve), "derivative": seen}
        assert eve.post(f"/review/{ids[name]}/approve", data=form).status_code == 303
    assert "Nothing waits for review" in eve.get("/review").text
    withheld = eve.post(
        f"/review/{ids['IMG_0930.jpg']}/withhold",
        data={"csrf": token(eve), "reason": "shows a child"},
    )
    assert withheld.status_code == 303
    assert (
        eve.post(
            "/publish/stories",
            data={
                "csrf": token(eve),
                "title": "Calais",
                "start": "2016-10-24T06:00",
                "end": "2016-10-24T20:00",
            },
        ).status_code
        == 303
    )
    assert "1 item(s) pass the gate" in eve.get("/publish").text
    published = eve.post("/publish/site", data={"csrf": token(eve)})
    job = wait_job(eve, published.headers["location"].split("/")[2].split("?")[0], timeout=120)
    assert job["status"] == "done", job["message"]
    assert (people_archive.root / "site" / "index.html").is_file()
    assert "eve" in _actors(people_archive, "reviewed")
    assert "eve" in _actors(people_archive, "published")
    assert "eve" in _actors(people_archive, "story-created")
    assert "eve" in _actors(people_archive, "consent")
    site = b"".join(
        p.read_bytes() for p in (people_archive.root / "site").rglob("*") if p.is_file()
    )
    assert face.read_bytes()[:4096] not in site  # the original never reaches the site


def test_admin_adds_accounts_in_custody(clients: Any, people_archive: Archive) -> None:
    root = clients("root")
    short = root.post(
        "/users",
        data={"csrf": token(root), "name": "chloe", "role": "witness", "password": "short"},
    )
    assert short.status_code == 400
    added = root.post(
        "/users",
        data={"csrf": token(root), "name": "chloe", "role": "witness", "password": PASSWORD},
    )
    assert added.status_code == 303
    assert clients("chloe").get("/").status_code == 200
    root.post(
        "/users/change",
        data={"csrf": token(root), "name": "chloe", "action": "role", "role": "editor"},
    )
    assert clients("chloe").get("/review").status_code == 200
    new = {"csrf": token(root), "name": "chloe", "action": "password", "password": "a new long one"}
    assert root.post("/users/change", data=new).status_code == 303
    assert sign_in(clients(), "chloe").status_code == 401
    assert sign_in(clients(), "chloe", "a new long one").status_code == 303
    root.post("/users/change", data={"csrf": token(root), "name": "chloe", "action": "disable"})
    assert clients("chloe").get("/").status_code == 401
    events = [e for e in people_archive.custody_log() if e["action"] == "account"]
    changes = [(e["actor"], e["detail"]["name"], e["detail"]["change"]) for e in events]
    assert ("root", "chloe", "added") in changes and ("root", "chloe", "disabled") in changes
    assert ("root", "chloe", "password") in changes
    assert all("password_hash" not in str(e["detail"]) for e in events)


def test_user_commands(cli: Any, people_archive: Archive, monkeypatch: Any) -> None:
    root = str(people_archive.root)
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    added = cli("-A", root, "user", "add", "dora", "--role", "editor", "--password-stdin")
    assert added.code == 0, added.err
    listed = cli("-A", root, "user", "ls", "--json")
    assert {"name": "dora", "role": "editor"}.items() <= next(
        u for u in listed.json() if u["name"] == "dora"
    ).items()
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    again = cli("-A", root, "user", "add", "dora", "--role", "witness", "--password-stdin")
    assert again.code == 3 and "already exists" in again.err


def test_jobs_left_by_a_stopped_server_run_again(people_archive: Archive, tmp_path: Path) -> None:
    photo = make_photo(
        people_archive.root / "uploads" / "x" / "files" / "IMG_1.jpg", size=(200, 100)
    )
    args = {
        "paths": [photo.relative_to(people_archive.root).as_posix()],
        "source": "amina",
        "cleanup": ["uploads/x"],
    }
    job_id = create_job(people_archive, "ingest", args, "amina")
    assert get_job(people_archive, job_id)["status"] == QUEUED
    runner = PoolRunner(people_archive, Writes(), workers=1)
    assert runner.resume() == [job_id]
    runner.close()
    assert get_job(people_archive, job_id)["status"] == "done"
    assert not (people_archive.root / "uploads" / "x").exists()


def test_job_paths_cannot_leave_the_archive(people_archive: Archive, tmp_path: Path) -> None:
    outside = make_photo(tmp_path / "outside.jpg", size=(50, 50))
    job_id = create_job(people_archive, "ingest", {"paths": [str(outside)], "source": "x"}, "x")
    runner = PoolRunner(people_archive, Writes(), workers=1)
    runner.resume()
    runner.close()
    job = get_job(people_archive, job_id)
    assert job["status"] == "failed" and "outside the archive" in job["message"]


def test_editor_links_a_face_track_and_accounts_for_voices(
    clients: Any, people_archive: Archive, tmp_path: Path
) -> None:
    from skimage import data

    from temoin.testing.footage import Key, Shot, write_clip
    from temoin.testing.media import make_audio

    amina, eve = clients("amina"), clients("eve")
    both = np.concatenate([data.astronaut(), data.astronaut()[:, ::-1]], axis=1)
    clip = write_clip(
        tmp_path / "VID_0910.mp4", [Shot(both, 1.0, [Key(0, 512, 256, 512)])], size=(640, 320)
    )
    note = make_audio(tmp_path / "PTT-0915.m4a", seconds=1.0)
    _send_form(amina, clip, note)
    for job_id in set(re.findall(r'href="/jobs/(\d+)"', amina.get("/jobs").text)):
        wait_job(amina, job_id)
    redact = eve.post("/publish/redact", data={"csrf": token(eve)})
    assert wait_job(eve, redact.headers["location"].split("/")[2].split("?")[0])["status"] == "done"
    ids = {i["name"]: i["id"] for i in people_archive.list_items()}
    people_archive.add_person("Sam", consent="yes", scope=["face", "voice"], how="form")

    video = ids["VID_0910.mp4"]
    page = eve.get(f"/review/{video}").text
    assert "Face tracks" in page and '<option value="1">T1</option>' in page
    sha = people_archive.review_item(video)["derivative"]["sha256"]
    assert f"/items/{video}/derivative/{sha}" in page  # the player shows this very rendering
    assert eve.get(f"/items/{video}/derivative/{sha}").headers["content-type"] == "video/mp4"
    assert eve.get(f"/items/{video}/derivative/{'0' * 64}").status_code == 404
    assert amina.get(f"/items/{video}/derivative/{sha}").status_code == 403  # editors only
    assert f'name="derivative" value="{sha}"' in page  # the form says what the editor saw
    form = {"csrf": token(eve), "track": "1", "person": "Sam", "derivative": sha}
    linked = eve.post(f"/review/{video}/track", data=form)
    job = wait_job(eve, linked.headers["location"].split("/")[2].split("?")[0])
    assert job["status"] == "done", job["message"]
    tracks = people_archive.review_item(video)["detections"]["tracks"]
    assert [t["visible"] for t in tracks] == [True, False]
    assert "visible (Sam)" in eve.get(f"/review/{video}").text  # a name, not a number
    assert eve.get(f"/items/{video}/derivative/{sha}").status_code == 404  # rendered again
    form = {"csrf": token(eve), "track": "2", "person": "Sam", "derivative": sha}
    stale = eve.post(f"/review/{video}/track", data=form)  # a page left open: an old rendering
    job = wait_job(eve, stale.headers["location"].split("/")[2].split("?")[0])
    assert job["status"] == "failed" and "rendered again since you looked" in job["message"]

    voice = ids["PTT-0915.m4a"]
    page = eve.get(f"/review/{voice}").text
    assert "<audio controls" in page and "I listened: every voice is linked" in page
    assert eve.get(f"/items/{voice}/preview.jpg").status_code == 404  # no picture of a sound
    for form in ({"person": "Sam", "action": "link"}, {"action": "checked"}):
        done = eve.post(f"/review/{voice}/voice", data={"csrf": token(eve), **form})
        assert done.status_code == 303
    seen = people_archive.review_item(voice)["derivative"]["sha256"]
    form = {"csrf": token(eve), "derivative": seen}
    assert eve.post(f"/review/{voice}/approve", data=form).status_code == 303
    assert people_archive.gate(voice).ok
    assert "eve" in _actors(people_archive, "reviewed")


def test_review_routes_refuse_what_was_not_shown_and_lead_nowhere_else(
    clients: Any, people_archive: Archive, tmp_path: Path
) -> None:
    amina, eve = clients("amina"), clients("eve")
    photo = make_photo(tmp_path / "IMG_0800.jpg", image=astronaut(), taken=datetime(2016, 10, 24))
    _send_form(amina, photo)
    for job_id in set(re.findall(r'href="/jobs/(\d+)"', amina.get("/jobs").text)):
        wait_job(amina, job_id)
    people_archive.redact()
    (item,) = [i["id"] for i in people_archive.list_items()]
    sha = people_archive.review_item(item)["derivative"]["sha256"]
    blind = eve.post(f"/review/{item}/approve", data={"csrf": token(eve)})
    assert blind.status_code == 400  # a photo is approved from the page that shows it
    away = eve.post(
        f"/review/{item}/approve",
        data={"csrf": token(eve), "derivative": sha, "next": "https://elsewhere.example/"},
    )
    location = away.headers["location"]
    assert away.status_code == 303 and location.split("?")[0] == "/review"  # never elsewhere
    assert "elsewhere" not in location and "said=approved" in location
    assert amina.get(f"/items/{item}").text.count("Approved, not published yet") == 1
    eve.post(f"/review/{item}/withhold", data={"csrf": token(eve), "reason": "shows a child"})
    withheld = amina.get(f"/items/{item}").text
    assert "Withheld." in withheld, withheld[-800:]
    assert "shows a child" not in withheld  # editors words only
    assert "shows a child" in eve.get(f"/items/{item}").text
    assert amina.get(f"/items/{item}/strip/{sha}-{'0' * 12}/000000.jpg").status_code == 403
    for path in (
        "/site/../catalog.sqlite",
        "/site/%2e%2e/temoin.toml",
        "/site/%00",
        "/site/.temoin-manifest.json",
    ):
        assert eve.get(path).status_code == 404, path


def test_pages_answer_in_the_browser_language(clients: Any) -> None:
    anonymous = clients()
    french = anonymous.get("/login", headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.text
    assert "<h1>Se connecter</h1>" in french.text and "Mot de passe" in french.text
    english = anonymous.get("/login", headers={"accept-language": "en-GB,en"})
    assert '<html lang="en">' in english.text and "<h1>Sign in</h1>" in english.text
    amina = clients("amina")
    home = amina.get("/", headers={"accept-language": "fr"}).text
    assert '<html lang="fr">' in home
    assert "Envoyer des photos et des vidéos" in home and "Lettre aux soutiens" in home
    assert "Send photos and videos" not in home
    words = json.loads(
        re.search(r'<script type="application/json" id="words">(.*?)</script>', home).group(1)
    )
    assert words["connection lost, retrying…"] == "connexion perdue, nouvelle tentative…"
    assert (
        "%(max)s"
        in words["too large: this server takes files up to %(max)s, and this one is %(size)s"]
    )


def test_the_language_switch_is_remembered(clients: Any) -> None:
    amina = clients("amina")
    home = amina.get("/", headers={"accept-language": "en"}).text
    assert 'href="/language/fr?next=/"' in home  # the switch is on the page
    switched = amina.get("/language/fr", params={"next": "/timeline"})
    assert switched.status_code == 303 and switched.headers["location"] == "/timeline"
    timeline = amina.get("/timeline", headers={"accept-language": "en"}).text
    assert '<html lang="fr">' in timeline and "<h1>Chronologie</h1>" in timeline
    assert 'href="/language/en?next=/timeline"' in timeline
    amina.get("/language/en")
    assert "<h1>Timeline</h1>" in amina.get("/timeline", headers={"accept-language": "fr"}).text
    # Only a path on this site is followed back; an unknown language changes nothing.
    assert amina.get("/language/fr", params={"next": "//evil.example"}).headers["location"] == "/"
    amina.get("/language/en")
    amina.get("/language/xx")
    assert "<h1>Timeline</h1>" in amina.get("/timeline").text


def test_the_switch_works_before_signing_in(clients: Any) -> None:
    anonymous = clients()
    switched = anonymous.get("/language/fr", params={"next": "/login"})
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    assert "<h1>Se connecter</h1>" in anonymous.get("/login").text
