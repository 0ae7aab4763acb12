"""Commands of the publish stage: story, publish (site, feed, newsletter), export (bag)."""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from temoin.cli.main import State, pass_state
from temoin.cli.output import emit_json, err, json_option, out, shown
from temoin.errors import UsageError


@click.group()
def story() -> None:
    """Stories: a title and a window of time, the unit the site, feed, newsletter and bag show."""


@story.command(name="new")
@click.argument("title")
@click.option(
    "--from",
    "start",
    required=True,
    metavar="ISO",
    help="Start, e.g. 2016-10-24T06:00 (archive's zone unless an offset is given).",
)
@click.option("--to", "end", required=True, metavar="ISO", help="End, e.g. 2016-10-24T23:59.")
@click.option("--slug", help="Folder name on the site (default: made from the title).")
@json_option
@pass_state
def story_new(
    state: State, title: str, start: str, end: str, slug: str | None, as_json: bool
) -> None:
    """Define the story TITLE: whatever the gate lets out between --from and --to."""
    record = state.archive().new_story(title, start, end, slug)
    if as_json:
        emit_json(record)
    else:
        out.print(
            f"story {shown(record['slug'])}: {shown(record['title'])} ({record['from']} → {record['to']})"
        )


@story.command(name="ls")
@json_option
@pass_state
def story_ls(state: State, as_json: bool) -> None:
    """Every story, oldest first."""
    records = state.archive().stories()
    if as_json:
        emit_json(records)
        return
    table = Table("slug", "title", "from", "to", box=None)
    for r in records:
        table.add_row(shown(r["slug"]), shown(r["title"]), r["from"], r["to"])
    out.print(table)


@click.group()
def publish() -> None:
    """Turn approved material into what supporters, the press and lawyers receive."""


@publish.command(name="site")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@json_option
@pass_state
def publish_site(state: State, folder: Path, as_json: bool) -> None:
    """Build the static site in FOLDER (works from disk or any web host), with its feed.

    Only what passes the gate appears; what it withheld is listed with the reasons. Unchanged
    pages are not rewritten; files of items no longer allowed are deleted.
    """
    report = state.archive().publish_site(folder)
    if as_json:
        emit_json(report.as_dict())
        return
    _print_withheld(report.withheld)
    out.print(
        f"{report.stories} stor{'y' if report.stories == 1 else 'ies'}, {report.pages} pages: "
        f"{len(report.written)} files written, {report.unchanged} unchanged, "
        f"{len(report.removed)} removed ({report.seconds:.1f} s)"
    )
    assert report.index is not None  # a site build always names its front page
    out.print(f"open {shown(report.index.as_uri())}")


@publish.command(name="feed")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@json_option
@pass_state
def publish_feed(state: State, folder: Path, as_json: bool) -> None:
    """Write only FOLDER/feed.xml: the Atom feed of dispatches and stories."""
    report = state.archive().publish_feed(folder)
    if as_json:
        emit_json(report.as_dict())
        return
    _print_withheld(report.withheld)
    state_word = "written" if report.written else "unchanged"
    out.print(f"{shown(str(report.index))}: {state_word}")


@publish.command(name="newsletter")
@click.option(
    "--story",
    "slug",
    required=True,
    help="The story whose latest dispatch is sent: its slug or title (any case, accents or not).",
)
@click.option(
    "--to",
    "recipients",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="CSV of name,email.",
)
@click.option("--smtp", metavar="HOST:PORT", help="Send through this SMTP server.")
@click.option("--user", help="SMTP login (needs --starttls).")
@click.option(
    "--password-env", metavar="VAR", help="Environment variable holding the SMTP password."
)
@click.option("--starttls", is_flag=True, help="Switch to TLS before logging in and sending.")
@click.option(
    "--cafile",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Trust this CA for STARTTLS (a self-hosted server's).",
)
@click.option(
    "--eml",
    "eml",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write .eml files here instead of sending.",
)
@json_option
@pass_state
def publish_newsletter(
    state: State,
    slug: str,
    recipients: Path,
    smtp: str | None,
    user: str | None,
    password_env: str | None,
    starttls: bool,
    cafile: Path | None,
    eml: Path | None,
    as_json: bool,
) -> None:
    """E-mail the story's latest dispatch (text and HTML) to everyone in --to, or write .eml files."""
    from temoin.publish.newsletter import Secret, Smtp, parse_smtp

    options: dict[str, Any] = {"eml": eml}
    if smtp is not None:
        host, port = parse_smtp(smtp)
        password = None
        if password_env:
            if password_env not in os.environ:
                raise UsageError(f"--password-env {password_env}: that variable is not set")
            password = Secret(os.environ[password_env])
        context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
        options["smtp"] = Smtp(host, port, user, password, starttls, context)
    elif user or password_env or starttls or cafile:
        raise UsageError("--user, --password-env, --starttls and --cafile go with --smtp")
    report = state.archive().newsletter(slug, recipients, **options)
    if as_json:
        emit_json(report.as_dict())
        return
    for address, reason in report.refused:
        err.print(f"[yellow]refused:[/yellow] {shown(address)}: {shown(reason)}")
    if report.files:
        out.print(f"{len(report.files)} message(s) written to {shown(str(eml))}")
    else:
        out.print(f"sent to {len(report.sent)} of {report.recipients} recipient(s)")


@click.group(name="export")
def export() -> None:
    """Packages for archives and lawyers."""


@export.command(name="bag")
@click.argument("folder", type=click.Path(path_type=Path))  # with --to, a file is named
@click.option(
    "--story",
    "slug",
    required=True,
    help="The story to export: its slug or title (any case, accents or not).",
)
@click.option("--originals", is_flag=True, help="Include the originals (unredacted: for a lawyer).")
@click.option(
    "--to",
    "to",
    multiple=True,
    metavar="AGE1…",
    help="Seal the bag to this age public key (repeat for several recipients): one encrypted "
    "file FOLDER.tar.age instead of a folder; they open it with `age -d -i KEY FILE | tar x`.",
)
@json_option
@pass_state
def export_bag(
    state: State, folder: Path, slug: str, originals: bool, to: tuple[str, ...], as_json: bool
) -> None:
    """A BagIt package of the story in FOLDER: derivatives (or originals), custody log, catalog.

    With --to, the bag is written as the single file FOLDER.tar.age, encrypted to the
    recipients' age keys; the clear bag is built aside (in memory for an encrypted archive)
    and removed."""
    if originals:
        where = "sealed to --to" if to else "in clear"
        err.print(
            f"[yellow]note:[/yellow] the bag holds unredacted originals ({where}); "
            "hand it only to counsel"
        )
    report = state.archive().export_bag(folder, slug, originals=originals, to=to)
    if as_json:
        emit_json(report.as_dict())
        return
    if report.recipients:
        out.print(
            f"{shown(str(report.path))}: {len(report.files)} files, bag valid (BagIt, sha256), "
            f"encrypted to {report.recipients} recipient(s)"
        )
        return
    out.print(f"{shown(str(report.path))}: {len(report.files)} files, bag valid (BagIt, sha256)")


def _print_withheld(withheld: list[Any]) -> None:
    for w in withheld:
        err.print(f"[yellow]withheld:[/yellow] {shown(w.line())}")
    if withheld:
        err.print(f"{len(withheld)} item(s) withheld by the gate")


COMMANDS = (story, publish, export)
