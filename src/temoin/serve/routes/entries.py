"""Writing entries from the phone: a timed note for the timeline, or a letter to supporters.

Each is written as a small entry file in the upload area (`temoin.collect.entryfile`: the form's
day, time and title above the text) and ingested at once, in the request, through the same path
as any note, so it is on the timeline when the next page loads. The time stays a field: it is
never prefixed to the text, so "Dear everyone," still opens a letter, and an entry written
without a time is not given one.
"""

from __future__ import annotations

import re
import secrets
import shutil
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from temoin.archive import Archive
from temoin.catalog.models import Review
from temoin.catalog.queries import owner_of
from temoin.collect.entryfile import MAX_TITLE_CHARS, EntryFields, format_entry
from temoin.errors import UsageError
from temoin.i18n import marked
from temoin.protect.gate import APPROVED
from temoin.serve.auth import Witness
from temoin.serve.csrf import CheckedForm
from temoin.serve.pages import go, page
from temoin.serve.routes.items import item_for
from temoin.serve.uploads import FOLDER
from temoin.serve.users import Account, acting_as
from temoin.sort.edits import current

router = APIRouter()
MAX_ENTRY_CHARS = 20_000


def read_fields(
    archive: Archive, form: CheckedForm, kind: str | None = None
) -> tuple[EntryFields, str]:
    """The form's fields checked; an empty day and time mean now, the moment it is sent.

    A day without a time stays without one: the entry is kept but timed by nothing it did not
    say (a later edit can add the time).
    """
    kind = kind or str(form.get("form", "note"))
    if kind not in ("note", "letter"):
        raise UsageError(f"{kind}: an entry is a note or a letter")
    text = str(form.get("text", "")).strip()
    if not text:
        raise UsageError(marked("write something first"))
    if len(text) > MAX_ENTRY_CHARS:
        raise UsageError(
            marked("an entry holds at most %(n)s characters") % {"n": f"{MAX_ENTRY_CHARS:,}"}
        )
    title = " ".join(str(form.get("title", "")).split())
    if len(title) > MAX_TITLE_CHARS:
        raise UsageError(marked("a title holds at most %(n)s characters") % {"n": MAX_TITLE_CHARS})
    day_text, clock_text = str(form.get("day", "")).strip(), str(form.get("time", "")).strip()
    day: date | None = None
    clock: time | None = None
    if day_text:
        try:
            day = date.fromisoformat(day_text)
        except ValueError as exc:
            raise UsageError(marked("%(day)s: a day is YYYY-MM-DD") % {"day": day_text}) from exc
    if clock_text:
        if not re.fullmatch(r"\d{1,2}:\d{2}", clock_text):
            raise UsageError(marked("%(time)s: a time is HH:MM") % {"time": clock_text})
        try:
            clock = time.fromisoformat(clock_text.zfill(5))
        except ValueError as exc:
            raise UsageError(marked("%(time)s: a time is HH:MM") % {"time": clock_text}) from exc
    if day is None:
        now = datetime.now(ZoneInfo(archive.settings.timezone))
        day = now.date()
        if not clock_text:
            clock = now.time().replace(second=0, microsecond=0)
    return EntryFields(kind, day, clock, title if kind == "letter" else ""), text


def ingest_entry(
    request: Request, account: Account, fields: EntryFields, text: str, *, source: str
) -> str:
    """Write the entry file, ingest it as `account` (under `source`), and return the item's id."""
    archive = request.app.state.archive
    # an encrypted archive's entry is written in memory (its text is sealed once in the vault),
    # in folders of the same names: where a note was read says it came from this app
    base = archive.ctx.scratch(f"{FOLDER}/entries")
    if archive.ctx.encrypted:
        base = base / FOLDER / "entries"
    folder = base / secrets.token_hex(8)
    writes = request.app.state.writes
    try:
        folder.mkdir(mode=0o700, parents=True)
        path: Path = folder / _file_name(fields)
        path.write_text(format_entry(fields, text), encoding="utf-8")
        report = writes.run(acting_as(archive, account).ingest, [path], source=source)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if report.rejected:
        raise UsageError(
            marked("the entry was refused: %(why)s") % {"why": report.rejected[0].reason}
        )
    if not report.stored_ids:
        raise HTTPException(409, marked("the archive already holds this very entry"))
    return str(report.stored_ids[0])


def _file_name(fields: EntryFields) -> str:
    day = f"{fields.day:%Y%m%d}" if fields.day else "undated"
    clock = f"{fields.time:%Hh%M}" if fields.time else "note"
    return f"entry-{day}-{clock}{'-letter' if fields.form == 'letter' else ''}.txt"


@router.post("/entries")
def write_entry(request: Request, form: CheckedForm, account: Witness) -> Response:
    """A note or a letter, stored as a text original with the witness as its source."""
    archive = request.app.state.archive
    fields, text = read_fields(archive, form)
    item = ingest_entry(request, account, fields, text, source=account.name)
    from temoin.sort.stage import ensure_sorted

    request.app.state.writes.run(ensure_sorted, acting_as(archive, account).ctx)
    return go(f"/timeline#i{item[:16]}")


# -- editing and deleting ------------------------------------------------------------------------


def changeable(request: Request, account: Account, item_id: str) -> dict[str, Any]:
    """The entry's record when this account may change it now; 404 or 403 otherwise.

    The author may until an editor approves it (after that, what was approved is what stands,
    until an editor changes it); an editor may at any time. A witness never reaches another's.
    """
    record = item_for(request, account, item_id)
    archive = request.app.state.archive
    with archive.session() as session:
        current(session, record["id"])  # an entry not yet replaced or deleted
        review = session.get(Review, record["id"])
    if not account.can("editor") and review is not None and review.status == APPROVED:
        raise HTTPException(403, marked("an approved entry can be changed by an editor only"))
    return record


@router.get("/entries/{item_id}/edit")
def edit_page(item_id: str, request: Request, account: Witness) -> Response:
    record = changeable(request, account, item_id)
    fields = record["meta"]["entry"]
    return page(request, "entry_edit.html", title="Change an entry", item=record, fields=fields)


@router.post("/entries/{item_id}/edit")
def edit_entry(item_id: str, request: Request, form: CheckedForm, account: Witness) -> Response:
    """The new text becomes a new item (the old one stays in the vault), then the old is
    marked replaced by it. The new version waits for review like anything new."""
    record = changeable(request, account, item_id)
    archive = request.app.state.archive
    fields, text = read_fields(archive, form, record["meta"]["entry"]["form"])
    with archive.session() as session:
        owner = owner_of(session, record["id"])
    # the editor is named in custody; the entry stays its author's
    author = Account(owner, account.name, account.role) if owner is not None else account
    new = ingest_entry(request, author, fields, text, source=record["source"])
    writes = request.app.state.writes
    acting = acting_as(archive, account)
    writes.run(acting.change_entry, record["id"], new)
    from temoin.sort.stage import ensure_sorted

    writes.run(ensure_sorted, acting.ctx)
    return go(f"/items/{new}")


@router.post("/entries/{item_id}/delete")
def delete_entry(item_id: str, request: Request, form: CheckedForm, account: Witness) -> Response:
    """Off the timeline, the site and the queue; the original and its history stay."""
    record = changeable(request, account, item_id)
    archive = request.app.state.archive
    writes = request.app.state.writes
    acting = acting_as(archive, account)
    writes.run(acting.change_entry, record["id"], None)
    from temoin.sort.stage import ensure_sorted

    writes.run(ensure_sorted, acting.ctx)
    return go("/timeline")
