"""Diary notes: markers in both languages, day headers, rollover, dispatches, false markers."""

from __future__ import annotations

import time as clock
from datetime import date, datetime, time

import pytest

from temoin.sort.diary import Entry, find_date, is_dispatch, parse_diary, written_day
from temoin.testing.diaries import ENGLISH_DIARY, FRENCH_DIARY

DAY = date(2016, 10, 24)


@pytest.mark.parametrize(
    ("line", "marker", "at", "text", "approximate"),
    [
        ("7:00 helicopters", "7:00", time(7, 0), "helicopters", False),
        ("8:00 : the police", "8:00 :", time(8, 0), "the police", False),
        ("07h", "07h", time(7, 0), "", False),
        ("14h30: 1051 people left", "14h30:", time(14, 30), "1051 people left", False),
        ("14H30 - départ", "14H30 -", time(14, 30), "départ", False),
        ("14 h 30 départ", "14 h 30", time(14, 30), "départ", False),
        ("8 h les CRS", "8 h", time(8, 0), "les CRS", False),
        ("vers 9h15 les bus", "vers 9h15", time(9, 15), "les bus", True),
        ("Vers 9h15 – les bus", "Vers 9h15 –", time(9, 15), "les bus", True),
        ("around 9", "around 9", time(9, 0), "", True),
        ("around 9 the police came", "around 9", time(9, 0), "the police came", True),
        ("about 10:30 - calm", "about 10:30 -", time(10, 30), "calm", True),
        ("environ 11h calme", "environ 11h", time(11, 0), "calme", True),
        ("9 o'clock the gates", "9 o'clock", time(9, 0), "the gates", False),
        ("9 o’clock the gates", "9 o’clock", time(9, 0), "the gates", False),
        ("2:45 PM riot police", "2:45 PM", time(14, 45), "riot police", False),
        ("6:50am rain", "6:50am", time(6, 50), "rain", False),
        ("6 p.m. dinner", "6 p.m.", time(18, 0), "dinner", False),
        ("12 am quiet", "12 am", time(0, 0), "quiet", False),
        ("12:15 PM lunch", "12:15 PM", time(12, 15), "lunch", False),
        ("Noon", "Noon", time(12, 0), "", False),
        ("Noon – food", "Noon –", time(12, 0), "food", False),
        ("midi", "midi", time(12, 0), "", False),
        ("Midi et demi : repas", "Midi et demi :", time(12, 30), "repas", False),
        ("Midnight", "Midnight", time(0, 0), "", False),
        ("minuit le camp brûle", "minuit", time(0, 0), "le camp brûle", False),
        ("07.30 convoy", "07.30", time(7, 30), "convoy", False),
        ("07:02:12 photo", "07:02:12", time(7, 2), "photo", False),
        ("- 14h30: bullet", "14h30:", time(14, 30), "bullet", False),
        ("à 14h30, les CRS", "à 14h30,", time(14, 30), "les CRS", False),
        ("at 7:00 the camp", "at 7:00", time(7, 0), "the camp", False),
    ],
)
def test_markers(line: str, marker: str, at: time, text: str, approximate: bool) -> None:
    [entry] = parse_diary(line, default_date=DAY)
    assert (entry.marker, entry.clock, entry.text, entry.approximate) == (
        marker,
        at,
        text,
        approximate,
    )
    assert entry.time == datetime.combine(DAY, at)
    assert entry.line == 1


@pytest.mark.parametrize(
    "line",
    [
        "1051 people left",
        "40 bus sont alignés",
        "614 people have left",
        "around 9 people came",
        "12h de garde à vue",
        "24h/24 la police tourne",
        "3 hours later",
        "2 heures plus tard",
        "25:00 nothing",
        "13:00 pm nothing",
        "7.30 € the coffee",
        "1.5 km walked",
        "9 - the end",
        "2016 was a long year",
        "1er bus parti",
        "Noonday sun",
        "Midinette",
        "the police came at 7:00",
    ],
)
def test_not_markers(line: str) -> None:
    [entry] = parse_diary(line, default_date=DAY)
    assert (entry.marker, entry.time, entry.clock, entry.text) == ("", None, None, line)


@pytest.mark.parametrize(
    ("header", "day"),
    [
        ("Monday 24 October 2016", DAY),
        ("Lundi 24 octobre 2016", DAY),
        ("lundi 24 oct. 2016", DAY),
        ("24/10/2016", DAY),
        ("24.10.2016", DAY),
        ("24-10-2016", DAY),
        ("24/10/16", DAY),
        ("2016-10-24", DAY),
        ("2016/10/24", DAY),
        ("le 24 octobre 2016", DAY),
        ("Le 24 octobre 2016 :", DAY),
        ("## Lundi 24 octobre 2016", DAY),
        ("**Monday, 24 October 2016**", DAY),
        ("On the 24th of October 2016", DAY),
        ("October 24, 2016", DAY),
        ("Mardi 25 octobre", date(2016, 10, 25)),  # year from the note's day so far
        ("25/10", date(2016, 10, 25)),
        ("1er novembre", date(2016, 11, 1)),
    ],
)
def test_day_headers(header: str, day: date) -> None:
    entries = parse_diary(f"{header}\n7h : départ", default_date=date(2016, 10, 23))
    assert [(e.time, e.line) for e in entries] == [(datetime.combine(day, time(7)), 2)]


@pytest.mark.parametrize(
    "line",
    [
        "The police came on 24 October 2016 at dawn",
        "Le 24 octobre 2016, les CRS sont arrivés",
        "24 octobre 2016 puis 25",
        "13/13/2016",
        "10/24/2016",  # month-first is not read, even though dateparser would swap it
        "31/02/2016",
        "24.10",  # a time or a score as much as a date
        "Mardi",
        "tomorrow",
        "today we went back",
    ],
)
def test_not_headers(line: str) -> None:
    entries = parse_diary(f"{line}\n7h : départ", default_date=DAY)
    assert entries[-1].time == datetime(2016, 10, 24, 7)
    assert entries[0].text.startswith(line)


def test_yearless_header_without_context_stays_text() -> None:
    """Without a year anywhere, guessing one would invent a date; the line is kept as written."""
    entries = parse_diary("Mardi 25 octobre\n7h : départ")
    assert [(e.text, e.time, e.clock) for e in entries] == [
        ("Mardi 25 octobre", None, None),
        ("départ", None, time(7)),
    ]


def test_yearless_header_crosses_new_year() -> None:
    entries = parse_diary("31 décembre 2016\n23h fête\n2 janvier\n8h départ")
    assert [e.time for e in entries] == [datetime(2016, 12, 31, 23), datetime(2017, 1, 2, 8)]


def test_no_date_keeps_clock_only() -> None:
    [entry] = parse_diary("7:00 helicopters")
    assert (entry.time, entry.clock, entry.day) == (None, time(7), None)


def test_default_date_then_header() -> None:
    entries = parse_diary("7h a\nMardi 25 octobre 2016\n7h b", default_date=DAY)
    assert [e.time for e in entries] == [datetime(2016, 10, 24, 7), datetime(2016, 10, 25, 7)]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["23:00 a", "01:00 b"], [datetime(2016, 10, 24, 23), datetime(2016, 10, 25, 1)]),
        (
            ["22h a", "minuit b", "2h c"],
            [datetime(2016, 10, 24, 22), *[datetime(2016, 10, 25, h) for h in (0, 2)]],
        ),
        (["14h30 a", "14h15 b"], [datetime(2016, 10, 24, 14, 30), datetime(2016, 10, 24, 14, 15)]),
        (["14:30 a", "3:00 b"], [datetime(2016, 10, 24, 14, 30), datetime(2016, 10, 24, 15)]),
        (["14h30 a", "3h b"], [datetime(2016, 10, 24, 14, 30), datetime(2016, 10, 25, 3)]),
        (["Noon a", "around 6 - b"], [datetime(2016, 10, 24, 12), datetime(2016, 10, 24, 18)]),
        (
            ["20:00 a", "02:00 b", "08:00 c"],
            [datetime(2016, 10, 24, 20), *[datetime(2016, 10, 25, h) for h in (2, 8)]],
        ),
    ],
)
def test_rollover(lines: list[str], expected: list[datetime]) -> None:
    assert [e.time for e in parse_diary("\n".join(lines), default_date=DAY)] == expected


def test_entries_say_whether_a_date_line_gave_their_day() -> None:
    entries = parse_diary(
        "7h a\nMardi 25 octobre 2016\n7h b\n\nDear everyone,\nthanks", default_date=DAY
    )
    assert [(e.day, e.headed) for e in entries] == [
        (DAY, False),
        (date(2016, 10, 25), True),
        (date(2016, 10, 25), True),
    ]
    assert [e.headed for e in parse_diary("7h a\n8h b")] == [False, False]


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Calais, le 24/10/2016", DAY),
        ("Notes du 24/10/16", DAY),
        ("notes 2016-10-24", DAY),
        ("journal 24-10-2016 soir", DAY),
        ("Notes du 24 octobre 2016 à Calais", DAY),
        ("Monday, October 24th, 2016", DAY),
        ("10/24/2016", DAY),  # cannot be day-first: read month-first
        ("le 1er novembre 2016 puis le 24/10/2016", date(2016, 11, 1)),  # the first one written
        ("score 24.10", None),
        ("24/10", None),  # no year: a score as likely as a date
        ("32/10/2016", None),
        ("30 février 2016", None),
        ("call 0612345678", None),
        ("20161024", None),  # eight digits in a sentence are any number
    ],
)
def test_find_date(text: str, day: date | None) -> None:
    assert find_date(text) == day


def test_find_date_compact_in_names() -> None:
    assert find_date("journal_20161024", compact=True) == DAY
    assert find_date("journal_20161324", compact=True) is None


def test_written_day_only_before_the_first_time() -> None:
    assert written_day("Calais, le 24/10/2016\n7h : hélicoptères") == DAY
    assert written_day("Notes\n\n7h : audience fixée au 02/11/2016") is None
    assert written_day("Dear everyone, 24/10/2016") is None
    assert written_day("7:00 helicopters\nNoon food") is None


def test_header_resets_rollover() -> None:
    text = "23:00 a\nMardi 25 octobre 2016\n01:00 b"
    entries = parse_diary(text, default_date=DAY)
    assert [e.time for e in entries] == [datetime(2016, 10, 24, 23), datetime(2016, 10, 25, 1)]


def test_continuation_lines_and_preamble() -> None:
    text = "Notes, Calais\nsecond line\n\n7h : a\nb\n\nc\n\n8h : d\n"
    assert parse_diary(text, default_date=DAY) == [
        Entry(None, "Notes, Calais\nsecond line", "", 1, day=DAY),
        Entry(datetime(2016, 10, 24, 7), "a\nb\n\nc", "7h :", 4, clock=time(7), day=DAY),
        Entry(datetime(2016, 10, 24, 8), "d", "8h :", 9, clock=time(8), day=DAY),
    ]


def test_windows_line_endings() -> None:
    entries = parse_diary("7h : a\r\nb\r\n8h : c\r\n", default_date=DAY)
    assert [(e.text, e.line) for e in entries] == [("a\nb", 1), ("c", 3)]


def test_empty() -> None:
    assert parse_diary("") == []
    assert parse_diary("\n  \n") == []


@pytest.mark.parametrize(
    "greeting",
    [
        "Dear everyone,",
        "Dear friends,",
        "Dear all",
        "dear all of you",
        "Hello everyone!",
        "Chers amis,",
        "Chères amies,",
        "Chères et chers,",
        "Chers et chères amis",
        "Cher·e·s ami·e·s,",
        "Bonjour à toutes et à tous,",
        "Bonjour à tous",
    ],
)
def test_dispatch(greeting: str) -> None:
    text = f"14h30 : a\n{greeting}\nmerci.\n16h : not a marker here"
    entries = parse_diary(text, default_date=DAY)
    assert is_dispatch(f"\n{greeting}\nthanks")
    assert [(e.is_dispatch, e.time, e.line) for e in entries] == [
        (False, datetime(2016, 10, 24, 14, 30), 1),
        (True, datetime(2016, 10, 24, 14, 30), 2),
    ]
    assert entries[1].text == f"{greeting}\nmerci.\n16h : not a marker here"
    assert entries[1].marker == ""


@pytest.mark.parametrize(
    "text",
    [
        "7h : a\nDear everyone",
        "Dearest diary",
        "Dear God, the smoke",
        "Chers collègues",
        "Hello",
        "",
    ],
)
def test_not_dispatch(text: str) -> None:
    assert not is_dispatch(text)


def test_dispatch_without_time() -> None:
    [entry] = parse_diary("Dear all,\nthanks")
    assert (entry.is_dispatch, entry.time, entry.line) == (True, None, 1)


def test_french_sample() -> None:
    entries = parse_diary(FRENCH_DIARY)
    assert [(e.marker, e.time, e.approximate, e.is_dispatch) for e in entries] == [
        ("", None, False, False),
        ("7h :", datetime(2016, 10, 24, 7), False, False),
        ("8h :", datetime(2016, 10, 24, 8), False, False),
        ("vers 9h15 -", datetime(2016, 10, 24, 9, 15), True, False),
        ("10h30 :", datetime(2016, 10, 24, 10, 30), False, False),
        ("midi", datetime(2016, 10, 24, 12), False, False),
        ("14h30 :", datetime(2016, 10, 24, 14, 30), False, False),
        ("vers 16h", datetime(2016, 10, 24, 16), True, False),
        ("23:00", datetime(2016, 10, 24, 23), False, False),
        ("01:00", datetime(2016, 10, 25, 1), False, False),
        ("", datetime(2016, 10, 25, 1), False, True),
    ]
    assert entries[4].text.count("\n") == 2
    assert entries[5].text == "Distribution de repas, calme."
    assert entries[-1].text.startswith("Chers amis,\n")
    assert entries[-1].line == 17


def test_english_sample() -> None:
    entries = parse_diary(ENGLISH_DIARY)
    assert [(e.marker, e.time, e.line) for e in entries] == [
        ("7:00", datetime(2016, 10, 24, 7), 2),
        ("8:00", datetime(2016, 10, 24, 8), 3),
        ("Noon -", datetime(2016, 10, 24, 12), 4),
        ("14h30:", datetime(2016, 10, 24, 14, 30), 5),
        ("2:45 PM", datetime(2016, 10, 24, 14, 45), 6),
        ("around 6 -", datetime(2016, 10, 24, 18), 9),
        ("", datetime(2016, 10, 24, 18), 11),
    ]
    assert entries[4].text.splitlines()[1] == "Sam says the children were moved first."
    assert entries[-1].is_dispatch
    assert "Continue sharing!" in entries[-1].text


def test_fast_on_many_notes() -> None:
    """100,000 items go through this stage; ordinary lines must never reach dateparser."""
    parse_diary(ENGLISH_DIARY + FRENCH_DIARY)  # warm dateparser's import and cache
    start = clock.perf_counter()
    for _ in range(300):
        parse_diary(FRENCH_DIARY)
        parse_diary(ENGLISH_DIARY)
    assert clock.perf_counter() - start < 3.0
