"""Find the counts a witness states ("1051 people left in buses", "40 bus sont alignés").

Counts are what the authorities and the press dispute after an eviction, so the record keeps every
number a witness wrote, next to the sentence it came from. The rule is conservative: a number is a
figure only when a counted noun follows it. Times, dates, years, durations, money, percentages,
ordinals and phone numbers are not counts, and a wrong count in a published timeline does more harm
than a missed one.

Counts written in words ("quarante bus", "two hundred people", "mille cinquante et une
personnes") are read by text2num, French first, then English. A lone "un", "une" or "one" is an
article or a way of speaking far more often than a count, so it never makes a figure on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from text_to_num import text2num

__all__ = ["Figure", "extract_figures"]


@dataclass
class Figure:
    """One stated count: the value, what was counted, and where it was said."""

    value: int
    what: str
    text: str
    span: tuple[int, int]
    approximate: bool = False


# Thousands written "1051", "1 051" (space, no-break or narrow no-break), "1,051" or "1.051".
_NUMBER = re.compile(
    r"(?<![\w:/.,+\-€$£#])(?P<num>\d{1,3}(?:(?P<sep>[ \u00a0\u202f,.])\d{3})(?:(?P=sep)\d{3})*|\d+)"
    r"(?![\w%€$£]|[.,:/\-]\d|[ \u00a0]?%)"
)
_WORD = re.compile(r"[^\W\d_](?:[\w'’\-]*[^\W_])?")
_GAP = re.compile(r"[ \t\u00a0\u202f]+|[ \t\u00a0\u202f]*\n[ \t\u00a0\u202f]*")
_PHONE = re.compile(r"(?:\+\d{1,3}[ .\-]?)?(?:\(?0\)?[ .\-]?)?\d{1,4}(?:[ .\-]\d{2,4}){3,}")
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
_APPROX_BEFORE = re.compile(
    r"(?:about|around|approximately|approx\.?|roughly|some|nearly|almost|over|more than|"
    r"at least|up to|environ|près de|pres de|presque|plus de|au moins|jusqu'à|~|±|c\.)\s*$",
    re.IGNORECASE,
)
_YEAR_BEFORE = re.compile(
    r"(?:\b(?:in|since|until|en|depuis|jusqu'en|année|year|summer|winter|spring|autumn|fall|"
    r"été|hiver|printemps|automne)|"
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|"
    r"décembre|decembre)\.?,?)\s*$",
    re.IGNORECASE,
)


# Number words text2num reads; a run of them, joined by spaces, hyphens, "et" or "and", is one
# number ("quatre-vingt-dix", "vingt et un", "three hundred and twelve").
_NUMBER_WORDS = {
    "fr": (
        "zéro zero un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze "
        "quinze seize vingt vingts trente quarante cinquante soixante septante huitante octante "
        "nonante cent cents mille million millions milliard milliards"
    ),
    "en": (
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
        "ninety hundred thousand million millions billion billions"
    ),
}


def _trie(words: Iterable[str]) -> str:
    """One regex for a word list, shared prefixes written once: Python tries an alternation's
    branches one by one at every position, and this runs over every message of every chat."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(char) + pattern(rest) for char, rest in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if ends else body

    return pattern(tree)


_ANY_NUMBER_WORD = _trie({w for words in _NUMBER_WORDS.values() for w in words.split()})
_WORD_RUN = re.compile(
    rf"(?<![\w'’\-])(?:{_ANY_NUMBER_WORD})"
    rf"(?:(?:[ \-]+(?:et|and)[ \-]+|[ \-]+)(?:{_ANY_NUMBER_WORD}))*(?![\w'’\-])",
    re.IGNORECASE,
)
_ARTICLES = frozenset(["un", "une", "one"])
# Words that can start a figure in words: a text holding none is passed over in one search.
_TELLING = re.compile(
    r"\b"
    + _trie({w for words in _NUMBER_WORDS.values() for w in words.split() if w not in _ARTICLES})
    + r"\b"
)
_PER_BEFORE = re.compile(r"\b(?:per|pour)\s*$", re.IGNORECASE)


def _wordset(words: str) -> frozenset[str]:
    """Word lists are kept as prose so they read and diff like vocabulary, not code."""
    return frozenset(words.split())


# Nouns that are counted in this field. A plural word outside this list still counts (see
# `_is_counted_noun`), but these also cover singulars ("1 bus") and abbreviations ("CRS").
_NOUNS = frozenset(
    [
        "people",
        "person",
        "persons",
        "individuals",
        "refugee",
        "refugees",
        "migrant",
        "migrants",
        "asylum-seekers",
        "exiles",
        "minor",
        "minors",
        "child",
        "children",
        "kid",
        "kids",
        "baby",
        "babies",
        "family",
        "families",
        "woman",
        "women",
        "man",
        "men",
        "boy",
        "boys",
        "girl",
        "girls",
        "adult",
        "adults",
        "teenager",
        "teenagers",
        "youth",
        "youths",
        "volunteer",
        "volunteers",
        "journalist",
        "journalists",
        "resident",
        "residents",
        "inhabitants",
        "bus",
        "buses",
        "coach",
        "coaches",
        "van",
        "vans",
        "truck",
        "trucks",
        "lorry",
        "lorries",
        "car",
        "cars",
        "vehicle",
        "vehicles",
        "bulldozer",
        "bulldozers",
        "digger",
        "diggers",
        "helicopter",
        "helicopters",
        "drone",
        "drones",
        "police",
        "officer",
        "officers",
        "policeman",
        "policemen",
        "cop",
        "cops",
        "riot",
        "gendarme",
        "gendarmes",
        "crs",
        "tent",
        "tents",
        "shelter",
        "shelters",
        "shack",
        "shacks",
        "hut",
        "huts",
        "caravan",
        "caravans",
        "container",
        "containers",
        "arrest",
        "arrests",
        "detention",
        "detentions",
        "injury",
        "injuries",
        "injured",
        "wounded",
        "dead",
        "death",
        "deaths",
        "personne",
        "personnes",
        "individu",
        "individus",
        "réfugié",
        "réfugiés",
        "refugie",
        "refugies",
        "migrant",
        "migrants",
        "exilé",
        "exilés",
        "exile",
        "exiles",
        "demandeurs",
        "mineur",
        "mineurs",
        "enfant",
        "enfants",
        "bébé",
        "bébés",
        "famille",
        "familles",
        "femme",
        "femmes",
        "homme",
        "hommes",
        "garçon",
        "garçons",
        "fille",
        "filles",
        "adulte",
        "adultes",
        "jeune",
        "jeunes",
        "bénévole",
        "bénévoles",
        "journaliste",
        "journalistes",
        "habitant",
        "habitants",
        "occupant",
        "occupants",
        "car",
        "cars",
        "camion",
        "camions",
        "camionnette",
        "camionnettes",
        "fourgon",
        "fourgons",
        "véhicule",
        "véhicules",
        "voiture",
        "voitures",
        "pelleteuse",
        "pelleteuses",
        "hélicoptère",
        "hélicoptères",
        "policier",
        "policiers",
        "agent",
        "agents",
        "gendarme",
        "gendarmes",
        "tente",
        "tentes",
        "abri",
        "abris",
        "cabane",
        "cabanes",
        "caravane",
        "caravanes",
        "conteneur",
        "conteneurs",
        "interpellation",
        "interpellations",
        "arrestation",
        "arrestations",
        "blessé",
        "blessés",
        "blessures",
        "mort",
        "morts",
        "pers",
    ]
)
# Words that follow a number without being what was counted: units of time (durations), money,
# months (dates), measures, and the function words that a plural-looking fallback would catch.
_NOT_NOUNS = frozenset(
    [
        "h",
        "hr",
        "hrs",
        "hour",
        "hours",
        "min",
        "mins",
        "minute",
        "minutes",
        "sec",
        "secs",
        "second",
        "seconds",
        "day",
        "days",
        "night",
        "nights",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "heure",
        "heures",
        "seconde",
        "secondes",
        "jour",
        "jours",
        "nuit",
        "nuits",
        "semaine",
        "semaines",
        "mois",
        "an",
        "ans",
        "année",
        "années",
        "fois",
        "times",
        "o'clock",
        "am",
        "pm",
        "euro",
        "euros",
        "eur",
        "cent",
        "cents",
        "centimes",
        "dollar",
        "dollars",
        "pound",
        "pounds",
        "livre",
        "livres",
        "balles",
        "k",
        "percent",
        "pourcent",
        "pour",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "janvier",
        "février",
        "fevrier",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "aout",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
        "decembre",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "lundi",
        "mardi",
        "mercredi",
        "jeudi",
        "vendredi",
        "samedi",
        "dimanche",
        "km",
        "kms",
        "m",
        "cm",
        "mm",
        "kg",
        "g",
        "l",
        "ml",
        "mètres",
        "metres",
        "meters",
        "kilomètres",
        "kilometres",
        "kilometers",
        "miles",
        "degrees",
        "degrés",
        "is",
        "was",
        "has",
        "us",
        "its",
        "this",
        "as",
        "yes",
        "plus",
        "moins",
        "dans",
        "sous",
        "vers",
        "sans",
        "chez",
        "après",
        "apres",
        "puis",
        "alors",
        "mais",
        "nous",
        "vous",
        "ils",
        "elles",
        "les",
        "des",
        "mes",
        "tes",
        "ses",
        "nos",
        "vos",
        "leurs",
        "tous",
        "toutes",
        "plusieurs",
        "parmi",
        "selon",
        "were",
        "are",
        "have",
        "had",
        "his",
        "hers",
        "ours",
        "yours",
        "theirs",
        "others",
        "those",
        "these",
        "whereas",
        "always",
        "perhaps",
        "mais",
        "donc",
        "depuis",
        "avons",
        "avez",
        "sont",
        "étaient",
        "sommes",
        "êtes",
    ]
)
_MODIFIERS_BLOCK = _NOT_NOUNS | frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "de",
        "of",
        "du",
        "d'",
        "la",
        "le",
        "un",
        "une",
        "et",
        "ou",
        "en",
        "à",
        "au",
        "aux",
        "sur",
        "par",
        "pour",
        "avec",
        "qui",
        "que",
        "who",
        "which",
        "that",
    ]
)


def _is_counted_noun(word: str) -> bool:
    low = word.lower()
    if low in _NOUNS:
        return True
    if low in _NOT_NOUNS or not word.isalpha():
        return False
    # An unknown plural ("25 pelleteuses", "3 barricades") is still a count of things.
    return len(low) >= 4 and low[-1] in "sx"


def _words_after(text: str, pos: int, limit: int = 3) -> list[tuple[str, int, int]]:
    """The next few words after `pos`, stopping at punctuation so a count never spans a clause."""
    words: list[tuple[str, int, int]] = []
    while len(words) < limit:
        gap = _GAP.match(text, pos)
        if gap is None or "\n" in gap.group():
            break  # the noun must follow on the same line
        pos = gap.end()
        m = _WORD.match(text, pos)
        if m is None:
            break
        words.append((m.group(), m.start(), m.end()))
        pos = m.end()
    return words


def _noun_phrase(text: str, pos: int) -> tuple[str, int] | None:
    """The counted noun phrase right after a number, with its end, or None if there is none."""
    words = _words_after(text, pos)
    if not words:
        return None
    first, start, end = words[0]
    low = first.lower()
    if low in ("de", "des", "of") and len(words) > 1:
        words = words[1:]
        if words[0][0].lower() == "the" and len(words) > 1:
            words = words[1:]
        first, _, end = words[0]
        return (first, end) if _is_counted_noun(first) else None
    if low.startswith(("d'", "d’")) and _is_counted_noun(first[2:]):
        return first[2:], end
    if _is_counted_noun(first):
        # "40 CRS vans", "3 police cars": a noun used as a modifier of the next noun.
        if len(words) > 1 and words[1][0].lower() in _NOUNS:
            return text[start : words[1][2]], words[1][2]
        return first, end
    if low in _MODIFIERS_BLOCK or not first.isalpha() or len(words) < 2:
        return None
    # "12 unaccompanied minors", "5 young men": one adjective before a known noun.
    second, _, second_end = words[1]
    if second.lower() in _NOUNS:
        return text[start:second_end], second_end
    return None


def _sentence(text: str, start: int, end: int) -> str:
    left = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        left = m.end()
    right_match = _SENTENCE_END.search(text, end)
    right = right_match.end() if right_match else len(text)
    return text[left:right].strip()


def extract_figures(text: str) -> list[Figure]:
    """Every stated count in `text`, in digits or in words, in order of appearance."""
    figures = _digit_figures(text)
    if _has_number_words(text):
        figures += _word_figures(text)
    figures.sort(key=lambda f: f.span)
    return figures


def may_hold_figures(text: str) -> bool:
    """A cheap first look: most messages hold neither a digit nor a number word."""
    return any(c.isdigit() for c in text) or _has_number_words(text)


def _has_number_words(text: str) -> bool:
    return _TELLING.search(text.lower()) is not None


def _figure(
    text: str, value: int, start: int, end: int, *, may_be_year: bool = True
) -> Figure | None:
    """The count a number at text[start:end] states, if a counted noun follows it."""
    before = text[max(0, start - 24) : start]
    if may_be_year and 1900 <= value <= 2100 and _YEAR_BEFORE.search(before):
        return None
    phrase = _noun_phrase(text, end)
    if phrase is None:
        return None
    what, phrase_end = phrase
    return Figure(
        value=value,
        what=what,
        text=_sentence(text, start, phrase_end),
        span=(start, phrase_end),
        approximate=_APPROX_BEFORE.search(before) is not None,
    )


def _word_figures(text: str) -> list[Figure]:
    """Counts in words. Casual speech is full of them ("deux secondes", "two words"), so a
    number in words counts only before a noun of the field's own list, never a guessed plural."""
    figures: list[Figure] = []
    for m in _WORD_RUN.finditer(text):
        if _PER_BEFORE.search(text, 0, m.start()):
            continue  # "per cent", "pour cent": a rate, not a count
        for value, start, end in _numbers_in_run(m.group(), m.start()):
            figure = _figure(text, value, start, end)
            if figure is None:
                continue
            said = figure.what.lower().split()
            if said[-1] in _NOUNS and not _WORD_RUN.fullmatch(said[0]):  # not "trois quatre bus"
                figures.append(figure)
    return figures


def _numbers_in_run(run: str, offset: int) -> list[tuple[int, int, int]]:
    """(value, start, end) of each number a run of number words holds, longest readings first:
    "two and three" is two numbers, "trois cent vingt" one. A lone article ("un", "une",
    "one") is none."""
    words = list(re.finditer(r"[^\W\d_]+", run))
    found: list[tuple[int, int, int]] = []
    first = 0
    while first < len(words):
        for last in range(len(words) - 1, first - 1, -1):
            part = run[words[first].start() : words[last].end()].lower()
            if words[last].group().lower() in ("et", "and") or (
                first == last and part in _ARTICLES
            ):
                continue
            value = _read_number(part)
            if value is not None:
                found.append((value, offset + words[first].start(), offset + words[last].end()))
                first = last + 1
                break
        else:
            first += 1
    return found


def _read_number(words: str) -> int | None:
    for language in ("fr", "en"):
        try:
            return int(text2num(words, language))
        except ValueError:
            continue
    return None


def _digit_figures(text: str) -> list[Figure]:
    phones = [m.span() for m in _PHONE.finditer(text) if sum(c.isdigit() for c in m.group()) >= 8]
    figures: list[Figure] = []
    for m in _NUMBER.finditer(text):
        start, end = m.span()
        if any(a <= start < b for a, b in phones):
            continue
        before = text[max(0, start - 24) : start]
        if before.rstrip().endswith(("€", "$", "£")) or re.search(r"\b[hH]\s*$", before):
            continue  # "€ 50"; "14 h 30" seen from the minutes
        raw = m.group("num")
        value = int(re.sub(r"\D", "", raw))
        if m["sep"] in (",", ".") and raw.count(m["sep"]) == 1 and value < 1000:
            continue  # "1,5" is a decimal, not a thousand
        figure = _figure(text, value, start, end, may_be_year=m["sep"] is None)
        if figure is not None:
            figures.append(figure)
    return figures
