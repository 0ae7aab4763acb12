"""Stated counts: what is a count, and the many numbers in a note that are not."""

from __future__ import annotations

import pytest

from temoin.sort.figures import Figure, extract_figures
from temoin.testing.diaries import ENGLISH_DIARY, FRENCH_DIARY


@pytest.mark.parametrize(
    ("text", "value", "what"),
    [
        ("1051 people left in buses", 1051, "people"),
        ("40 bus sont alignés", 40, "bus"),
        ("614 people have left", 614, "people"),
        ("about 300 minors", 300, "minors"),
        ("1 051 personnes", 1051, "personnes"),
        ("1\u00a0051 personnes", 1051, "personnes"),
        ("1\u202f051 personnes", 1051, "personnes"),
        ("1,051 people", 1051, "people"),
        ("1.051 personnes", 1051, "personnes"),
        ("12 000 personnes", 12000, "personnes"),
        ("40 CRS vans", 40, "CRS vans"),
        ("3 police officers", 3, "police officers"),
        ("12 unaccompanied minors", 12, "unaccompanied minors"),
        ("5 young men arrived", 5, "young men"),
        ("150 of the migrants", 150, "migrants"),
        ("3 des tentes", 3, "tentes"),
        ("300 d'enfants", 300, "enfants"),
        ("25 pelleteuses", 25, "pelleteuses"),
        ("1 bus", 1, "bus"),
        ("plus de 2000 personnes", 2000, "personnes"),
        ("14h30: 1051 people", 1051, "people"),
        ("le 24/10/2016, 40 bus", 40, "bus"),
        ("(614 people)", 614, "people"),
    ],
)
def test_counts(text: str, value: int, what: str) -> None:
    [figure] = extract_figures(text)
    assert (figure.value, figure.what) == (value, what)
    assert text[figure.span[0] : figure.span[1]].endswith(what)


@pytest.mark.parametrize(
    "text",
    [
        "in 2016 refugees arrived",  # year
        "Lundi 24 octobre 2016",
        "24 October 2016 was a Monday",
        "the 24 October",
        "à 14h30 les CRS",  # times
        "14 h 30 personnes",
        "7:00 helicopters",
        "2:45 PM riot police",
        "07.30 police",
        "24/10/2016",
        "2016-10-24 police",
        "3 hours later",  # durations
        "20 minutes",
        "2 jours de garde à vue",
        "10 ans",
        "1st bus",  # ordinals
        "2e bus",
        "3ème tente",
        "1er car",
        "06 12 34 56 78 people",  # phone numbers
        "+33 6 12 34 56 78",
        "call 0612345678 now",
        "50 % des personnes",  # percentages
        "50% of people",
        "50 percent of people",
        "€50 donations",  # money
        "50 € each",
        "50 euros",
        "$200 raised",
        "1,5 km",  # decimals and measures
        "3 km",
        "2 of them",  # no counted noun
        "3 is",
        "The 3 were arrested",
        "une cinquantaine de personnes",
        "40\nbus",  # the noun must be on the same line
        "",
    ],
)
def test_not_counts(text: str) -> None:
    assert extract_figures(text) == []


def test_sentence_span_and_approximation() -> None:
    text = "Calme. Vers midi, environ 300 mineurs attendent! Ensuite rien."
    assert extract_figures(text) == [
        Figure(
            value=300,
            what="mineurs",
            text="Vers midi, environ 300 mineurs attendent!",
            span=(26, 37),
            approximate=True,
        )
    ]


def test_several_in_order() -> None:
    text = "614 people have left this morning, 1051 by 14h30. 40 CRS vans and 3 buses."
    figures = [(f.value, f.what) for f in extract_figures(text)]
    assert figures == [(614, "people"), (40, "CRS vans"), (3, "buses")]


def test_sample_diaries() -> None:
    assert [(f.value, f.what, f.approximate) for f in extract_figures(FRENCH_DIARY)] == [
        (40, "bus", False),
        (300, "mineurs", True),
        (1051, "personnes", False),
    ]
    assert [(f.value, f.what) for f in extract_figures(ENGLISH_DIARY)] == [(1051, "people")]


@pytest.mark.parametrize(
    ("text", "value", "what"),
    [
        ("quarante bus sont alignés", 40, "bus"),
        ("Quarante bus", 40, "bus"),
        ("deux cents personnes évacuées", 200, "personnes"),
        ("mille cinquante et une personnes", 1051, "personnes"),
        ("vingt et une familles", 21, "familles"),
        ("quatre-vingt-dix personnes", 90, "personnes"),
        ("trois cents mineurs isolés", 300, "mineurs"),
        ("two hundred people", 200, "people"),
        ("forty buses left", 40, "buses"),
        ("three hundred and twelve refugees", 312, "refugees"),
        ("twenty-one children", 21, "children"),
        ("a hundred people", 100, "people"),
        ("six CRS vans", 6, "CRS vans"),
    ],
)
def test_counts_in_words(text: str, value: int, what: str) -> None:
    [figure] = extract_figures(text)
    assert (figure.value, figure.what) == (value, what)
    assert text[figure.span[0] : figure.span[1]].lower().endswith(what.lower())
    assert figure.text == text  # the witness's own words, not digits


@pytest.mark.parametrize(
    "text",
    [
        "un homme nous a parlé",  # an article, not a count
        "une femme",
        "one man said",
        "one of them",
        "deux mots",  # casual words: only the field's own nouns count
        "two things",
        "cinquante pour cent des personnes",  # rates
        "fifty per cent of people",
        "en deux mille seize personnes",  # a year
        "trois heures",  # a duration
        "dix-septième bus",  # an ordinal
        "septembre",
    ],
)
def test_not_counts_in_words(text: str) -> None:
    assert extract_figures(text) == []


def test_words_and_digits_in_order() -> None:
    text = "1051 people left, then forty buses and deux cents personnes. Two and three tents."
    assert [(f.value, f.what) for f in extract_figures(text)] == [
        (1051, "people"),
        (40, "buses"),
        (200, "personnes"),
        (3, "tents"),
    ]


def test_approximate_in_words() -> None:
    [figure] = extract_figures("Vers midi, environ quarante CRS.")
    assert (figure.value, figure.what, figure.approximate) == (40, "CRS", True)
