"""The `temoin` command: global options, the archive lookup, and one-line errors with exit codes."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from temoin import __version__
from temoin.archive import Archive
from temoin.cli.output import err, shown
from temoin.errors import DiskFull, FileError, KeyWiped, TemoinError, is_disk_full
from temoin.keep.sealing import Sealed


class State:
    def __init__(self, archive_path: Path | None) -> None:
        self.archive_path = archive_path
        self._archive: Archive | None = None

    def archive(self) -> Archive:
        if self._archive is None:
            if self.archive_path is not None:
                self._archive = Archive.open(self.archive_path)
            else:
                self._archive = Archive.find(Path.cwd())
            sealer = self._archive.ctx.sealer
            if isinstance(sealer, Sealed):  # `temoin wipe` ends this command at once
                sealer.watch(_wiped)
        return self._archive

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()
            self._archive = None


def _wiped() -> None:
    """The key file went while this command held the keys: its decrypted copies are gone (the
    watcher closed the sealer); the process ends now, whatever it was in the middle of."""
    err.print("[red]error:[/red] the archive's key was destroyed (temoin wipe): stopped")
    sys.stderr.flush()
    os._exit(KeyWiped.exit_code)


pass_state = click.make_pass_decorator(State)


class _Commands(click.Group):
    """The boundary where a full disk, a damaged catalog or an unreadable file becomes one line.

    Every command runs inside `invoke`, so none has to remember to translate these itself.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TemoinError:
            raise
        except (OSError, SQLAlchemyError, sqlite3.Error) as exc:
            explained = _explained(ctx.obj, exc)
            if explained is None:
                raise
            raise explained from exc


def _explained(state: object, exc: BaseException) -> TemoinError | None:
    archive = state._archive if isinstance(state, State) else None
    if archive is not None and (said := archive.explain(exc)) is not None:
        return said
    if isinstance(exc, OSError) and (exc.filename or is_disk_full(exc)):
        if is_disk_full(exc):
            return DiskFull.writing(str(exc.filename or "disk"))
        return FileError(f"{exc.filename}: {exc.strerror or exc}")
    return None


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "-A",
    "--archive",
    "archive_path",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="TEMOIN_ARCHIVE",
    help="The archive folder (default: the one containing the current folder).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="temoin")
@click.pass_context
def cli(ctx: click.Context, archive_path: Path | None, debug: bool) -> None:
    """temoin — turn a day of field material into an honest, verifiable record.

    Stages: collect (ingest) → keep (vault, custody, verify) → sort → protect → publish.
    """
    ctx.obj = state = State(archive_path)
    ctx.meta["debug"] = debug
    ctx.call_on_close(state.close)  # the catalog's connections end with the command


def _register() -> None:
    from temoin.cli import collect, keep, protect, publish, secrecy, serve, sort, work

    for module in (collect, keep, secrecy, sort, protect, publish, serve, work):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> Any:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        return cli.main(args=argv, prog_name="temoin", standalone_mode=False)
    except TemoinError as exc:
        if debug:
            raise
        err.print(f"[red]error:[/red] {shown(exc.message)}", markup=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
