"""Commands of the keep stage: verify and the custody log."""

from __future__ import annotations

import json
import sys

import click

from temoin.cli.main import State, pass_state
from temoin.cli.output import byte_progress, dumps_json, emit_json, err, human_bytes, out, shown
from temoin.errors import IntegrityFault


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def verify(state: State, as_json: bool) -> None:
    """Re-hash every original and walk the custody chain; exit 1 on any fault.

    Each fault names the object and its kind: changed, missing, untracked or chain-broken.
    """
    archive = state.archive()
    total = archive.stored_bytes()
    with byte_progress("verify", total, enabled=not as_json) as advance:
        report = archive.verify(progress=advance)
    if as_json:
        emit_json(report.as_dict())
    else:
        for fault in report.faults:
            err.print(f"[red]{fault.kind}[/red]: {shown(fault.object)}: {shown(fault.detail)}")
        verdict = "ok" if report.ok else f"{len(report.faults)} fault(s)"
        out.print(
            f"{verdict}: {report.blobs} originals ({human_bytes(report.bytes)}) re-hashed, "
            f"{report.events} custody events checked, "
            f"{report.derivatives} signed derivatives checked"
        )
    if not report.ok:
        raise IntegrityFault(f"{len(report.faults)} fault(s) found: the archive was altered")


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
