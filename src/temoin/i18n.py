"""Languages: the gettext catalogues under ``temoin/locale`` and what templates need to use them.

The French catalogue is kept as ``locale/fr/LC_MESSAGES/temoin.po`` only; it is compiled in memory
the first time it is needed, so no binary ``.mo`` file has to be built or committed. English is the
language the source is written in and needs no catalogue.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from importlib import resources
from io import BytesIO
from typing import Any

from babel.core import Locale
from babel.dates import format_date, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

DOMAIN = "temoin"
LANGUAGES = ("en", "fr")
DEFAULT = "en"
NAMES = {"en": "English", "fr": "Français"}


def catalogue_path(language: str) -> Any:
    return resources.files("temoin").joinpath("locale", language, "LC_MESSAGES", f"{DOMAIN}.po")


@cache
def catalogue(language: str) -> Catalog:
    """The messages of ``language`` as read from its ``.po`` file."""
    with catalogue_path(language).open("rb") as po:
        return read_po(po, locale=language, domain=DOMAIN)


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of ``language``; English (or an unknown language) translates nothing."""
    if language == DEFAULT or language not in LANGUAGES:
        return NullTranslations()
    compiled = BytesIO()
    write_mo(compiled, catalogue(language))
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def translate(language: str, message: str, **variables: Any) -> str:
    """``message`` in ``language``, with ``%(name)s`` placeholders filled from ``variables``."""
    text = translations(language).ugettext(message)
    return text % variables if variables else text


def marked(message: str) -> str:
    """``message`` unchanged, marked for extraction: it is translated later, where it is shown."""
    return message


def marked_as(context: str, message: str) -> str:
    """``message`` unchanged, marked for extraction with a ``context`` (gettext's msgctxt): the
    same English word may need two French ones, "done" for a job and for a decision."""
    return message


def translate_as(language: str, context: str, message: str) -> str:
    """``message`` in ``language`` as the word it is in ``context``; unknown, it is left as is."""
    return translations(language).upgettext(context, message)


def plural_forms(language: str, singular: str, plural: str) -> dict[str, str]:
    """The forms of a plural message by CLDR category ("one", "many", "other"), for a script:
    ``Intl.PluralRules`` in the browser names the category of a number, this names its words."""
    rule = Locale.parse(language).plural_form
    gettext = translations(language).ungettext
    return {rule(n): gettext(singular, plural, n) for n in (1, 2, 0, 5, 21, 100, 1_000_000)}


# Counts ("1,048,576", or "?" when unknown) are numbers in messages; other values may be words.
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_NUMBERED = frozenset({"n", "count", "seconds"})
# Values that are themselves messages (a refusal's reason, a metadata problem); any other value
# (a reviewer's reason, a file name, a person's words) is shown as it was written.
_NESTED = frozenset({"why", "problem"})
# Values that are stored keys, shown as the word of that name (see `serve/labels.py`).
_LABELLED = frozenset({"kind", "status", "role"})


@cache
def _templates(language: str) -> list[tuple[str, re.Pattern[str], str]]:
    """The catalogue's messages with placeholders, as patterns that find them in English text,
    the most specific (longest fixed text) first; each with its longest fixed piece, to skip
    the patterns that cannot match at a glance."""
    found: list[tuple[int, str, re.Pattern[str], str]] = []
    for message in catalogue(language):
        if not isinstance(message.id, str) or message.context or not message.string:
            continue
        pieces = _PLACEHOLDER.split(message.id)
        if len(pieces) == 1 or message.fuzzy:
            continue
        pattern, seen = "", set()
        for n, piece in enumerate(pieces):
            if n % 2 == 0:
                pattern += re.escape(piece)
            elif piece in seen:
                pattern += f"(?P={piece})"
            else:
                seen.add(piece)
                value = r"-?\d[\d,.]*|\?" if piece in _NUMBERED else ".+?"
                pattern += f"(?P<{piece}>{value})"
        fixed = pieces[0::2]
        found.append((sum(map(len, fixed)), max(fixed, key=len), re.compile(pattern), message.id))
    found.sort(key=lambda entry: -entry[0])
    return [(longest, pattern, msgid) for _, longest, pattern, msgid in found]


def localise(language: str, text: str, depth: int = 2) -> str:
    """English ``text`` made by filling one of the catalogue's messages, in ``language``.

    Reasons and refusals are written in English where they happen, and kept so in the job
    results, the custody log and the CLI's output, which are records; a page translates them as
    it shows them, by finding the message they were made from and filling its translation with
    the same values (a nested reason translated too). Text made from no known message, and the
    values people wrote (a reviewer's reason, a file name), are shown as they are.
    """
    if language == DEFAULT or language not in LANGUAGES or not text:
        return text
    exact = translations(language).ugettext(text)
    if exact != text:
        return exact
    for longest, pattern, msgid in _templates(language):
        if longest not in text or not (match := pattern.fullmatch(text)):
            continue
        values = {
            name: _value(language, name, value, depth) for name, value in match.groupdict().items()
        }
        return translate(language, msgid, **values)
    return text


def best(accept_language: str) -> str:
    """The first of our languages in an ``Accept-Language`` header, by weight; else English."""
    choices: list[tuple[float, int, str]] = []
    for n, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and weight > 0:
            choices.append((-weight, n, primary))
    return min(choices)[2] if choices else DEFAULT


def long_day(moment: datetime | None, language: str = DEFAULT) -> str:
    """ "Monday 3 March 2025", "lundi 3 mars 2025": the day spelled out in ``language``."""
    if moment is None:
        return ""
    return format_date(moment, "EEEE d MMMM y", locale=language)


def short_time(moment: datetime, language: str = DEFAULT) -> str:
    """ "Mar 3, 2025 2:05 PM", "3 mars 2025 14:05": a day and a time as ``language`` writes them."""
    day = format_date(moment, "medium", locale=language)
    return f"{day} {format_time(moment, 'short', locale=language)}"


def _value(language: str, name: str, value: str, depth: int) -> str:
    if name in _LABELLED:
        return translate_as(language, name, value)
    return localise(language, value, depth - 1) if depth and name in _NESTED else value


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(context.get("lang", DEFAULT)).ugettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(context.get("lang", DEFAULT)).ungettext(singular, plural, n)


def install(env: Environment) -> None:
    """Give ``env`` the i18n extension; each render picks its language from its ``lang`` variable."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
