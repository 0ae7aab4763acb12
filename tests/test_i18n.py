"""Languages: every template string has its French, and the language is chosen as documented."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from temoin import i18n

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
