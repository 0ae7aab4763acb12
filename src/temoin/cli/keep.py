"""Commands of the keep stage: verify and the custody log."""

from __future__ import annotations

import json
import sys

import click

from temoin.cli.main import State, pass_state
from temoin.cli.output import byte_progress, dumps_json, emit_json, err, human_bytes, out, shown
from temoin.errors import IntegrityFault, InterruptedWrite


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--against",
    "against",
    multiple=True,
    metavar="SITE|BAG|HEAD",
    help="Also prove the log still holds the custody head a published site or bag (a folder), "
    "a feed or newsletter (a file) records, or a head given as SEQ:HASH. Repeatable.",
)
@pass_state
def verify(state: State, as_json: bool, against: tuple[str, ...]) -> None:
    """Re-hash every original, walk the custody chain and replay it against the catalog; exit 1
    on any fault.

    Each fault names the object and its kind: changed, missing, untracked or chain-broken.
    Blobs an interrupted write left behind are not faults: they are counted apart (exit 8), and
    the next ingest collects them.
    """
    archive = state.archive()
    total = archive.stored_bytes()
    with byte_progress("verify", total, enabled=not as_json) as advance:
        report = archive.verify(progress=advance, against=against)
    if as_json:
        emit_json(report.as_dict())
    else:
        for fault in report.faults:
            err.print(f"[red]{fault.kind}[/red]: {shown(fault.object)}: {shown(fault.detail)}")
        if report.interrupted:
            err.print(
                f"[yellow]interrupted write[/yellow]: {len(report.interrupted)} blob(s) will be "
                "collected by the next ingest (nothing stored was altered)"
            )
        if report.in_progress:
            err.print(f"{report.in_progress} blob(s) were being stored while verify ran")
        for note in report.unchecked:
            err.print(f"not checked: {shown(note)}")
        verdict = "ok" if report.ok else f"{len(report.faults)} fault(s)"
        if report.ok and report.interrupted:
            verdict = "interrupted"
        out.print(
            f"{verdict}: {report.blobs} originals ({human_bytes(report.bytes)}) re-hashed, "
            f"{report.events} custody events checked, "
            f"{report.derivatives} signed derivatives checked"
        )
    if not report.ok:
        raise IntegrityFault(f"{len(report.faults)} fault(s) found: the archive was altered")
    if report.interrupted:
        raise InterruptedWrite(
            f"interrupted write: {len(report.interrupted)} blob(s) will be collected by the next "
            "ingest"
        )


@click.command(name="log")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (JSON Lines).")
@pass_state
def custody_log(state: State, as_json: bool) -> None:
    """The custody log, oldest first (JSON Lines with --json, checkable without temoin)."""
    for event in state.archive().custody_log():
        if as_json:
            sys.stdout.write(dumps_json(event, sort_keys=True) + "\n")
        else:
            out.print(
                f"#{event['seq']:<5} {event['at']} {shown(event['actor'])} {event['action']} "
                f"{(event['item'] or '')[:12]} {shown(json.dumps(event['detail'], ensure_ascii=False))}"
            )


COMMANDS = [verify, custody_log]
