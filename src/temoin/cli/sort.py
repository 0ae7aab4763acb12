"""Commands of the sort stage: timeline, figures, clock, diary, search, tag, caption, dupes, moment."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from temoin.cli.main import State, pass_state
from temoin.cli.output import emit_json, err, json_option, out, shown
from temoin.errors import UsageError
from temoin.kinds import CHAT_LINES, Kind
from temoin.sort.clock import format_offset, parse_offset
from temoin.sort.records import NoteDayRecord, NoteDaySet


def _stale_note(fresh: bool, state: State) -> None:
    if not fresh:
        why = (
            "the archive is read-only"
            if state.archive().read_only
            else "another temoin process is writing"
        )
        err.print(f"[yellow]note:[/yellow] {why}; shown as last sorted")


def _clock_of(time: str | None) -> str:
    return time[11:19] if time else "--:--:--"


def _day(day: str | None) -> date | None:
    if not day:
        return None
    try:
        return date.fromisoformat(day)
    except ValueError as exc:
        raise UsageError(f"--day {day}: write the day as YYYY-MM-DD") from exc


@click.command(name="timeline")
@click.option("--day", help="Only this day (YYYY-MM-DD, in the shown time zone).")
@click.option(
    "--tz", "timezone", help="Show local times in this IANA zone (default: the archive's)."
)
@json_option
@pass_state
def timeline_cmd(state: State, day: str | None, timezone: str | None, as_json: bool) -> None:
    """Every item in one order: day by day, moment by moment, local time with its clock.

    Derived tables are rebuilt first when something was ingested or a clock was corrected.
    """
    result = state.archive().timeline(day=_day(day), timezone=timezone)
    _stale_note(result["fresh"], state)
    if as_json:
        emit_json(result)
        return
    out.print(f"[dim]times in {shown(result['zone'])}[/dim]")
    for source, zone in result["source_zones"].items():
        out.print(f"[dim]{shown(source)}: its own times read in {shown(zone)}[/dim]")
    for bucket in result["days"]:
        out.print(f"[bold]{bucket['day']}[/bold]")
        for moment in bucket["moments"]:
            title = f" {shown(moment['name'])}" if moment["name"] else ""
            span = f"{_clock_of(moment['start'])}–{_clock_of(moment['end'])}"
            out.print(f"  [bold]moment {moment['id']}[/bold]{title}  [dim]{span}[/dim]")
            for row in moment["items"]:
                out.print("    " + _row_line(row))


def _row_line(row: dict[str, Any]) -> str:
    texts = (*CHAT_LINES, "entry", "dispatch")  # entries and dispatches: cut from notes
    what = row.get("text") if row["kind"] in texts else row.get("name")
    if row["kind"] == Kind.MESSAGE and row.get("author"):
        what = f"{row['author']}: {what or ''}"
    first = (what or "").strip().splitlines()[0] if (what or "").strip() else ""
    if row["kind"] == Kind.MESSAGE and row.get("attachment"):
        first = f"{first} [attachment {row['attachment'][:10]}]".strip()
    if row.get("attachment_missing"):
        first = f"{first} [attachment missing]".strip()
    extras = []
    if row.get("caption"):
        extras.append(f'"{row["caption"]}"')
    if row.get("tags"):
        extras.append("#" + " #".join(row["tags"]))
    if row.get("figures"):
        extras.append("= " + ", ".join(f"{f['value']} {f['what']}" for f in row["figures"]))
    if row.get("dupe_group") is not None:
        extras.append(f"dupes:{row['dupe_group']}{'*' if row.get('representative') else ''}")
    doubt = "  [yellow]day uncertain[/yellow]" if row.get("day_uncertain") else ""
    return (
        f"{_clock_of(row['time'])} [dim]{row['id'][:10]}[/dim] {row['kind']:<8} "
        f"{shown(row['source'])}: {shown(first[:80])}"
        f"{'  ' + shown(' '.join(extras)) if extras else ''}{doubt}"
        f"  [dim]({row['time_source']} {row['confidence'] or 0:.2f})[/dim]"
    )


@click.command(name="figures")
@click.option("--day", help="Only this day (YYYY-MM-DD, in the shown time zone).")
@click.option(
    "--tz", "timezone", help="Show local times in this IANA zone (default: the archive's)."
)
@json_option
@pass_state
def figures_cmd(state: State, day: str | None, timezone: str | None, as_json: bool) -> None:
    """Every count stated in notes and chat messages ("40 bus", "deux cents personnes"),
    in time order, with the sentence around it and the item it came from."""
    result = state.archive().figures(day=_day(day), timezone=timezone)
    _stale_note(result["fresh"], state)
    if as_json:
        emit_json(result)
        return
    for figure in result["figures"]:
        when = (figure["time"] or "undated")[:19].replace("T", " ")
        about = "~" if figure["approximate"] else ""
        sentence = " ".join(figure["text"].split())
        out.print(
            f"{when} [bold]{about}{figure['value']}[/bold] {shown(figure['what'])}: "
            f"{shown(sentence[:100])} [dim]({figure['kind']} {figure['item'][:10]}, "
            f"{shown(figure['source'])})[/dim]"
        )
    if not result["figures"]:
        out.print("no stated count")


@click.command(name="clock")
@click.argument("source", required=False)
@click.argument("offset", required=False)
@click.option("--reason", default="", help="Why: recorded in the custody log.")
@click.option("--tz", "timezone", help="Also read this source's naive times in this IANA zone.")
@click.option("--estimate", is_flag=True, help="Propose offsets from GPS stamps and duplicates.")
@click.option("--apply", "apply_", is_flag=True, help="With --estimate: set what it proposes.")
@json_option
@pass_state
def clock_cmd(
    state: State,
    source: str | None,
    offset: str | None,
    reason: str,
    timezone: str | None,
    estimate: bool,
    apply_: bool,
    as_json: bool,
) -> None:
    """Correct a device's clock: SOURCE +HH:MM:SS means it ran that much slow (- fast).

    Every item of SOURCE moves; the correction is logged in custody and can be set again.
    SOURCE --tz ZONE alone reads that device's naive times in ZONE and keeps its offset. With no
    arguments, list the corrections; with --estimate, propose offsets from the evidence (GPS time
    versus camera time, copies seen on two devices) and how sure each is; --apply sets them.
    An offset starting with "-" needs "--" before it: temoin clock -- "Jules's phone" -00:01:00.
    """
    archive = state.archive()
    if estimate:
        if source or offset:
            raise UsageError("--estimate takes no SOURCE or OFFSET")
        result = archive.estimate_clock(apply=apply_)
        if as_json:
            emit_json(result)
            return
        if not result["proposals"]:
            out.print("no evidence of clock skew (no GPS-stamped photos, no shared copies)")
        for p in result["proposals"]:
            mark = "applied" if p["source"] in result["applied"] else "proposed"
            out.print(
                f"{shown(p['source'])}: {p['offset']} ({mark}; now {p['current']}) from "
                f"{shown(p['evidence'])}, {p['samples']} samples, spread {p['spread_seconds']} s, "
                f"confidence {p['confidence']:.2f}"
            )
        if result["proposals"] and not apply_:
            out.print("run again with --apply to set these")
        return
    if apply_:
        raise UsageError("--apply goes with --estimate")
    if source is None:
        rows = archive.clocks()
        if as_json:
            emit_json(rows)
            return
        for row in rows:
            zone = f" tz {row['timezone']}" if row["timezone"] else ""
            out.print(
                f"{row['at'][:19]} {shown(row['source'])}: {row['offset']}{zone} "
                f"by {shown(row['set_by'])}: {shown(row['reason'])}"
            )
        return
    if offset is None and timezone is None:
        raise UsageError("give the offset, e.g. +00:03:20 (clock was slow) or -00:01:00 (fast)")
    seconds: float | None = None
    if offset is not None:
        try:
            seconds = parse_offset(offset)
        except ValueError as exc:
            raise UsageError(f"{offset}: {exc}") from exc
    record = archive.set_clock(source, seconds, reason=reason, timezone=timezone)
    if as_json:
        emit_json(record)
        return
    zone = f", its times read in {shown(record['timezone'])}" if record["timezone"] else ""
    out.print(
        f"{shown(source)}: clock offset {record['offset']} "
        f"(was {format_offset(record['previous_seconds'])}){zone}; its items move on the next view"
    )


@click.command(name="diary")
@click.argument("item_id")
@click.option(
    "--day",
    metavar="YYYY-MM-DD|auto",
    help="Set the note's day by hand (logged in custody); auto gives it back to the evidence.",
)
@json_option
@pass_state
def diary_cmd(state: State, item_id: str, day: str | None, as_json: bool) -> None:
    """A note's day, what gave it, and its timed entries; --day sets the day by hand.

    A note that does not write its date takes the day from a date written in it, then from the
    photos and messages ingested with it, then from its file name, and last from its file time;
    then its entries are marked "day uncertain". A date line in the note dates what follows it.
    """
    archive = state.archive()
    changed: NoteDaySet | None = None
    if day is None:
        result: NoteDayRecord = archive.note_day(item_id)
    else:
        wanted: date | None = None
        if day != "auto":
            try:
                wanted = date.fromisoformat(day)
            except ValueError as exc:
                raise UsageError(f"--day {day}: write the day as YYYY-MM-DD, or auto") from exc
        result = changed = archive.set_note_day(item_id, wanted)
    _stale_note(result["fresh"], state)
    if as_json:
        emit_json(result)
        return
    out.print(f"{result['id'][:12]} {shown(result['name'])} ({shown(result['source'])})")
    if changed is not None:
        if not changed["changed"]:
            out.print("unchanged")
        elif changed["set_by_hand"]:
            was = changed["previous"] or "from the evidence"
            out.print(f"day set by hand to {changed['set_by_hand']} (was {was}); logged in custody")
        else:
            out.print(f"day given back to the evidence (was {changed['previous']}); logged")
    if result["day"] is None:
        out.print("no timed entries: nothing on the timeline takes a day from this note")
        return
    doubt = "  [yellow]day uncertain[/yellow]" if result["day_uncertain"] else ""
    out.print(f"day {result['day']}, from {shown(result['day_from_label'] or '')}{doubt}")
    if result["day_uncertain"]:
        out.print(f"set it with: temoin diary {result['id'][:12]} --day YYYY-MM-DD")
    for entry in result["entries"]:
        first = entry["text"].strip().splitlines()[0] if entry["text"].strip() else ""
        mark = "  [yellow]day uncertain[/yellow]" if entry["day_uncertain"] else ""
        out.print(
            f"  {(entry['time'] or '')[:16].replace('T', ' ')}  {shown(first[:70])}"
            f"  [dim]({shown(entry['day_from'] or '')})[/dim]{mark}"
        )


@click.command(name="search")
@click.argument("query")
@click.option(
    "--limit",
    type=int,
    default=100,
    show_default=True,
    help="At most this many results, oldest first; 0 for all.",
)
@json_option
@pass_state
def search_cmd(state: State, query: str, limit: int, as_json: bool) -> None:
    """Find words in notes, messages, captions, tags and file names, in timeline order.

    Every word must appear; accents do not matter; end a word with * for a prefix (polic*).
    """
    result = state.archive().search(query, limit=limit or None)
    _stale_note(result["fresh"], state)
    if as_json:
        emit_json(result)
        return
    for hit in result["results"]:
        first = hit["text"].strip().splitlines()[0] if hit["text"].strip() else ""
        when = (hit["time"] or "undated")[:19].replace("T", " ")
        out.print(
            f"{when} [dim]{hit['id'][:10]}[/dim] {hit['field']:<7} "
            f"{shown(hit['source'] or '')}: {shown(first[:90])}"
        )
    if not result["results"]:
        out.print("no match")
    elif limit and len(result["results"]) == limit:
        err.print(f"the first {limit} matches; --limit 0 shows them all")


@click.command(name="tag")
@click.argument("item_id")
@click.argument("tags", nargs=-1, required=True)
@json_option
@pass_state
def tag_cmd(state: State, item_id: str, tags: tuple[str, ...], as_json: bool) -> None:
    """Put words on an item (e.g. police barrier); logged in custody, found by search."""
    result = state.archive().tag(item_id, list(tags))
    if as_json:
        emit_json(result)
        return
    out.print(f"{result['id'][:12]}: {shown(' '.join(result['tags']))}")


@click.command(name="caption")
@click.argument("item_id")
@click.argument("text")
@json_option
@pass_state
def caption_cmd(state: State, item_id: str, text: str, as_json: bool) -> None:
    """Describe an item in a sentence; replaces its caption, logged in custody, searchable."""
    result = state.archive().caption(item_id, text)
    if as_json:
        emit_json(result)
        return
    out.print(f"{result['id'][:12]}: {shown(result['caption'])}")


@click.command(name="dupes")
@json_option
@pass_state
def dupes_cmd(state: State, as_json: bool) -> None:
    """Near-duplicate groups (burst shots, re-sent copies) with the copy kept in front (*).

    Nothing is deleted: every copy stays in the vault and on the record.
    """
    result = state.archive().dupes()
    if as_json:
        emit_json(result)
        return
    for line in result["failed"]:
        err.print(f"[yellow]not hashed:[/yellow] {shown(line)}")
    for group in result["groups"]:
        out.print(f"[bold]group {group['group']}[/bold]")
        for item in group["items"]:
            mark = "*" if item["representative"] else " "
            out.print(
                f"  {mark} {item['id'][:12]} {item['kind']:<5} d={item['distance']:<2} "
                f"{shown(item['source'])}: {shown(item['name'])}"
            )
    if not result["groups"]:
        out.print("no near-duplicates")


@click.group(name="moment")
def moment_cmd() -> None:
    """Moments are items close in time and place; give them names."""


@moment_cmd.command(name="name")
@click.argument("ref")
@click.argument("name")
@json_option
@pass_state
def moment_name(state: State, ref: str, name: str, as_json: bool) -> None:
    """Name moment REF (its number in `timeline`, or an item id in it), e.g. "Queue at the bridge"."""
    result = state.archive().name_moment(ref, name)
    if as_json:
        emit_json(result)
        return
    out.print(f"moment {result['moment']}: {shown(result['name'])} ({result['items']} items)")


COMMANDS = [
    timeline_cmd,
    figures_cmd,
    clock_cmd,
    diary_cmd,
    search_cmd,
    tag_cmd,
    caption_cmd,
    dupes_cmd,
    moment_cmd,
]
