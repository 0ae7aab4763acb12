"""Commands of an encrypted archive's keys: unlock, lock, wipe, passphrase.

They act on the archive folder and its key file only, never on the catalog: `wipe` must work
while an ingest holds the archive, and `unlock` is what makes the catalog readable at all.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

import click

from temoin.archive import Archive, find_root
from temoin.cli.output import emit_json, err, json_option, out, shown
from temoin.errors import UsageError
from temoin.keep.unlocking import PASSPHRASE_ENV, check_encrypted
from temoin.settings import load_settings

passphrase_stdin = click.option(
    "--passphrase-stdin",
    is_flag=True,
    help=f"Read the passphrase from the first line of standard input (or set {PASSPHRASE_ENV}).",
)


def read_passphrase(from_stdin: bool, *, confirm: bool = False, prompt: str = "Passphrase") -> str:
    """From stdin's first line, TEMOIN_PASSPHRASE, or a prompt that does not echo."""
    if from_stdin:
        try:
            line = sys.stdin.readline()
        except UnicodeDecodeError as exc:
            raise UsageError("the passphrase on standard input is not UTF-8 text") from exc
        return line[:-1] if line.endswith("\n") else line
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    if not sys.stdin.isatty():
        raise UsageError(
            f"no passphrase: use --passphrase-stdin or set {PASSPHRASE_ENV} (no terminal to ask)"
        )
    first = getpass.getpass(f"{prompt}: ")
    if confirm and getpass.getpass(f"{prompt} again: ") != first:
        raise UsageError("the two passphrases differ")
    return first


def read_passphrase_fd(fd: int) -> str:
    """The first line of an open file descriptor (`serve --passphrase-fd`), then closed."""
    try:
        with os.fdopen(fd, "r", encoding="utf-8", closefd=True) as handle:
            line = handle.readline(4096)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--passphrase-fd {fd}: cannot be read ({exc})") from exc
    return line[:-1] if line.endswith("\n") else line


def note_where_keys_live() -> None:
    """Say so when no memory-backed folder exists here: keys and copies would then be on disk."""
    from temoin.keep import runtime

    if not runtime.in_memory():
        err.print(
            f"[yellow]note:[/yellow] no memory-backed folder here; the keys and decrypted copies "
            f"go to {shown(str(runtime.runtime_root()))} until `temoin lock` "
            f"(set {runtime.RUNTIME_ENV} to a tmpfs)"
        )


def _root(ctx: click.Context) -> Path:
    given = ctx.find_root().params.get("archive_path")
    return find_root(given if given is not None else Path.cwd())


@click.command()
@passphrase_stdin
@click.option(
    "--for",
    "hours",
    type=click.FloatRange(0, 24 * 366),
    help="Lock again by itself after this many hours (default: the unlock_hours setting, 8 "
    "unless changed; 0: until `temoin lock`).",
)
@json_option
@click.pass_context
def unlock(ctx: click.Context, passphrase_stdin: bool, hours: float | None, as_json: bool) -> None:
    """Open an encrypted archive for the commands that follow, for --for hours or until
    `temoin lock`.

    The keys are kept in memory only (a memory-backed folder of this user), never on the disk.
    """
    root = _root(ctx)
    check_encrypted(root)
    if hours is None:
        hours = load_settings(root / "temoin.toml").unlock_hours
    phrase = read_passphrase(passphrase_stdin)
    took = Archive.unlock(root, phrase, hours)
    note_where_keys_live()
    if as_json:
        emit_json({"unlocked": True, "hours": hours or None, "seconds": round(took, 3)})
        return
    until = f"for {hours:g} h" if hours else "until `temoin lock`"
    out.print(f"unlocked {shown(root.name)} {until}")


@click.command()
@json_option
@click.pass_context
def lock(ctx: click.Context, as_json: bool) -> None:
    """Forget an encrypted archive's keys and every decrypted copy; nothing can read it then."""
    root = _root(ctx)
    was = Archive.lock(root)
    if as_json:
        emit_json({"locked": True, "was_unlocked": was})
        return
    out.print(f"locked {shown(root.name)}" + ("" if was else " (it was not unlocked)"))


@click.command()
@click.option("--yes", is_flag=True, help="Do not ask: destroy the key now.")
@click.option("--and-delete", is_flag=True, help="Then delete every file of the archive too.")
@json_option
@click.pass_context
def wipe(ctx: click.Context, yes: bool, and_delete: bool, as_json: bool) -> None:
    """Destroy an encrypted archive's key: afterwards nothing of it decrypts, even with the
    passphrase. Takes a second whatever the archive's size; needs no passphrase; works while
    another command runs (which then stops), and stops a running `temoin serve`."""
    root = _root(ctx)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("wipe destroys the archive for good: add --yes to confirm")
        answer = click.prompt(f"Destroy the key of {root.name} for good? Type WIPE", default="")
        if answer.strip() != "WIPE":
            raise UsageError("not wiped")
    report = Archive.wipe(root, and_delete=and_delete)
    if as_json:
        emit_json(
            {
                "key_destroyed": report.key_destroyed,
                "deleted": report.deleted,
                "seconds": round(report.seconds, 3),
            }
        )
        return
    if not report.key_destroyed:
        err.print("[yellow]note:[/yellow] no key file was there (not encrypted, or wiped before)")
    out.print(
        f"wiped {shown(root.name)} in {report.seconds:.2f} s"
        + ("; its files are deleted" if report.deleted else "")
    )


@click.command()
@click.option(
    "--passphrase-stdin",
    is_flag=True,
    help="Read the old passphrase, then the new one, from the first two lines of standard input.",
)
@click.pass_context
def passphrase(ctx: click.Context, passphrase_stdin: bool) -> None:
    """Change an encrypted archive's passphrase. The data keys stay: temoin refuses the old key
    file if it is put back, but whoever holds a copy of it and the old passphrase can still
    decrypt the files, which are not encrypted again."""
    root = _root(ctx)
    check_encrypted(root)
    if passphrase_stdin:
        old, new = read_passphrase(True), read_passphrase(True)
    else:
        old = read_passphrase(False, prompt="Current passphrase")
        new = getpass.getpass("New passphrase: ") if sys.stdin.isatty() else ""
        if not sys.stdin.isatty() or getpass.getpass("New passphrase again: ") != new:
            raise UsageError("the two new passphrases differ (or no terminal to ask)")
    Archive.change_passphrase(root, old, new)
    out.print(f"new passphrase set for {shown(root.name)}; run `temoin unlock` again")


COMMANDS = [unlock, lock, wipe, passphrase]
