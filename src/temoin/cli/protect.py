"""Commands of the protect stage: people, redact, review, audit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from temoin.cli.main import State, pass_state
from temoin.cli.output import emit_json, err, json_option, out, shown
from temoin.errors import FacesFound, RedactFailed, UsageError
from temoin.kinds import RENDERED
from temoin.protect.profiles import PROFILES

if TYPE_CHECKING:
    from temoin.protect.records import ConsentResult, ReviewRecord


@click.group()
def people() -> None:
    """The consent register: who agreed to what (default: nobody agreed to anything)."""


@people.command(name="add")
@click.argument("name")
@click.option(
    "--consent",
    type=click.Choice(["yes", "no", "withdrawn"]),
    required=True,
    help="What the person said.",
)
@click.option("--scope", help="What a yes covers: any of face,voice,name.")
@click.option("--how", default="", help="How it was asked and answered, e.g. 'on camera, 07:40'.")
@click.option("--when", "given_at", help="When they said it (default: now).")
@click.option("--description", help="How to recognise them in the material (no photos).")
@json_option
@pass_state
def people_add(
    state: State,
    name: str,
    consent: str,
    scope: str | None,
    how: str,
    given_at: str | None,
    description: str | None,
    as_json: bool,
) -> None:
    """Add NAME (a name or a description) or change what they agreed to."""
    from temoin.protect.consent import parse_scope

    result = state.archive().add_person(
        name,
        consent=consent,
        scope=parse_scope(scope),
        how=how,
        given_at=given_at,
        description=description,
    )
    _said(result, as_json)


@people.command(name="withdraw")
@click.argument("name")
@click.option("--how", default="", help="How the withdrawal was made known.")
@json_option
@pass_state
def people_withdraw(state: State, name: str, how: str, as_json: bool) -> None:
    """NAME withdraws consent: their faces are covered again and those items need review."""
    _said(state.archive().withdraw_person(name, how), as_json)


@people.command(name="ls")
@json_option
@pass_state
def people_ls(state: State, as_json: bool) -> None:
    """Everyone in the register, with their consent and its scope."""
    records = state.archive().people()
    if as_json:
        emit_json(records)
        return
    table = Table("name", "consent", "scope", "when", "how", "recorded by", box=None)
    for r in records:
        table.add_row(
            shown(r["name"]),
            r["consent"],
            ",".join(r["scope"]) or "-",
            shown(r["when"] or ""),
            shown(r["how"] or ""),
            shown(r["recorded_by"]),
        )
    out.print(table)


def _said(result: ConsentResult, as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    scope = ",".join(result["scope"]) or "nothing"
    out.print(f"{shown(result['person'])}: consent {result['consent']} (covers {scope})")
    if result["rerendered"]:
        out.print(f"{len(result['rerendered'])} derivative(s) rendered again; they need review")


@click.command()
@click.option(
    "--export",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also copy every publishable derivative here (with the public key and signed records).",
)
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option(
    "--recall",
    type=click.Choice(list(PROFILES)),
    help="Face detection profile (default: the archive's `recall` setting). Items made with a "
    "lower profile are rendered again; none is ever lowered. "
    + "; ".join(f"{p.name}: {p.summary}" for p in PROFILES.values()),
)
@click.option(
    "--every",
    type=click.IntRange(1, 60),
    help="On video, detect on every Nth frame (default: the profile's; tracks fill the rest).",
)
@json_option
@pass_state
def redact(
    state: State,
    export: Path | None,
    threads: int,
    recall: str | None,
    every: int | None,
    as_json: bool,
) -> None:
    """Make the covered, metadata-free derivative of every photo, video and voice note that
    needs one."""
    from rich.progress import Progress

    progress = Progress(console=err, transient=True, disable=as_json or not err.is_terminal)
    with progress:
        task = progress.add_task("redact", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = state.archive().redact(
            export=export, threads=threads, every=every, recall=recall, progress=advance
        )
    if as_json:
        emit_json(report.as_dict())
    else:
        for item, reason in report.failed:
            err.print(f"[red]failed[/red]: {item[:12]}: {shown(reason)}")
        line = (
            f"{len(report.rendered)} rendered, {report.unchanged} already current, "
            f"{len(report.failed)} failed ({report.seconds:.1f} s)"
        )
        if export is not None:
            line += f"; {len(report.exported)} publishable exported to {shown(str(export))}"
        out.print(line)
    if report.failed:
        raise RedactFailed()


@click.command()
@click.argument("item_id", required=False)
@click.option(
    "--link-face",
    nargs=2,
    type=(int, str),
    metavar="N PERSON",
    help="Face N of the derivative is PERSON (it stays visible only if their consent covers faces).",
)
@click.option("--unlink-face", type=int, metavar="N", help="Take back face N's link (photo).")
@click.option(
    "--link-track",
    nargs=2,
    type=(int, str),
    metavar="N PERSON",
    help="Face track N of a video is PERSON (visible on every frame it covers, if they consented).",
)
@click.option("--unlink-track", type=int, metavar="N", help="Take back track N's link (video).")
@click.option("--dismiss-face", type=int, metavar="N", help="Photo face N is not a face: leave it.")
@click.option("--restore-face", type=int, metavar="N", help="Cover photo face N again.")
@click.option("--dismiss-track", type=int, metavar="N", help="Video track N is not a face.")
@click.option("--restore-track", type=int, metavar="N", help="Cover video track N again.")
@click.option("--remove-box", type=int, metavar="N", help="Take back added box N.")
@click.option(
    "--link-voice", metavar="PERSON", help="PERSON's voice is heard on this item's sound."
)
@click.option("--unlink-voice", metavar="PERSON", help="Take back a voice link.")
@click.option(
    "--voices-checked/--voices-unchecked",
    default=None,
    help="You listened to the whole sound and linked every voice heard (or take that back).",
)
@click.option(
    "--add-box", metavar="X,Y,W,H", help="Also cover this region (fractions of the picture)."
)
@click.option("--from", "start", metavar="MM:SS", help="On video, cover the box from this time.")
@click.option("--to", "end", metavar="MM:SS", help="On video, cover the box until this time.")
@click.option(
    "--mute/--unmute",
    default=None,
    help="Remove (or restore) a video's sound; the video is rendered again and needs approval.",
)
@click.option("--approve", is_flag=True, help="Approve the item as it is now.")
@click.option(
    "--damaged-ok",
    is_flag=True,
    help="With --approve: the original is damaged (see `temoin show`) and you have seen that.",
)
@click.option("--release", is_flag=True, help="Send a withheld item back to the queue.")
@click.option(
    "--withheld", "list_withheld", is_flag=True, help="List withheld items and why (no ID)."
)
@click.option(
    "--expect",
    metavar="SHA256",
    help="With --approve, --link-track or --unlink-track: the rendering you looked at (its "
    "hash, 12 characters or more, as `review ID` prints it); refused if it changed since.",
)
@click.option("--withhold", metavar="REASON", help="Never publish this item, and say why.")
@json_option
@pass_state
def review(
    state: State,
    item_id: str | None,
    link_face: tuple[int, str] | None,
    unlink_face: int | None,
    link_track: tuple[int, str] | None,
    unlink_track: int | None,
    dismiss_face: int | None,
    restore_face: int | None,
    dismiss_track: int | None,
    restore_track: int | None,
    remove_box: int | None,
    link_voice: str | None,
    unlink_voice: str | None,
    voices_checked: bool | None,
    add_box: str | None,
    start: str | None,
    end: str | None,
    mute: bool | None,
    approve: bool,
    damaged_ok: bool,
    release: bool,
    list_withheld: bool,
    expect: str | None,
    withhold: str | None,
    as_json: bool,
) -> None:
    """The queue of items awaiting a decision, or one item and a decision on it."""
    from temoin.protect import review as decisions

    archive = state.archive()
    chosen = [
        link_face is not None,
        unlink_face is not None,
        link_track is not None,
        unlink_track is not None,
        dismiss_face is not None,
        restore_face is not None,
        dismiss_track is not None,
        restore_track is not None,
        remove_box is not None,
        release,
        link_voice is not None,
        unlink_voice is not None,
        voices_checked is not None,
        add_box is not None,
        mute is not None,
        approve,
        withhold is not None,
    ]
    if sum(chosen) > 1:
        raise UsageError("give one decision at a time")
    if (start or end) and add_box is None:
        raise UsageError("--from and --to go with --add-box")
    bound = approve or link_track or unlink_track is not None or dismiss_track is not None
    if expect and not bound:
        raise UsageError(
            "--expect goes with --approve, --link-track, --unlink-track or --dismiss-track"
        )
    if damaged_ok and not approve:
        raise UsageError("--damaged-ok goes with --approve")
    if any(chosen) and item_id is None:
        raise UsageError("which item? give its id first: temoin review ID --approve")
    if item_id is None:
        records = archive.review_queue("withheld" if list_withheld else "pending")
        if as_json:
            emit_json(records)
        else:
            _print_queue(records, withheld=list_withheld)
        return
    if list_withheld:
        raise UsageError("--withheld lists every withheld item: give no ID")
    if link_face is not None:
        record = archive.link_face(item_id, link_face[0], link_face[1])
    elif unlink_face is not None:
        record = archive.unlink_face(item_id, unlink_face)
    elif link_track is not None:
        record = archive.link_track(item_id, link_track[0], link_track[1], expect)
    elif unlink_track is not None:
        record = archive.unlink_track(item_id, unlink_track, expect)
    elif dismiss_face is not None or restore_face is not None:
        face = dismiss_face if dismiss_face is not None else restore_face
        assert face is not None
        record = archive.dismiss_face(
            item_id, face, restore=restore_face is not None, expect=expect
        )
    elif dismiss_track is not None:
        record = archive.dismiss_track(item_id, dismiss_track, expect=expect)
    elif restore_track is not None:
        record = archive.dismiss_track(item_id, restore_track, restore=True)
    elif remove_box is not None:
        record = archive.remove_box(item_id, remove_box)
    elif release:
        record = archive.release(item_id)
    elif link_voice is not None:
        record = archive.link_voice(item_id, link_voice)
    elif unlink_voice is not None:
        record = archive.unlink_voice(item_id, unlink_voice)
    elif voices_checked is not None:
        record = archive.set_voices_checked(item_id, voices_checked)
    elif add_box is not None:
        box = decisions.parse_box(add_box)
        record = archive.add_box(
            item_id, box, decisions.parse_time(start), decisions.parse_time(end)
        )
    elif mute is not None:
        record = archive.set_mute(item_id, mute)
    elif approve:
        record = archive.approve(item_id, expect, damaged_ok)
        approved = record["derivative"]
        if approved and not as_json:
            out.print(f"approved rendering {approved['sha256']}")
    elif withhold is not None:
        record = archive.withhold(item_id, withhold)
    else:
        record = archive.review_item(item_id)
    if as_json:
        emit_json(record)
    else:
        _print_item(record)


def _print_queue(records: list[ReviewRecord], *, withheld: bool = False) -> None:
    if not records:
        out.print("nothing is withheld" if withheld else "nothing awaits review")
        return
    if withheld:
        table = Table("id", "kind", "name", "why", box=None)
        for r in records:
            table.add_row(r["id"][:12], r["kind"], shown(r["name"]), shown(r["reason"] or ""))
        out.print(table)
        return
    table = Table("id", "kind", "name", "faces", "derivative", box=None)
    for r in records:
        table.add_row(r["id"][:12], r["kind"], shown(r["name"]), _faces(r), _derivative_state(r))
    out.print(table)


def _print_item(r: ReviewRecord) -> None:
    out.print(f"[bold]{r['id'][:12]}[/bold] {r['kind']} {shown(r['name'])}: {r['status']}")
    out.print(f"  derivative: {_derivative_state(r)}")
    detections = r.get("detections")
    if isinstance(detections, list):
        for d in detections:
            label = f"face {d['n']}" if "n" in d else d["source"]
            fate = "covered" if d["anonymised"] else f"visible (person #{d.get('person')})"
            if d.get("dismissed"):
                fate = "left uncovered: dismissed as not a face"
            box = ",".join(f"{v:.3f}" for v in d["box"])
            out.print(f"  {label}: {box} {fate}")
    elif isinstance(detections, dict) and "tracks" in detections:
        fps = detections.get("fps") or 1.0
        out.print(
            f"  {len(detections['tracks'])} face track(s) on "
            f"{detections['frames_with_faces']}/{detections['frames']} frames "
            f"(recall {detections.get('recall')}, {len(detections.get('cuts', [])) - 1} scene cut(s))"
        )
        for t in detections["tracks"]:
            span = f"{t['first'] / fps:.1f}-{t['last'] / fps:.1f} s"
            fate = f"visible (person #{t.get('person')})" if t.get("visible") else "covered"
            if t.get("dismissed"):
                fate = "left uncovered: dismissed as not a face"
            if t.get("covered_from") is not None:
                fate += f", covered from {t['covered_from'] / fps:.1f} s where it meets another"
            out.print(
                f"  track {t['n']}: {span}, {len(t['hits'])} detections, "
                f"size {t['size']:.2f}, score {t['score']:.2f}, {fate}"
            )
    for link in r["links"]:
        seen = "visible" if link["face_visible"] else "covered"
        what = f"track {link['track']}" if link.get("track") is not None else "face"
        stale = "" if link.get("applies", True) else ", made on another analysis: link again"
        out.print(f"  linked {what}: {shown(link['person'])} ({link['consent']}, {seen}{stale})")
    for b in r.get("boxes", []):
        span = (
            "" if b["from"] is None and b["to"] is None else f" from {b['from']} s to {b['to']} s"
        )
        box = ",".join(f"{v:.3f}" for v in b["box"])
        out.print(f"  box {b['n']} (added by {shown(b['by'])}): {box}{span}")
    voices = r.get("voices") or {}
    if voices.get("sound"):
        heard = ", ".join(
            f"{shown(v['person'])} ({'consents' if v['voice'] else 'no voice consent'})"
            for v in voices.get("linked", [])
        )
        checked = "checked" if voices.get("checked") else "not checked"
        out.print(f"  voices: {checked}; linked: {heard or 'none'}")
    if r.get("reason"):
        out.print(f"  withheld: {shown(r['reason'])}")
    for d in r.get("decisions", [])[-8:]:
        what = ", ".join(
            f"{k} {str(v)[:16]}"
            for k, v in d.items()
            if k in ("face", "track", "person", "reason", "derivative") and v is not None
        )
        out.print(f"  {d['at'][:16]} {shown(d['actor'])}: {d['decision']} {shown(what)}")
    if r["gate"]:
        out.print("  not publishable: " + shown("; ".join(r["gate"])))
        if any("voices checked" in reason for reason in r["gate"]):
            out.print(f"  (review {r['id'][:12]} --link-voice PERSON, then --voices-checked)")
    else:
        out.print("  publishable")


def _faces(r: ReviewRecord) -> str:
    d = r.get("detections")
    if isinstance(d, list):
        return str(sum(1 for x in d if x["source"] == "detector"))
    if isinstance(d, dict) and "tracks" in d:
        return f"{len(d['tracks'])} tracks"
    return "-"


def _derivative_state(r: ReviewRecord) -> str:
    d = r.get("derivative")
    if d is None:
        return "none (run temoin redact)" if r["kind"] in RENDERED else "-"
    state = "current" if d["current"] else "outdated (run temoin redact)"
    return f"{d['sha256'][:16]} {state}"


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@json_option
@pass_state
def audit(state: State, paths: tuple[Path, ...], as_json: bool) -> None:
    """Look again, with an independent detector, at every derivative (and PATHS, e.g. an export).

    Lists every face still visible that no decision accounts for, and any metadata left; exit 1
    if there is any. Faces a reviewer left visible for a consenting person are counted, not
    listed. A clean audit is no proof: the second detector is weaker.
    """
    report = state.archive().audit(paths)
    bad = report.findings
    if as_json:
        emit_json({"findings": bad, "accounted": report.accounted})
    else:
        for f in bad:
            what = f.get("problem") or f"face at {f['box']} ({f['cascade']}, {f['confidence']})"
            frame = f" frame {f['frame']}" if f.get("frame") is not None else ""
            out.print(f"{shown(f['file'])}{frame}: {shown(what)}")
        line = f"{len(bad)} problem(s) found" if bad else "no face or metadata found"
        if report.accounted:
            line += f" ({report.accounted} face(s) left visible with consent not listed)"
        out.print(line)
    if bad:
        raise FacesFound(f"{len(bad)} face(s) or metadata problem(s) on files meant to publish")


COMMANDS = [people, redact, review, audit]
