"""Commands of the collect stage: init, ingest, status, ls, show."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from temoin.archive import Archive
from temoin.cli.main import State, pass_state
from temoin.cli.output import byte_progress, emit_json, err, human_bytes, json_option, out, shown
from temoin.cli.secrecy import note_where_keys_live, passphrase_stdin, read_passphrase
from temoin.collect.walk import Candidate
from temoin.errors import SomeRejected, UsageError
from temoin.kinds import CHAT_LINES, Kind
from temoin.timeutil import machine_zone


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--name", help="The archive's name (default: the folder's name).")
@click.option(
    "--timezone",
    help="IANA time zone in which devices' naive local times are read, e.g. Europe/Paris "
    "(default: this machine's, or UTC when it cannot be known).",
)
@click.option(
    "--encrypt",
    is_flag=True,
    help="Encrypt everything the archive writes, under a passphrase (asked twice, or see "
    "--passphrase-stdin and TEMOIN_PASSPHRASE).",
)
@passphrase_stdin
def init(
    folder: Path, name: str | None, timezone: str | None, encrypt: bool, passphrase_stdin: bool
) -> None:
    """Create an archive in FOLDER: vault/, catalog, custody log and temoin.toml."""
    change = "change with --timezone at init, or timezone in temoin.toml"
    why = ""
    if timezone is None:
        found = machine_zone()
        timezone = found or "UTC"
        why = f" (this machine's; {change})" if found else ""
        if not found:
            err.print("[yellow]note:[/yellow] this machine's time zone cannot be known; using UTC")
            why = f" (this machine's zone is unknown: UTC used; {change})"
    if passphrase_stdin and not encrypt:
        raise UsageError("--passphrase-stdin is for an encrypted archive: add --encrypt")
    phrase = read_passphrase(passphrase_stdin, confirm=True) if encrypt else None
    archive = Archive.create(folder, name=name, timezone=timezone, passphrase=phrase)
    archive.close()  # its connections end with the command (on a server, they are the server's)
    out.print(f"created archive {shown(archive.settings.name)} in {shown(str(folder))}")
    out.print(f"time zone: {shown(timezone)}{why}")
    if archive.settings.encrypt:
        note_where_keys_live()
        hours = archive.settings.unlock_hours
        until = f"for {hours:g} h" if hours else "until `temoin lock`"
        out.print(f"encrypted at rest; unlocked {until} (`temoin lock` locks it now)")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--source",
    help="Whose device or which person this material comes from (default: the first path's name).",
)
@json_option
@pass_state
def ingest(state: State, paths: tuple[Path, ...], source: str | None, as_json: bool) -> None:
    """Copy originals from folders, files and zips into the vault and catalog them.

    Sources are only read, never changed. Bad files are listed with the reason and the batch goes
    on; the exit status is 6 when some were rejected.
    """
    archive = state.archive()
    label = source or paths[0].absolute().name
    from temoin.collect.ingest import plan

    watched = not as_json and err.is_terminal
    # sizing the bar walks the sources once more: only worth it when someone watches it
    total = sum(c.size for c in plan(paths) if isinstance(c, Candidate)) if watched else 0
    with byte_progress("ingest", total, enabled=watched) as advance:
        report = archive.ingest(paths, source=label, progress=advance)
    if as_json:
        emit_json(report.as_dict())
    else:
        for line in report.rejected:
            err.print(f"[yellow]rejected:[/yellow] {shown(line.line())}")
        for line in report.damaged:
            err.print(f"[yellow]stored, damaged:[/yellow] {shown(line.line())}")
        out.print(
            f"{shown(label)}: {report.stored} stored, {report.duplicates} already in the vault, "
            f"{report.messages} chat messages, {len(report.rejected)} rejected "
            f"({human_bytes(report.bytes)} in {report.seconds:.1f} s)"
        )
    if report.rejected:
        raise SomeRejected(f"{len(report.rejected)} file(s) rejected; see the list above")


@click.command()
@json_option
@pass_state
def status(state: State, as_json: bool) -> None:
    """Counts by kind and by source, and every rejected file with its reason."""
    info = state.archive().status()
    if as_json:
        emit_json(info)
        return
    out.print(
        f"[bold]{shown(info['archive'])}[/bold]: {info['originals']} originals "
        f"({human_bytes(info['bytes'])}), {info['custody_events']} custody events, "
        f"{info['ingest_runs']} ingest runs"
    )
    table = Table("kind", "items", box=None)
    for kind, count in sorted(info["by_kind"].items()):
        table.add_row(kind, str(count))
    out.print(table)
    table = Table("source", "files", box=None)
    for source, count in sorted(info["by_source"].items()):
        table.add_row(shown(source), str(count))
    out.print(table)
    if info["rejected"]:
        out.print(f"[yellow]{len(info['rejected'])} rejected:[/yellow]")
        for row in info["rejected"]:
            out.print(f"  {shown(row['source'])}: {shown(row['path'])}: {shown(row['reason'])}")


@click.command(name="ls")
@click.option("--kind", type=click.Choice([kind.value for kind in Kind]))
@click.option("--source", help="Only items from this source.")
@click.option("--messages", is_flag=True, help="Include chat messages and the chats' own lines.")
@click.option("--limit", type=int, help="At most this many items.")
@json_option
@pass_state
def ls(
    state: State,
    kind: str | None,
    source: str | None,
    messages: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    """Items in time order, with their metadata."""
    records = state.archive().list_items(kind=kind, source=source, messages=messages, limit=limit)
    if as_json:
        emit_json(records)
        return
    table = Table("id", "time", "kind", "source", "name", box=None)
    for record in records:
        chat_line = record["kind"] in CHAT_LINES
        name = (record.get("text") or "")[:60] if chat_line else record["name"]
        if record.get("damaged"):
            name = f"{name} (damaged)"
        table.add_row(
            record["id"][:12],
            (record["time"] or "?")[:19].replace("T", " "),
            record["kind"],
            shown(record["source"]),
            shown(name),
        )
    out.print(table)


@click.command()
@click.argument("item_id")
@json_option
@pass_state
def show(state: State, item_id: str, as_json: bool) -> None:
    """One item: all metadata, where it was seen, and its custody events."""
    record = state.archive().describe(item_id)
    if as_json:
        emit_json(record)
        return
    for key in (
        "id",
        "kind",
        "name",
        "damaged",
        "source",
        "mime",
        "time",
        "time_utc",
        "captured",
        "capture_source",
        "sha256",
        "author",
        "text",
        "chat",
        "attachment",
        "attachment_missing",
        "messages",
    ):
        if record.get(key) is not None:
            out.print(f"[bold]{key:>15}[/bold]  {shown(str(record[key]))}")
    if record.get("day_from_label"):
        doubt = "  [yellow]day uncertain[/yellow]" if record["day_uncertain"] else ""
        out.print(
            f"[bold]{'day':>15}[/bold]  {record['day']}, from {shown(record['day_from_label'])}"
            f"{doubt}"
        )
    for key, value in sorted(record["meta"].items()):
        out.print(f"[bold]{key:>15}[/bold]  {shown(str(value))}")
    out.print("[bold]seen[/bold]")
    for seen in record["sightings"]:
        out.print(f"  {seen['seen_at']}  {shown(seen['source'])}: {shown(seen['path'])}")
    out.print("[bold]custody[/bold]")
    for event in record["custody"]:
        out.print(f"  #{event['seq']} {event['at']} {shown(event['actor'])} {event['action']}")


@click.command(name="settings")
@json_option
@pass_state
def settings_cmd(state: State, as_json: bool) -> None:
    """Every setting: its value in this archive, its default and what it does."""
    from temoin.settings import Settings

    current = state.archive().settings
    rows = [
        {
            "name": name,
            "value": _shown(name, getattr(current, name)),
            "default": default,
            "help": help_text,
        }
        for name, default, help_text in Settings.help_table()
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table("setting", "value", "default", "meaning", box=None)
    for row in rows:
        table.add_row(row["name"], shown(str(row["value"])), str(row["default"]), row["help"])
    out.print(table)


def _shown(name: str, value: object) -> object:
    """Settings are printed for people and scripts; a database password is not."""
    if name == "database_url" and value:
        from sqlalchemy.engine import make_url

        return make_url(str(value)).render_as_string(hide_password=True)
    return value


COMMANDS = [init, ingest, status, ls, show, settings_cmd]
