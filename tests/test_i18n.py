"""Languages: every template string has its French, and the language is chosen as documented."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from babel.core import Locale
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from temoin import i18n
from temoin.collect.readers.base import AUDIO, CHAT, MESSAGE, PHOTO, TEXT, VIDEO
from temoin.protect.consent import CONSENTS
from temoin.serve import labels, words
from temoin.serve.jobs import DONE, FAILED, JOBS, QUEUED, RUNNING
from temoin.serve.routes.review import STATUSES
from temoin.serve.users import ROLES

SRC = Path(i18n.__file__).parent


def _template_msgids() -> set[str]:
    found: set[str] = set()
    for package in ("serve", "publish"):
        method_map = [("**.html", "jinja2"), ("**.txt", "jinja2")]
        options = {"**.html": {"trimmed": "true"}, "**.txt": {"trimmed": "true"}}
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(SRC / package / "templates"), method_map, options
        ):
            found.update([message] if isinstance(message, str) else message[:1])
    return found


def test_every_template_string_has_a_french_translation() -> None:
    with i18n.catalogue_path("fr").open("rb") as po:
        catalog = read_po(po, locale="fr")
    msgids = _template_msgids()
    assert len(msgids) > 150  # the extraction found the templates' strings
    untranslated = []
    for msgid in sorted(msgids):
        message = catalog.get(msgid) or next(
            (m for m in catalog if m.id and m.id[0] == msgid), None
        )
        strings = [] if message is None else message.string
        strings = [strings] if isinstance(strings, str) else list(strings)
        if message is None or not all(strings) or message.fuzzy:
            untranslated.append(msgid)
    assert not untranslated, f"no French for: {untranslated}"


def test_french_keeps_the_placeholders() -> None:
    with i18n.catalogue_path("fr").open("rb") as po:
        catalog = read_po(po, locale="fr")
    problems = [(m.id, errors) for m, errors in catalog.check() if errors]
    assert not problems


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("en-GB,en;q=0.9,fr;q=0.8", "en"),
        ("de-DE,de;q=0.9,fr;q=0.5", "fr"),
        ("de", "en"),
        ("", "en"),
        ("fr;q=0, en", "en"),
        ("en;q=0.3, fr;q=0.7", "fr"),
    ],
)
def test_accept_language(header: str, chosen: str) -> None:
    assert i18n.best(header) == chosen


def test_dates_are_spelled_in_the_language() -> None:
    moment = datetime(2016, 10, 24, 14, 30)
    assert i18n.long_day(moment, "en") == "Monday 24 October 2016"
    assert i18n.long_day(moment, "fr") == "lundi 24 octobre 2016"
    assert i18n.short_time(moment, "fr") == "24 oct. 2016 14:30"


def _french(msgid: str | tuple[str, str], context: str | None = None) -> bool:
    """Whether the French catalogue has every form of ``msgid`` (in ``context``), not fuzzy."""
    key = msgid if isinstance(msgid, str) else msgid[0]
    message = i18n.catalogue("fr").get(key, context=context)
    if message is None or message.fuzzy:
        return False
    strings = message.string
    return all(strings) if isinstance(strings, tuple) else bool(strings)


def test_every_script_string_has_a_french_translation() -> None:
    """The words of ``static/*.js``, as the pages hand them to the scripts."""
    messages = words.script_messages()
    assert "sent, storing…" in messages  # the extraction found upload.js
    assert ("%(n)s file", "%(n)s files") in messages  # and queue.js's plurals
    untranslated = [m for m in messages if not _french(m)]
    assert not untranslated, f"no French for: {untranslated}"


def test_every_message_marked_in_python_has_a_french_translation() -> None:
    """Reasons, refusals and errors are written in English where they happen and translated where
    a page shows them: each needs its French, or the page would fall back to English."""
    keywords = {
        **DEFAULT_KEYWORDS,
        "translate": (2,),
        "say": (2,),
        "marked": None,
        "marked_as": ((1, "c"), 2),
    }
    found, untranslated = set(), []
    for package in ("serve", "protect", "publish", "collect"):
        for _file, _line, message, _comments, context in extract_from_dir(
            str(SRC / package), [("**.py", "python")], keywords=keywords
        ):
            found.add(message)
            if not _french(message, context):
                untranslated.append((context, message))
    assert {"face %(n)s is visible and not linked to anyone", "no such item"} <= found
    assert not untranslated, f"no French for: {untranslated}"


def test_every_stored_value_a_page_shows_has_its_word() -> None:
    """Each table of `serve.labels` covers every value the code can store, each in French."""
    stored = {
        "kind": {PHOTO, VIDEO, AUDIO, TEXT, CHAT, MESSAGE, "entry", "dispatch"},
        "status": set(STATUSES),
        "role": set(ROLES),
        "consent": set(CONSENTS),
        "job": set(JOBS),
        "state": {QUEUED, RUNNING, DONE, FAILED},
    }
    for table, values in stored.items():
        assert values <= set(labels.LABELS[table]), (table, values - set(labels.LABELS[table]))
    missing = [
        (table, value)
        for table, values in labels.LABELS.items()
        for value in values
        if not _french(value, table)
    ]
    assert not missing, f"no French for: {missing}"
    assert labels.label("fr", "audio", "kind") == "message vocal"
    assert labels.label("fr", "withheld", "status") == "retenu"
    assert labels.label("fr", "done", "state") == "terminée"  # a job, not a decision
    assert labels.label("en", "audio", "kind") == "audio"  # the key is the English word
    assert labels.label("fr", "a new kind", "kind") == "a new kind"  # unknown: shown as it is


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("not approved by a person yet", "pas encore approuvé par une personne"),
        (
            "face 3 is visible and not linked to anyone",
            "le visage 3 est visible et relié à personne",
        ),
        (
            "refused: markup (HTML/XML) content named .jpg",
            "refusé : contenu balisé (HTML/XML) nommé .jpg",
        ),
        (
            "larger than the limit of 5,242,880 bytes",
            "plus grand que la limite de 5,242,880 octets",
        ),
        ("this needs the editor role", "il faut le rôle éditeur·ice"),  # a stored key, as a word
        # A reviewer's own words are theirs: only the message around them is translated.
        ("withheld: shows a child", "retenu : shows a child"),
        ("IMG_0001.jpg", "IMG_0001.jpg"),
    ],
)
def test_english_reasons_are_shown_in_french(english: str, french: str) -> None:
    assert i18n.localise("fr", english) == french
    assert i18n.localise("en", english) == english


def test_plural_forms_for_scripts_follow_each_language() -> None:
    french = i18n.plural_forms("fr", "%(n)s file", "%(n)s files")
    assert french["one"] == "%(n)s fichier" and french["other"] == "%(n)s fichiers"
    assert Locale.parse("fr").plural_form(0) == "one"  # « 0 fichier », as French says it
    english = i18n.plural_forms("en", "%(n)s file", "%(n)s files")
    assert english == {"one": "%(n)s file", "other": "%(n)s files"}
