"""A chat's own lines are `system` items, private like messages; a file the export did not bring
leaves its message with the export's placeholder and `attachment_missing`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import run_cli

from temoin.archive import Archive
from temoin.protect import gate
from temoin.publish import stories
from temoin.testing.chats import make_telegram_export, make_whatsapp_export
from temoin.testing.photos import make_photo

DAY = datetime(2016, 10, 24, 7, 0)

SYSTEM_LINES = {
    "en": [
        'Amina created group "Camp Nord"',
        "You were added",
        "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
        "WhatsApp, can read or listen to them. Tap to learn more.",
        "Amina changed the subject to Nord: 2",
        "Jonas left",
    ],
    "fr": [
        "Amina a créé le groupe « Camp Nord : 2 »",
        "Amina vous a ajouté",
        "Les messages et les appels sont chiffrés de bout en bout. Aucun tiers, pas même "
        "WhatsApp, ne peut les lire ou les écouter. Appuyez pour en savoir plus.",
        "Amina a changé le sujet de « Nord » en « Sud »",
        "Jonas est parti",
    ],
}


def _chat(language: str) -> list[tuple[object, ...]]:
    notices = [
        (DAY + timedelta(minutes=i), None, line) for i, line in enumerate(SYSTEM_LINES[language])
    ]
    said = "Police à la porte nord" if language == "fr" else "Police at the north gate"
    return [*notices, (DAY + timedelta(minutes=10), "Amina", said)]


@pytest.mark.parametrize("style", ["android", "ios"])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_system_lines_are_system_items(
    archive: Archive, tmp_path: Path, style: str, language: str
) -> None:
    export = make_whatsapp_export(
        tmp_path / "export.zip", style=style, messages=_chat(language), language=language,
        title="Camp Nord",
    )  # fmt: skip
    report = archive.ingest([export], source="Amina's phone")
    assert (report.messages, report.rejected) == (6, [])
    system = archive.list_items(kind="system")
    assert [s["text"] for s in system] == SYSTEM_LINES[language]
    # nobody's words: Android has no author; iOS speaks them in the group's name, never a person's
    assert {s["author"] for s in system} == ({""} if style == "android" else {"Camp Nord"})
    [message] = archive.list_items(kind="message")
    assert message["author"] == "Amina"
    [chat] = archive.list_items(kind="chat")
    assert chat["meta"]["participants"] == ["Amina"]
    assert archive.verify().ok  # the ingest digest covers system lines with their kind


def test_telegram_service_messages_are_system_items(archive: Archive, tmp_path: Path) -> None:
    sent = datetime(2016, 10, 24, 5, 0, tzinfo=UTC)
    export = make_telegram_export(
        tmp_path / "tg",
        messages=[(sent, None, "Jonas joined the group"), (sent, "Amina", "Police at the gate")],
    )
    archive.ingest([export.parent], source="Telegram")
    [notice] = archive.list_items(kind="system")
    assert (notice["text"], notice["author"]) == ("Jonas joined the group", "")
    assert [m["author"] for m in archive.list_items(kind="message")] == ["Amina"]
    assert archive.verify().ok


def test_system_lines_are_reviewed_and_gated_like_messages(
    archive: Archive, tmp_path: Path
) -> None:
    export = make_whatsapp_export(tmp_path / "export.zip", messages=_chat("en"))
    archive.ingest([export], source="Amina's phone")
    archive.new_story("Camp Nord", "2016-10-24T06:00", "2016-10-24T12:00")
    added = next(s for s in archive.list_items(kind="system") if s["text"] == "You were added")
    queued = {r["id"]: r for r in archive.review_queue()}
    assert queued[added["id"]]["kind"] == "system"
    assert queued[added["id"]]["text"] == "You were added"
    refused = gate.check(archive, added["id"])
    assert not refused.ok and refused.reasons == ["not approved by a person yet"]
    with archive.session() as session:
        session.info["archive_root"] = str(archive.root)
        view = stories.collect(
            session, stories.find(session, "camp-nord"), stories.Gatekeeper(session), "UTC"
        )
    assert added["id"] not in view.shown_items
    assert added["id"] in {w.item_id for w in view.withheld}
    archive.publish_site(tmp_path / "site")
    page = (tmp_path / "site" / "stories" / "camp-nord" / "index.html").read_text()
    assert "You were added" not in page

    archive.approve(added["id"][:12])
    assert gate.check(archive, added["id"]).ok
    with archive.session() as session:
        session.info["archive_root"] = str(archive.root)
        view = stories.collect(
            session, stories.find(session, "camp-nord"), stories.Gatekeeper(session), "UTC"
        )
    [row] = [r for r in view.rows if r.item_id == added["id"]]
    assert (row.kind, row.text) == ("system", "You were added")
    archive.publish_site(tmp_path / "site")
    page = (tmp_path / "site" / "stories" / "camp-nord" / "index.html").read_text()
    assert '<p class="chat-notice"><em>You were added</em></p>' in page
    assert "Jonas left" not in page  # the lines nobody approved stay home


@pytest.mark.parametrize(
    ("style", "language", "placeholder"),
    [
        ("android", "en", "IMG-20161024-WA0003.jpg (file attached)"),
        ("android", "fr", "IMG-20161024-WA0003.jpg (fichier joint)"),
        ("ios", "en", "<attached: IMG-20161024-WA0003.jpg>"),
    ],
)
def test_a_missing_attachment_keeps_its_placeholder(
    archive: Archive, tmp_path: Path, style: str, language: str, placeholder: str
) -> None:
    photo = make_photo(tmp_path / "src/p.jpg", seed=9).read_bytes()
    messages = [
        (DAY, "Amina", "", "IMG-20161024-WA0003.jpg"),  # not in the export
        (DAY + timedelta(minutes=1), "Amina", "the north gate", "IMG-20161024-WA0004.jpg"),
    ]
    export = make_whatsapp_export(
        tmp_path / "export.zip", style=style, language=language, messages=messages,
        attachments={"IMG-20161024-WA0004.jpg": photo},
    )  # fmt: skip
    archive.ingest([export], source="Amina's phone")
    missing, present = archive.list_items(kind="message")
    assert missing["text"] == placeholder
    assert missing["attachment_missing"] is True and "attachment" not in missing
    assert present["text"] == "the north gate" and present["attachment"]
    assert "attachment_missing" not in present

    shown = run_cli("-A", str(archive.root), "show", missing["id"][:12], "--json").json()
    assert shown["attachment_missing"] is True and shown["text"] == placeholder
    plain = run_cli("-A", str(archive.root), "show", missing["id"][:12])
    assert "attachment_missing" in plain.out and placeholder in plain.out
    days = run_cli("-A", str(archive.root), "timeline", "--json").json()["days"]
    rows = {r["id"]: r for d in days for m in d["moments"] for r in m["items"]}
    assert rows[missing["id"]]["attachment_missing"] is True
    assert rows[missing["id"]]["text"] == placeholder
    assert "attachment_missing" not in rows[present["id"]]
    assert archive.verify().ok


def test_the_file_arriving_later_clears_the_flag(archive: Archive, tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "src/p.jpg", seed=9).read_bytes()
    messages = [(DAY, "Amina", "gate", "IMG-20161024-WA0003.jpg")]
    bare = make_whatsapp_export(tmp_path / "bare", messages=messages)
    archive.ingest([bare], source="Amina's phone")
    [alone] = archive.list_items(kind="message")
    assert alone["attachment_missing"] is True
    assert alone["text"] == "IMG-20161024-WA0003.jpg (file attached)\ngate"
    whole = make_whatsapp_export(
        tmp_path / "whole", messages=messages, attachments={"IMG-20161024-WA0003.jpg": photo}
    )
    archive.ingest([whole.parent], source="Amina's phone")  # the same chat, with its photo
    [linked] = archive.list_items(kind="message")
    assert linked["text"] == "gate" and linked["attachment"]
    assert "attachment_missing" not in linked
