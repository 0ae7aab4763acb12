"""Which day a note written without a date belongs to, and what says so.

A witness types "7:00 helicopters" on a phone; the note reaches the archive days later and its
file time is the day it was copied. Read that way, a morning of testimony would silently sit on
the wrong day. So the day is taken from evidence, tried in this order, the first that speaks wins:

    by-hand          a person set it (`temoin diary ID --day`), recorded in custody
    written          a date written in the note before its first time ("Notes du 24/10/2016")
    photos           the day most photos, videos and voice notes ingested with the note were
    messages         taken, by their own clocks (or chat messages, or both): the same ingest,
    photos+messages  hence the same source, and file times never count
    file-name        a date in the file name ("notes_2016-10-24.txt", "IMG-20161024-WA0001")
    file-time        the file's own time, when nothing else speaks: the day is uncertain

Entries under a date line of the note ("Lundi 24 octobre 2016") take that date whatever the rest
says (`written`); an entry written in the web app's form takes the form's day (`form`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import Item, NoteDay, Sighting
from temoin.kinds import Kind
from temoin.sort.clock import Clocks, Resolved
from temoin.sort.diary import written_day
from temoin.sort.filenames import day_from_filename

__all__ = [
    "FILE_CLOCKS",
    "LABELS",
    "UNCERTAIN",
    "Note",
    "days_of",
    "hand_days",
    "is_uncertain",
    "label",
]

LABELS: dict[str, str] = {
    "by-hand": "a person, by hand",
    "written": "a date written in the note",
    "form": "the day given in the entry form",
    "photos": "photos of the same source",
    "messages": "messages of the same source",
    "photos+messages": "photos and messages of the same source",
    "file-name": "the file name",
    "file-time": "the file's time",
}
UNCERTAIN = frozenset({"file-time"})
# Items whose own time says which day an ingest was about.
_WITNESS_KINDS: dict[str, str] = {
    Kind.PHOTO: "photos",
    Kind.VIDEO: "photos",
    Kind.AUDIO: "photos",
    Kind.MESSAGE: "messages",
}
# Times that are when a file was written or copied, not when something happened.
FILE_CLOCKS = frozenset({"mtime", "phone"})
_CHUNK = 500  # ids per IN (...): well under every backend's limit on bound parameters

T = TypeVar("T")


def label(code: str | None) -> str | None:
    return LABELS.get(code, code) if code else None


def is_uncertain(code: str | None) -> bool:
    return code in UNCERTAIN


@dataclass(frozen=True)
class Note:
    """What the evidence needs of a note: who sent it, its file name, its text."""

    id: str
    source: str
    name: str
    text: str


def hand_days(session: Session) -> dict[str, date]:
    return {
        item_id: date.fromisoformat(day)
        for item_id, day in session.execute(select(NoteDay.item_id, NoteDay.day))
    }


def days_of(
    session: Session,
    notes: Sequence[Note],
    kinds: Mapping[str, str],
    times: Mapping[str, Resolved],
    clocks: Clocks,
    by_hand: Mapping[str, date],
) -> dict[str, tuple[date, str]]:
    """Each note's day and the evidence that gave it; a note nothing speaks for is left out.

    `kinds` is every item's kind by id; `times` every item's resolved time, read in the note
    source's zone.
    """
    found: dict[str, tuple[date, str]] = {}
    waiting: list[Note] = []
    for note in notes:
        if note.id in by_hand:
            found[note.id] = (by_hand[note.id], "by-hand")
        elif (day := written_day(note.text)) is not None:
            found[note.id] = (day, "written")
        else:
            waiting.append(note)
    ingested = _ingest_days(session, waiting, kinds, times, clocks)
    for note in waiting:
        if note.id in ingested:
            found[note.id] = ingested[note.id]
        elif (day := day_from_filename(note.name)) is not None:
            found[note.id] = (day, "file-name")
        elif (when := times[note.id].time_utc) is not None:
            local = when.replace(tzinfo=UTC).astimezone(clocks.zone(note.source))
            found[note.id] = (local.date(), "file-time")
    return found


def _ingest_days(
    session: Session,
    notes: Sequence[Note],
    kinds: Mapping[str, str],
    times: Mapping[str, Resolved],
    clocks: Clocks,
) -> dict[str, tuple[date, str]]:
    """The day most items ingested with each note were taken, by their own clocks."""
    if not notes:
        return {}
    runs_of: dict[str, set[int]] = defaultdict(set)
    for ids in _chunks([n.id for n in notes]):
        seen = select(Sighting.blob_sha256, Sighting.run_id).where(Sighting.blob_sha256.in_(ids))
        for blob, run in session.execute(seen):
            runs_of[blob].add(run)
    in_run: dict[int, set[str]] = defaultdict(set)
    for runs in _chunks(sorted(set().union(*runs_of.values()))):
        batch = select(Sighting.run_id, Sighting.blob_sha256).where(Sighting.run_id.in_(runs))
        for run, blob in session.execute(batch):
            in_run[run].add(blob)
    chats = sorted({i for ids in in_run.values() for i in ids if kinds.get(i) == Kind.CHAT})
    messages: dict[str, list[str]] = defaultdict(list)
    for ids in _chunks(chats):
        listed = select(Item.parent_id, Item.id).where(
            Item.parent_id.in_(ids), Item.kind == Kind.MESSAGE
        )
        for chat, message in session.execute(listed):
            if chat is not None:
                messages[chat].append(message)
    # Notes of one ingest share its count: a batch of a thousand notes and a hundred thousand
    # photos is counted once, not once per note.
    tallies: dict[tuple[frozenset[int], str], tuple[Counter[date], set[str]]] = {}
    found: dict[str, tuple[date, str]] = {}
    for note in notes:
        zone = clocks.zone(note.source)
        key = (frozenset(runs_of[note.id]), str(zone))
        if key not in tallies:
            members = _with_messages((i for run in key[0] for i in in_run[run]), messages)
            tallies[key] = _tally(members, kinds, times, zone)
        days, said = tallies[key]
        if days:
            most = max(days.values())
            evidence = "photos+messages" if len(said) > 1 else next(iter(said))
            found[note.id] = (min(d for d, n in days.items() if n == most), evidence)
    return found


def _tally(
    members: Iterable[str], kinds: Mapping[str, str], times: Mapping[str, Resolved], zone: ZoneInfo
) -> tuple[Counter[date], set[str]]:
    """Items per local day, by their own clocks, and which kinds of witness spoke."""
    days: Counter[date] = Counter()
    said: set[str] = set()
    for item_id in members:
        what = _WITNESS_KINDS.get(kinds.get(item_id, ""))
        resolved = times.get(item_id)
        if what is None or resolved is None or resolved.time_utc is None:
            continue
        if resolved.source in FILE_CLOCKS:
            continue
        days[resolved.time_utc.replace(tzinfo=UTC).astimezone(zone).date()] += 1
        said.add(what)
    return days, said


def _with_messages(ids: Iterable[str], messages: Mapping[str, list[str]]) -> Iterator[str]:
    for item_id in set(ids):
        yield item_id
        yield from messages.get(item_id, ())


def _chunks(values: Sequence[T]) -> Iterator[list[T]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])
