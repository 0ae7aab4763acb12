"""An entry written in the web app: its fields (form, day, time, title) above the witness's text.

A time typed into a form used to be prefixed to the text ("14:30 Dear everyone, ..."), which
hid a letter's greeting from the dispatch check, and a note with no time took a made-up noon.
So the fields travel in the original itself, as a short header the text reader takes off:

    temoin-entry: letter
    day: 2016-10-24
    time: 21:40
    title: The night of the 24th

    Dear everyone, ...

The original in the vault keeps the whole file, so what the witness sent and when she said it
happened are one write-once record. `form` is ``note`` (a timed diary entry) or ``letter`` (a
dispatch to supporters); `time` may be missing, and then no time is invented for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

__all__ = ["FORMS", "EntryFields", "format_entry", "parse_entry"]

FORMS = ("note", "letter")
_FIRST = re.compile(r"temoin-entry: (note|letter)")
_FIELD = re.compile(r"(day|time|title): (.*)")
MAX_TITLE_CHARS = 200


@dataclass(frozen=True)
class EntryFields:
    """What the form asked for besides the text; `day` and `time` are local to the archive."""

    form: str
    day: date | None = None
    time: time | None = None
    title: str = ""

    def as_meta(self) -> dict[str, str]:
        """The JSON the catalog keeps in the item's metadata (key ``entry``)."""
        meta = {"form": self.form}
        if self.day is not None:
            meta["day"] = self.day.isoformat()
        if self.time is not None:
            meta["time"] = self.time.strftime("%H:%M")
        if self.title:
            meta["title"] = self.title
        return meta


def format_entry(fields: EntryFields, body: str) -> str:
    lines = [f"temoin-entry: {fields.form}"]
    for key, value in fields.as_meta().items():
        if key != "form":
            lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n\n" + body.strip() + "\n"


def parse_entry(text: str) -> tuple[EntryFields | None, str]:
    """The fields and the body, or (None, text) when the text is not an entry file.

    Strict on purpose: a note that merely starts with a similar line stays a plain note.
    """
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    first = _FIRST.fullmatch(lines[0])
    if not sep or first is None:
        return None, text
    values: dict[str, str] = {}
    for line in lines[1:]:
        found = _FIELD.fullmatch(line)
        if found is None or found.group(1) in values:
            return None, text
        values[found.group(1)] = found.group(2).strip()
    try:
        day = date.fromisoformat(values["day"]) if "day" in values else None
        clock = time.fromisoformat(values["time"]) if "time" in values else None
    except ValueError:
        return None, text
    title = values.get("title", "")[:MAX_TITLE_CHARS]
    return EntryFields(first.group(1), day, clock, title), body.strip("\n")
