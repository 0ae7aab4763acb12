"""Commands of the serve stage: serve (the web app) and user (its accounts)."""

from __future__ import annotations

import getpass
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from temoin.cli.main import State, pass_state
from temoin.cli.output import emit_json, err, json_option, out, shown
from temoin.cli.secrecy import read_passphrase_fd
from temoin.errors import KeyWiped, UsageError
from temoin.keep import keys as keyfile
from temoin.keep.sealing import Sealed
from temoin.keep.unlocking import PASSPHRASE_ENV

if TYPE_CHECKING:
    import uvicorn

    from temoin.archive import Archive

WIPED_EXIT_AFTER = 1.5  # seconds a wiped server may take to stop by itself before it is ended


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=int, help="Background job threads.")
@click.option(
    "--max-upload",
    "max_upload",
    default=4 * 1024**3,
    show_default=True,
    type=int,
    help="Largest file accepted, in bytes (413 above).",
)
@click.option(
    "--redact/--no-redact",
    default=True,
    show_default=True,
    help="Cover faces on new material as soon as it is ingested.",
)
@click.option(
    "--proxy-headers",
    is_flag=True,
    help="Trust X-Forwarded-Proto/For from a TLS proxy on this host (cookies become Secure).",
)
@click.option(
    "--passphrase-fd",
    "passphrase_fd",
    type=click.IntRange(min=0),
    help="Read an encrypted archive's passphrase from this open file descriptor (its first "
    f"line) instead of asking; or set {PASSPHRASE_ENV}.",
)
@click.option(
    "--site",
    "site",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the publish button writes the site (default: site/ in the archive folder; an "
    "encrypted archive's is written in clear only where this points).",
)
@pass_state
def serve(
    state: State,
    host: str,
    port: int,
    workers: int,
    max_upload: int,
    redact: bool,
    proxy_headers: bool,
    passphrase_fd: int | None,
    site: Path | None,
) -> None:
    """Run the association's web app: witnesses upload and write entries, editors review and
    publish. Put it behind a TLS proxy (Caddy, nginx) before exposing it beyond this machine.

    An encrypted archive asks for its passphrase first; the server keeps the key in its memory
    only, and stops as soon as `temoin wipe` destroys the key file."""
    import uvicorn

    from temoin.serve.app import create_app
    from temoin.serve.config import ServeSettings

    archive = _open(state, passphrase_fd)
    try:
        site_folder = site_folder_for(archive, site)
        settings = ServeSettings(
            workers=workers,
            max_upload_bytes=max_upload,
            redact_after_ingest=redact,
            site_folder=site_folder,
        )
        app = create_app(archive, settings)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            proxy_headers=proxy_headers,
            forwarded_allow_ips="127.0.0.1" if proxy_headers else None,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        gone = threading.Event()
        sealer = archive.ctx.sealer
        if isinstance(sealer, Sealed):  # `temoin wipe` stops the server and drops its copies
            sealer.watch(lambda: _wiped(archive, server, gone))
        err.print(
            f"serving {shown(archive.settings.name or archive.root.name)} on http://{host}:{port}/"
        )
        # uvicorn raises SIGTERM again once it has stopped: the copies go, then the process
        signal.signal(signal.SIGTERM, lambda signum, _: _terminated(archive, signum))
        server.run()
        if gone.is_set():
            raise KeyWiped(f"{archive.root.name}: the archive's key was destroyed (temoin wipe)")
    finally:
        archive.close()  # an encrypted archive's decrypted copies and previews go with it


def site_folder_for(archive: Archive, site: Path | None) -> str:
    """Where the publish button writes: where --site points; else ``site/`` in the archive
    folder, except for an encrypted archive, which writes nothing in clear nobody pointed at."""
    if site is not None:
        return str(site.absolute())
    return "" if archive.ctx.encrypted else "site"


def _open(state: State, passphrase_fd: int | None) -> Archive:
    """The archive; an encrypted one opened with its passphrase by this process, whose key then
    lives in this process only (not in the cache `temoin unlock` fills)."""
    from temoin.archive import Archive, find_root

    given = state.archive_path
    root = find_root(given if given is not None else Path.cwd())
    if not keyfile.is_encrypted(root):
        if passphrase_fd is not None:
            os.close(passphrase_fd)
        return state.archive()
    keys = keyfile.open_keys(root, _passphrase(passphrase_fd))
    return Archive.open(root, keys=keys)


def _passphrase(fd: int | None) -> str:
    if fd is not None:
        try:
            return read_passphrase_fd(fd)
        except OSError as exc:
            raise UsageError(f"--passphrase-fd {fd}: cannot be read ({exc.strerror})") from exc
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    if not sys.stdin.isatty():
        raise UsageError(
            "the archive is encrypted: give its passphrase with --passphrase-fd or "
            f"{PASSPHRASE_ENV} (no terminal to ask)"
        )
    return getpass.getpass("Passphrase: ")


def _wiped(archive: Archive, server: uvicorn.Server, gone: threading.Event) -> None:
    """The key file is gone and the decrypted copies with it (the watcher closed the sealer):
    stop serving, and end the process if requests or jobs hold it up."""
    gone.set()
    err.print("the archive's key was destroyed (temoin wipe): stopping")
    server.should_exit = True

    def end() -> None:
        archive.ctx.sealer.close()
        err.print(f"error: {archive.root.name}: the archive's key was destroyed (temoin wipe)")
        os._exit(KeyWiped.exit_code)

    timer = threading.Timer(WIPED_EXIT_AFTER, end)
    timer.daemon = True
    timer.start()


def _terminated(archive: Archive, signum: int) -> None:
    """Ended by a signal, as a service manager expects, once the decrypted copies are gone."""
    archive.close()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


@click.group()
def user() -> None:
    """Accounts of the web app (witness, editor, admin)."""


@user.command(name="add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["witness", "editor", "admin"]))
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@pass_state
def user_add(state: State, name: str, role: str, password_stdin: bool) -> None:
    """Add an account; the password is asked twice unless given on stdin."""
    from temoin.serve.users import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    archive = state.archive()
    account = add_user(archive, name, role, password, by=archive.actor)
    out.print(f"added {shown(account.name)} ({account.role})")


@user.command(name="ls")
@json_option
@pass_state
def user_ls(state: State, as_json: bool) -> None:
    """Every account and its role."""
    from temoin.serve.users import list_users

    accounts = list_users(state.archive())
    if as_json:
        emit_json(accounts)
        return
    table = Table("name", "role", "added by", "", box=None)
    for a in accounts:
        table.add_row(
            shown(str(a["name"])),
            str(a["role"]),
            shown(str(a["created_by"])),
            "disabled" if a["disabled"] else "",
        )
    out.print(table)


@user.command(name="reset")
@click.argument("name")
@click.option("--hours", default=24, show_default=True, type=int, help="How long the link works.")
@pass_state
def user_reset(state: State, name: str, hours: int) -> None:
    """Print a one-time link that lets NAME set a new password (no e-mail is sent)."""
    from temoin.serve.users import issue_reset

    archive = state.archive()
    token = issue_reset(archive, name, by=archive.actor, hours=hours)
    out.print(f"/reset/{token}")
    err.print(
        f"open it on the web app's address, within {hours} h; it works once "
        "and replaces any earlier link for this account"
    )


COMMANDS = [serve, user]
