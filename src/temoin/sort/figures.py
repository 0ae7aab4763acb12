"""Find the counts a witness states ("1051 people left in buses", "40 bus sont alignés").

Counts are what the authorities and the press dispute after an eviction, so the record keeps every
number a witness wrote, next to the sentence it came from. The rule is conservative: a number is a
figure only when a counted noun follows it. Times, dates, years, durations, money, percentages,
ordinals and phone numbers are not counts, and a wrong count in a published timeline does more harm
than a missed one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    """Every stated count in `text`, in order of appearance."""
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
        if 1900 <= value <= 2100 and m["sep"] is None and _YEAR_BEFORE.search(before):
            continue
        phrase = _noun_phrase(text, end)
        if phrase is None:
            continue
        what, phrase_end = phrase
        figures.append(
            Figure(
                value=value,
                what=what,
                text=_sentence(text, start, phrase_end),
                span=(start, phrase_end),
                approximate=_APPROX_BEFORE.search(before) is not None,
            )
        )
    return figures
