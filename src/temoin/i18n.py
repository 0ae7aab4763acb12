"""Languages: the gettext catalogues under ``temoin/locale`` and what templates need to use them.

The French catalogue is kept as ``locale/fr/LC_MESSAGES/temoin.po`` only; it is compiled in memory
the first time it is needed, so no binary ``.mo`` file has to be built or committed. English is the
language the source is written in and needs no catalogue.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from io import BytesIO
from typing import Any

from babel.dates import format_date, format_time
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
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of ``language``; English (or an unknown language) translates nothing."""
    if language == DEFAULT or language not in LANGUAGES:
        return NullTranslations()
    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def translate(language: str, message: str, **variables: Any) -> str:
    """``message`` in ``language``, with ``%(name)s`` placeholders filled from ``variables``."""
    text = translations(language).ugettext(message)
    return text % variables if variables else text


def marked(message: str) -> str:
    """``message`` unchanged, marked for extraction: it is translated later, where it is shown."""
    return message


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
