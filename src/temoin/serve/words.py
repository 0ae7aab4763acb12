"""What the page's scripts say, in the page's language, from the same catalogue as the templates.

The scripts under ``static/`` write their words as ``_("sent")`` and
``ngettext("%(n)s file", "%(n)s files", n)``, so that ``pybabel extract`` finds them like any
other message. Every page carries the dictionary of those words in its language as a JSON block
(``<script type="application/json" id="words">``) that the scripts read, so the page the service
worker keeps for offline use speaks the language it was fetched in, with no request of its own.

The list of words is read from the scripts themselves, once, when a page first needs it: a new
``_("…")`` in a script reaches the pages without a second list to keep in step.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.extract import extract, extract_javascript

from temoin import i18n

STATIC = Path(__file__).with_name("static")
KEYWORDS = {"_": None, "ngettext": (1, 2)}


def extract_script(
    fileobj: Any, keywords: Any, comment_tags: Collection[str], options: Any
) -> Iterator[tuple[int, str | tuple[str, ...], list[str], str | None]]:
    """Babel's extraction method for the scripts (named in ``babel.cfg``): only ``_`` and
    ``ngettext``, whatever keywords ``pybabel extract`` was given for Python, whose ``say`` would
    otherwise take ``line.say(_("sent"))`` for a message of its own and hide the one inside."""
    del keywords
    yield from extract_javascript(fileobj, KEYWORDS, comment_tags, options)


@cache
def script_messages() -> tuple[str | tuple[str, str], ...]:
    """Every message of every script under ``static/``: a text, or a (singular, plural) pair."""
    found: dict[str | tuple[str, str], None] = {}
    for script in sorted(STATIC.glob("*.js")):
        with script.open("rb") as source:
            for _line, message, _comments, _context in extract(
                extract_script, source, keywords=KEYWORDS
            ):
                if isinstance(message, tuple):
                    found[(str(message[0]), str(message[1]))] = None
                else:
                    found[str(message)] = None
    return tuple(found)


@cache
def script_words(language: str) -> dict[str, str | dict[str, str]]:
    """English message to its words in ``language``: a text, or a plural's forms by category."""
    words: dict[str, str | dict[str, str]] = {}
    for message in script_messages():
        if isinstance(message, tuple):
            words[message[0]] = i18n.plural_forms(language, *message)
        else:
            words[message] = i18n.translate(language, message)
    return words
