"""The words of a text as the search index holds them: Snowball stems, French and English.

Witnesses write in both languages, often in one chat ("40 bus alignés", "buses leaving"), and a
line is too short to tell its language reliably: "bus", "police", "camp" and "gate" are words of
both. So no language is guessed. Every word is stemmed by both Snowball stemmers (French and
English), and each of them sees the word as written and with its accents taken off; the index
keeps every distinct stem. A query word is stemmed the same way, and matches a text when any of
its stems is one of the text's. Stemming both ways widens a match only where Snowball itself
says two forms are one word in either language: "bus" finds "buses" (French takes the plural
off), "départ" finds "départs", "people" finds "peoples". No rule of our own is added.

Stemming the accent-free form as well is what makes accents not matter: Snowball's French reads
accents ("arrivées" and "arrivé" both give "arriv"), but "arrivees" typed on a phone without
them gives "arrive"; with both forms stemmed, either spelling meets the text's stems. The stems
are stored accent-free, as the full-text tokenizer would fold them anyway.

The stems are derived data like the rest of the search index: every rebuild of the sort tables
computes them again, so a newer Snowball never leaves old stems behind for long.

Words are split where SQLite's unicode61 tokenizer splits them (letters and digits; an
apostrophe, a hyphen or an underscore separates), so "l'école" holds "l" and "école", and
"people's" holds "people".
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence

import Stemmer  # type: ignore[import-not-found]  # PyStemmer ships no type hints

__all__ = ["query_stems", "shadow", "shadows", "words"]

LANGUAGES = ("french", "english")
_WORD = re.compile(r"[^\W_]+")
_local = threading.local()  # a Stemmer object must not be shared between threads


def words(text: str) -> list[str]:
    """The words of `text`, lower case, in order."""
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


def fold(word: str) -> str:
    """`word` without its accents ("départ" → "depart")."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def query_stems(word: str) -> list[str]:
    """The stems a query word (one of `words`) may meet in the index, one or a few."""
    return _table([word])[word].split(" ")


def shadow(text: str) -> str:
    """What the index stores for `text`: the stems of its words, space-separated, in order."""
    return shadows([text])[0]


def shadows(texts: Sequence[str]) -> list[str]:
    """`shadow` of many texts at once; each distinct word is stemmed once (fast in bulk)."""
    split = [words(t) for t in texts]
    table = _table({w for found in split for w in found})
    stems_of = table.__getitem__
    return [" ".join(map(stems_of, found)) for found in split]


def _table(vocabulary: Iterable[str]) -> dict[str, str]:
    """Each word's distinct stems, space-separated. A number is its own stem: Snowball's
    suffixes are letters, so it would give the digits back unchanged."""
    table = {}
    plain = []
    for word in vocabulary:
        if word.isdigit() and word.isascii():
            table[word] = word
        else:
            plain.append(word)
    folded = [fold(w) for w in plain]
    columns = []
    for stemmer in _stemmers():
        columns.append(stemmer.stemWords(plain))
        columns.append(stemmer.stemWords(folded))
    for n, word in enumerate(plain):
        table[word] = " ".join(dict.fromkeys(fold(column[n]) for column in columns))
    return table


def _stemmers() -> list[Stemmer.Stemmer]:
    stemmers: list[Stemmer.Stemmer] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = [Stemmer.Stemmer(language) for language in LANGUAGES]
        _local.stemmers = stemmers
    return stemmers
