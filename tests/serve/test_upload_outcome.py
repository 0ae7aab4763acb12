"""What the upload page learns from the server: a phone's file time as a capture hint, and the
ingest's own verdict on each file (stored, already in the archive, refused with its reason).

Real files over real tus requests to the app in-process; the ingest jobs run on the app's own
worker threads.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tests.serve.conftest import csrf_of, wait_job

from temoin.archive import Archive
from temoin.catalog.models import User
from temoin.serve.uploads import UploadStore
from temoin.serve.users import account
from temoin.testing.photos import make_photo

TUS = {"Tus-Resumable": "1.0.0"}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _send(client: Any, path: Path, **meta: str) -> tuple[str, int]:
    """One whole file over tus, as upload.js sends it; returns its URL and ingest job."""
    csrf = csrf_of(client.get("/").text)
    data = path.read_bytes()
    fields = {"filename": path.name, **meta}
    made = client.post(
        "/tus/",
        headers={
            **TUS,
            "X-CSRF-Token": csrf,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": ",".join(f"{k} {_b64(v)}" for k, v in fields.items()),
        },
    )
    assert made.status_code == 201, made.text
    url = made.headers["location"]
    sent = client.patch(
        url,
        content=data,
        headers={
            **TUS,
            "X-CSRF-Token": csrf,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert sent.status_code == 204, sent.text
    return url, int(sent.headers["temoin-job"])


def _row(archive: Archive, name: str) -> dict[str, Any]:
    days = archive.timeline()["days"]
    rows = [i for d in days for m in d["moments"] for i in m["items"] if i["name"] == name]
    assert len(rows) == 1, rows
    return rows[0]


def _ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def test_a_phone_file_time_places_a_photo_without_exif(
    clients: Any, people_archive: Archive, tmp_path: Path
) -> None:
    bare = make_photo(tmp_path / "photo.jpg", seed=3)  # no time of its own, no time in its name
    stamped = make_photo(
        tmp_path / "camera.jpg", seed=4, taken=datetime(2016, 10, 24, 14, 31), offset="+02:00"
    )
    phone_time = datetime(2016, 10, 24, 13, 5, 7, tzinfo=UTC)
    amina = clients("amina")
    for path in (bare, stamped):
        _, job = _send(amina, path, lastModified=_ms(phone_time))
        assert wait_job(amina, job)["status"] == "done"
    placed = _row(people_archive, "photo.jpg")
    assert placed["time_source"] == "phone"
    assert placed["time"].startswith("2016-10-24T15:05:07")  # in the archive's zone, Paris
    assert 0.1 < placed["confidence"] < 0.8
    kept = _row(people_archive, "camera.jpg")
    assert kept["time_source"] == "exif+offset"
    assert kept["time"].startswith("2016-10-24T14:31")
    [item] = [i for i in people_archive.list_items(source="amina") if i["name"] == "photo.jpg"]
    assert item["capture_source"] == "phone:lastModified"  # kept as stated, and in custody
    report = people_archive.verify()
    assert report.ok, report.as_dict()


def test_a_file_time_that_cannot_be_real_is_no_hint(
    clients: Any, people_archive: Archive, tmp_path: Path
) -> None:
    bare = make_photo(tmp_path / "photo.jpg", seed=5)
    amina = clients("amina")
    _, job = _send(amina, bare, lastModified="0")  # a browser's "unknown"
    assert wait_job(amina, job)["status"] == "done"
    # nor is the moment it reached the server: the photo has no time until someone gives one
    [item] = [i for i in people_archive.list_items() if i["name"] == "photo.jpg"]
    assert item["time_utc"] is None and item["capture_source"] is None
    row = _row(people_archive, "photo.jpg")
    assert row["time_utc"] is None and not row.get("time_source")  # shown undated
    csrf = csrf_of(amina.get("/").text)
    bad = amina.post(
        "/tus/",
        headers={
            **TUS,
            "X-CSRF-Token": csrf,
            "Upload-Length": "10",
            "Upload-Metadata": f"lastModified {_b64('١٢')}",
        },
    )
    assert bad.status_code == 400 and "lastModified" in bad.text


def test_the_outcome_says_stored_already_there_or_refused(clients: Any, tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "IMG_1.jpg", seed=6)
    page = tmp_path / "IMG_2.jpg"
    page.write_text("<!doctype html><html><body>not a photo</body></html>", "utf-8")
    amina = clients("amina")
    outcomes = []
    for path in (photo, photo, page):
        _, job = _send(amina, path)
        wait_job(amina, job)
        answer = amina.get(f"/jobs/{job}/outcome.json")
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-store"
        outcomes.append(answer.json())
    assert [(o["state"], o["finished"]) for o in outcomes] == [
        ("stored", True),
        ("duplicate", True),
        ("refused", True),
    ]
    assert outcomes[0]["text"] == "stored"
    assert outcomes[1]["text"] == "already in the archive"
    refused = outcomes[2]["text"]
    assert refused.startswith("refused: ") and "\n" not in refused and len(refused) > 10
    # The outcome is its owner's (and editors'): another witness cannot tell the job exists.
    assert clients("bilal").get(f"/jobs/{job}/outcome.json").status_code == 404
    assert clients("eve").get(f"/jobs/{job}/outcome.json").json() == outcomes[2]
    assert clients().get(f"/jobs/{job}/outcome.json").status_code == 401
    # The text is in the page's language; the state, for scripts, is not.
    french = amina.get(f"/jobs/{job}/outcome.json", headers={"accept-language": "fr"}).json()
    assert french["state"] == "refused" and french["text"].startswith("refusé : ")


def test_a_finished_upload_url_answers_404_so_the_page_starts_afresh(
    clients: Any, tmp_path: Path
) -> None:
    """upload.js treats 404 (and 410) on a tus URL as "start a new upload", never as a dropped
    connection to retry: the server must answer so for an upload that is gone."""
    photo = make_photo(tmp_path / "IMG_3.jpg", seed=7)
    amina = clients("amina")
    url, job = _send(amina, photo)
    wait_job(amina, job)
    assert amina.head(url, headers=TUS).status_code == 404
    csrf = csrf_of(amina.get("/").text)
    again = amina.patch(
        url,
        content=b"x",
        headers={
            **TUS,
            "X-CSRF-Token": csrf,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert again.status_code == 404


def test_the_phone_time_survives_a_server_stopped_before_the_ingest(
    people_archive: Archive, clients: Any, tmp_path: Path
) -> None:
    """A finished upload left in the upload area is ingested at the next start with its hint."""
    with people_archive.session() as session:
        amina_id = session.scalar(select(User.id).where(User.name == "amina"))
    owner = account(people_archive, int(amina_id))
    assert owner is not None
    photo = make_photo(tmp_path / "photo.jpg", seed=8)
    store = UploadStore(people_archive.root, 5 * 1024 * 1024, 50, people_archive.ctx.sealer)
    left = store.create(owner, photo.stat().st_size, photo.name, datetime(2016, 10, 24, 9, 30))
    receiver = store.receiver(left)
    receiver.write(photo.read_bytes())
    receiver.close()
    store.finish(left)  # the bytes arrived; the server stopped before making the job
    amina = clients("amina")  # the app starts: it finds the upload and ingests it
    job = int(amina.get("/jobs").text.split('href="/jobs/')[1].split('"')[0])
    assert wait_job(amina, job)["status"] == "done"
    row = _row(people_archive, "photo.jpg")
    assert row["time_source"] == "phone" and row["time"].startswith("2016-10-24T11:30")
