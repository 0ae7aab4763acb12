"""Turn a volunteer's free-text note of the day into timed entries.

Witnesses type notes on a phone, in a hurry, in French or English: "7h : hélicoptères",
"2:45 PM riot police charge", "vers 16h ...". The timeline needs each of those moments as its own
entry with a time, so the note can sit next to the photos and videos taken at the same moment.

Parsing is deliberately line-based and strict: a marker only counts at the start of a line, and a
line only changes the day when the whole line is a date. A false time would misplace testimony in
the record, which is worse than leaving a line attached to the entry above it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from datetime import time as TimeOfDay  # `Entry.time` names a field
from functools import lru_cache

__all__ = ["Entry", "find_date", "is_dispatch", "parse_diary", "written_day"]

# A time earlier than the previous one by more than this is read as the next day (a note that runs
# past midnight); a smaller step back is read as an out-of-order line or a correction.
_ROLLOVER_MIN_STEP = 3 * 60
# "3:00" written after "14:30" in an English note means 15:00; only guess that when the afternoon
# reading lands at most this many minutes after the previous time.
_AFTERNOON_WINDOW = 6 * 60


@dataclass
class Entry:
    """One moment of the note: what was written under one time marker.

    `time` is naive local time, because a witness writes the clock on the wall, not UTC; it is None
    when the note gives no marker or no day is known. `clock` keeps the time of day even when the
    day is unknown, so a later stage can pair it with a capture date. `headed` says the day came
    from a date line of the note itself rather than from `default_date`, so the timeline can say
    where each entry's day came from.
    """

    time: datetime | None
    text: str
    marker: str
    line: int
    is_dispatch: bool = False
    approximate: bool = False
    clock: TimeOfDay | None = None
    day: date | None = None
    headed: bool = False


# --- time markers -----------------------------------------------------------------------------

_AMPM = r"(?:a\.m\.|p\.m\.|am\b|pm\b)"
_HOUR = r"(?:[01]?\d|2[0-3])"
_UNITS_AFTER_DOT = (
    r"(?!\s*(?:€|\$|£|%|euros?\b|eur\b|km\b|kms\b|m\b|cm\b|mm\b|kg\b|g\b|l\b|ml\b|"
    r"pounds?\b|dollars?\b|livres?\b))"
)
# Words that may follow a bare hour ("around 9 the police ...") in a sentence; anything else after a
# bare number ("around 9 people") is a count, not a time.
_BARE_HOUR_NEXT = (
    r"(?:the|we|they|i|it|there|he|she|you|le|la|les|l['’]|on|nous|ils|elles|il|elle|je|j['’]|"
    r"des|du|ça|ca|c['’]est)\b"
)

_MARKER = re.compile(
    r"""
    ^[ \t]*(?:[-*•·>][ \t]+)?                       # an optional bullet
    (?P<marker>
      (?:(?P<approx>vers|around|about|approx(?:\.|imately)?|env\.|environ|circa|~|
                    aux\ alentours\ de|autour\ de|à\ peu\ près\ à)[ \t]*
        |(?P<at>at|à|dès)[ \t]+)?
      (?:
        (?P<h1>\d{1,2}):(?P<m1>[0-5]\d)(?::(?P<s1>[0-5]\d))?(?:[ \t]*(?P<ap1>"""
    + _AMPM
    + r"""))?
       |(?P<h2>\d{1,2})[ \t]*[hH][ \t]*(?P<m2>[0-5]\d)(?!\d)
       |(?P<h3>\d{1,2})[ \t]*[hH](?![\w/])(?![ \t]+(?:de|d['’]|of)\b)
       |(?P<h4>\d{1,2})\.(?P<m4>[0-5]\d)(?![\d.,])(?:[ \t]*(?P<ap4>"""
    + _AMPM
    + r"""))?"""
    + _UNITS_AFTER_DOT
    + r"""
       |(?P<h5>\d{1,2})[ \t]*(?P<ap5>"""
    + _AMPM
    + r""")
       |(?P<h6>\d{1,2})[ \t]*o['’][ \t]?clock\b
       |(?:12[ \t]*)?(?P<noon>noon|midday|midi)(?:[ \t]+et[ \t]+(?P<noonplus>demie?|quart))?
       |(?P<midnight>midnight|minuit)(?:[ \t]+et[ \t]+(?P<midnightplus>demie?|quart))?
       |(?P<h7>\d{1,2})(?=[ \t]*(?:[:\-–—,]|$)|[ \t]+"""
    + _BARE_HOUR_NEXT
    + r""")
      )
    )
    (?=[\s:\-–—,.;)]|$)
    (?P<sep>[ \t]*(?:[:\-–—,](?!\d)|\.(?!\d))?)
    """,
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class _Marker:
    end: int
    written: str
    minutes: int
    approximate: bool
    ambiguous_12h: bool


def _match_marker(line: str) -> _Marker | None:
    """Read a time marker at the start of a line, or None when the line does not start with one."""
    m = _MARKER.match(line)
    if m is None:
        return None
    g = m.groupdict()
    if g["h7"] is not None and not (g["approx"] or g["at"]):
        return None  # a bare number is only a time when "vers"/"around"/"at" says so
    hour: int
    minute = 0
    ampm: str | None = None
    ambiguous = False
    if g["noon"]:
        hour = 12
        minute = _PLUS[g["noonplus"].lower()] if g["noonplus"] else 0
    elif g["midnight"]:
        hour = 0
        minute = _PLUS[g["midnightplus"].lower()] if g["midnightplus"] else 0
    else:
        for key, mkey, apkey in (
            ("h1", "m1", "ap1"),
            ("h2", "m2", None),
            ("h3", None, None),
            ("h4", "m4", "ap4"),
            ("h5", None, "ap5"),
            ("h6", None, None),
            ("h7", None, None),
        ):
            if g[key] is not None:
                hour = int(g[key])
                minute = int(g[mkey]) if mkey else 0
                ampm = g[apkey] if apkey else None
                ambiguous = key in ("h1", "h4", "h6", "h7") and ampm is None and 1 <= hour <= 11
                break
        else:  # pragma: no cover - the regex always fills one branch
            return None
        if ampm is not None:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if ampm.lower().startswith("p") else 0)
        elif hour > 23:
            return None
    written = line[m.start("marker") : m.end("sep")].strip()
    return _Marker(
        end=m.end(),
        written=written,
        minutes=hour * 60 + minute,
        approximate=bool(g["approx"]),
        ambiguous_12h=ambiguous,
    )


_PLUS = {"demi": 30, "demie": 30, "quart": 15}


# --- day headers ------------------------------------------------------------------------------

_WEEKDAY = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
    r"mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|lun|mer|jeu|ven|sam|dim)\.?"
)
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[uû]t|septembre|octobre|novembre|"
    r"d[ée]cembre|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|janv|f[ée]vr?|avr|juil|d[ée]c)"
    r"\.?"
)
_DAYNUM = r"(?P<{name}>[0-3]?\d)(?:er|re|st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"

# The whole line must be a date (with an optional weekday and "le"/"on the"), so sentences that
# merely mention a date never move the day.
_HEADER_WORDS = re.compile(
    rf"""^(?:(?:le|on)\s+)?(?:{_WEEKDAY},?\s+)?(?:(?:le|the)\s+)?
    (?:{_DAYNUM.format(name="day")}\s+(?:of\s+)?(?P<month>{_MONTH})
      |(?P<month_first>{_MONTH})\s+{_DAYNUM.format(name="day_after")})
    (?:,?\s+{_YEAR})?$""",
    re.IGNORECASE | re.VERBOSE,
)
_HEADER_NUMERIC = re.compile(
    rf"""^(?:(?:le|on)\s+)?(?:{_WEEKDAY},?\s+)?(?:(?:le|the)\s+)?
    (?:(?P<d>[0-3]?\d)(?P<s>[/.\-])(?P<m>[01]?\d)(?:(?P=s)(?P<y>(?:19|20)?\d\d))?
      |(?P<iy>(?:19|20)\d\d)(?P<is>[/\-])(?P<im>[01]?\d)(?P=is)(?P<id>[0-3]?\d))$""",
    re.IGNORECASE | re.VERBOSE,
)
# Markdown and punctuation people put around a heading: "## Lundi 24 octobre 2016 :", "**24/10**".
_HEADER_TRIM = re.compile(r"^[\s#*_=>]+|[\s#*_=:,.;—–\-]+$")
# Cheap pre-check so most lines never reach the header regexes.
_HEADER_HINT = re.compile(r"\d")

_DATEPARSER_SETTINGS = {
    "DATE_ORDER": "DMY",
    "PREFER_LOCALE_DATE_ORDER": False,
    "REQUIRE_PARTS": ["day", "month", "year"],
}


@lru_cache(maxsize=4096)
def _dateparse(day: int, month_word: str, year: int) -> date | None:
    """Resolve a month name in either language; cached because notes repeat the same headers."""
    import dateparser  # slow to import; only notes with a worded date header pay for it

    parsed = dateparser.parse(
        f"{day} {month_word} {year}", languages=["en", "fr"], settings=_DATEPARSER_SETTINGS
    )
    if parsed is None or parsed.day != day or parsed.year != year:
        return None  # dateparser guessed something we did not write; refuse rather than trust
    return parsed.date()


def _infer_year(day: int, month: int, context: date | None) -> date | None:
    """Give a year-less header ("Mardi 25 octobre") the year of the day before it."""
    if context is None:
        return None
    for year in (context.year, context.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        # A note running from 31 December into "2 janvier" has crossed a year.
        if candidate >= context - timedelta(days=183):
            return candidate
    return None


def _parse_header(line: str, context: date | None) -> date | None:
    """Read a day header line, or None when the line is anything else."""
    if len(line) > 60 or _HEADER_HINT.search(line) is None:
        return None
    core = _HEADER_TRIM.sub("", line)
    m = _HEADER_NUMERIC.match(core)
    if m is not None:
        if m["iy"]:
            year, month, day = int(m["iy"]), int(m["im"]), int(m["id"])
        else:
            day, month = int(m["d"]), int(m["m"])
            if m["y"] is None:
                if m["s"] == "." or context is None:
                    return None  # "24.10" alone is as likely a time or a score as a date
                try:
                    date(2000, month, day)
                except ValueError:
                    return None
                return _infer_year(day, month, context)
            year = int(m["y"])
            year += 2000 if year < 100 else 0
        try:
            return date(year, month, day)
        except ValueError:
            return None
    m = _HEADER_WORDS.match(core)
    if m is None:
        return None
    day = int(m["day"] or m["day_after"])
    month_word = (m["month"] or m["month_first"]).rstrip(".")
    if m["year"] is not None:
        return _dateparse(day, month_word, int(m["year"]))
    # Resolve the month through a leap year, then place it in the note's year.
    resolved = _dateparse(day, month_word, 2000)
    if resolved is None:
        return None
    return _infer_year(day, resolved.month, context)


# --- a date anywhere in a line ---------------------------------------------------------------

_SEP = r"[-/._]"
_ISO_DATE = re.compile(
    rf"(?<!\d)(?P<y>(?:19|20)\d\d)(?P<s>{_SEP})(?P<m>[01]?\d)(?P=s)(?P<d>[0-3]?\d)(?!\d)"
)
_COMPACT_DATE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)(?P<m>[01]\d)(?P<d>[0-3]\d)(?!\d)")
# Day first, as the association writes; a two-digit year only with slashes ("24/10/16").
_DMY_DATE = re.compile(
    rf"(?<![\d.])(?P<d>[0-3]?\d)(?P<s>{_SEP})(?P<m>[0-3]?\d)(?P=s)"
    r"(?P<y>(?:19|20)\d\d|(?<=/)\d\d)(?![\d])"
)
_WORDED_DATE = re.compile(
    rf"""(?<![^\W_])(?:
        (?P<day>[0-3]?\d)(?:er|re|st|nd|rd|th)?[\s_-]+(?:of[\s_-]+)?(?P<month>{_MONTH})
       |(?P<month_first>{_MONTH})[\s_-]+(?P<day_after>[0-3]?\d)(?:st|nd|rd|th)?,?
    )[\s_-]+(?P<year>(?:19|20)\d\d)(?!\d)""",
    re.IGNORECASE | re.VERBOSE,
)


def _numeric(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def find_date(text: str, *, compact: bool = False) -> date | None:
    """The first full date (with its year) written anywhere in `text`, or None.

    Unlike a day header, the date may sit inside a sentence ("Calais, le 24/10/2016") or a file
    name ("notes_2016-10-24.txt"), so only complete dates count: a day and month without a year
    is as likely a score or a price. `compact` also reads "20161024", which in a sentence could
    be any number but in a file name is a day.
    """
    found: list[tuple[int, date]] = []
    for m in _ISO_DATE.finditer(text):
        if (when := _numeric(int(m["y"]), int(m["m"]), int(m["d"]))) is not None:
            found.append((m.start(), when))
    if compact:
        for m in _COMPACT_DATE.finditer(text):
            if (when := _numeric(int(m["y"]), int(m["m"]), int(m["d"]))) is not None:
                found.append((m.start(), when))
    for m in _DMY_DATE.finditer(text):
        year = int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
        day, month = int(m["d"]), int(m["m"])
        # 10/24/2016 cannot be day-first: read it month-first rather than drop it
        when = _numeric(year, month, day) or _numeric(year, day, month)
        if when is not None:
            found.append((m.start(), when))
    for m in _WORDED_DATE.finditer(text):
        day = int(m["day"] or m["day_after"])
        month_word = re.sub(r"\.$", "", m["month"] or m["month_first"])
        if (when := _dateparse(day, month_word, int(m["year"]))) is not None:
            found.append((m.start(), when))
    return min(found)[1] if found else None


def written_day(text: str) -> date | None:
    """A date written in the note before its first timed line ("Notes du 24/10/2016"), or None.

    Only the lines before the first time marker are read: a date further down is what the
    witness wrote about (a hearing set for next week), not the day they were writing.
    """
    for line in text.splitlines():
        if _GREETING.match(line) or _match_marker(line) is not None:
            return None
        if _HEADER_HINT.search(line) and (when := find_date(line)) is not None:
            return when
    return None


# --- letters to supporters --------------------------------------------------------------------

_GREETING = re.compile(
    r"""^[ \t]*(?:
        dear\s+(?:everyone|everybody|all|friends|supporters|comrades)
       |(?:hello|hi)\s+(?:everyone|everybody|all|friends)
       |ch[eè]re?s\s+(?:ami[e·.]*s|amies?|toutes|tous|camarades|soutiens|et\s+chers|et\s+ch[eè]res)
       |cher[·.]?e?[·.]?s\s+ami[·.]?e?[·.]?s
       |bonjour\s+[àa]\s+(?:toutes\s+et\s+[àa]\s+tous|tous(?:\s+et\s+[àa]\s+toutes)?|tou[·.]?te[·.]?s)
       |salut\s+(?:[àa]\s+)?(?:tous|toutes|tout\s+le\s+monde)
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)


def is_dispatch(text: str) -> bool:
    """Tell a letter to supporters from field notes, so it is published as a dispatch, not timed.

    A dispatch is recognised by its greeting on the first non-blank line ("Dear everyone,",
    "Chers amis,"); a greeting further down a note is found by `parse_diary` instead.
    """
    for line in text.splitlines():
        if line.strip():
            return _GREETING.match(line) is not None
    return False


# --- the parser -------------------------------------------------------------------------------


@dataclass
class _Open:
    line: int
    marker: str
    parts: list[str]
    clock: time | None
    day: date | None
    day_offset: int
    approximate: bool
    headed: bool = False


def _close(entry: _Open | None, out: list[Entry]) -> None:
    if entry is None:
        return
    text = "\n".join(entry.parts).strip()
    if not text and not entry.marker:
        return  # blank space between headers is not an entry
    when: datetime | None = None
    if entry.clock is not None and entry.day is not None:
        when = datetime.combine(entry.day + timedelta(days=entry.day_offset), entry.clock)
    out.append(
        Entry(
            time=when,
            text=text,
            marker=entry.marker,
            line=entry.line,
            approximate=entry.approximate,
            clock=entry.clock,
            day=entry.day + timedelta(days=entry.day_offset) if entry.day else None,
            headed=entry.headed,
        )
    )


def parse_diary(text: str, *, default_date: date | None = None) -> list[Entry]:
    """Split a note into entries, one per time marker, in the order written.

    `default_date` is the day to assume before any day header, typically the date the note was
    written or sent; without it, and without a header, entries keep their `clock` but no `time`.
    """
    lines = text.splitlines()
    out: list[Entry] = []
    day = default_date
    day_offset = 0
    last_minutes: int | None = None  # minutes since the current day's midnight, offset included
    current: _Open | None = None
    headed = False  # a date line of the note has set the day

    for index, line in enumerate(lines):
        number = index + 1
        if _GREETING.match(line):
            _close(current, out)
            last = out[-1] if out and out[-1].clock is not None else None
            rest = "\n".join(lines[index:]).strip()
            out.append(
                Entry(
                    time=last.time if last else None,
                    text=rest,
                    marker="",
                    line=number,
                    is_dispatch=True,
                    clock=last.clock if last else None,
                    day=last.day if last else (day + timedelta(days=day_offset) if day else None),
                    headed=last.headed if last else headed,
                )
            )
            return out

        header = _parse_header(line, day + timedelta(days=day_offset) if day else None)
        if header is not None:
            _close(current, out)
            current = None
            day, day_offset, last_minutes, headed = header, 0, None, True
            continue

        marker = _match_marker(line)
        if marker is None:
            if current is None:
                if not line.strip():
                    continue
                current = _Open(number, "", [], None, day, day_offset, False, headed)
            current.parts.append(line.rstrip())
            continue

        minutes = marker.minutes
        if last_minutes is not None:
            previous = last_minutes % (24 * 60)
            if (
                marker.ambiguous_12h
                and previous >= 12 * 60
                and 0 <= minutes + 12 * 60 - previous <= _AFTERNOON_WINDOW
            ):
                minutes += 12 * 60
            if previous - minutes > _ROLLOVER_MIN_STEP:
                day_offset += 1
        last_minutes = day_offset * 24 * 60 + minutes

        _close(current, out)
        current = _Open(
            line=number,
            marker=marker.written,
            parts=[line[marker.end :].strip()],
            clock=time(minutes // 60, minutes % 60),
            day=day,
            day_offset=day_offset,
            approximate=marker.approximate,
            headed=headed,
        )

    _close(current, out)
    return out
