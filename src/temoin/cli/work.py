"""`temoin worker`: pure renderings from the queue, on any machine that reaches the database and
the shared archive folder.

A worker reads only the archive's settings (to find the database): it opens no catalog session,
never reads the signing key and writes no custody event. What it renders goes back as files
under ``work/results/``, and the coordinator (`temoin serve`) records it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import click

from temoin.archive import find_root
from temoin.cli.main import State, pass_state
from temoin.cli.output import err, shown
from temoin.errors import NotAnArchive, UsageError


@click.command()
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(["redact"]),
    default=("redact",),
    show_default=True,
    help="Queue to take jobs from.",
)
@click.option("--concurrency", default=1, show_default=True, type=int, help="Jobs run at once.")
@click.option("--once", is_flag=True, help="Stop when the queue is empty instead of waiting.")
@click.option(
    "--heartbeat",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.5, 10.0),
    help="Seconds between two signs of life (at most 10: a worker silent for 30 s is taken for "
    "dead, and its jobs go to another).",
)
@pass_state
def worker(
    state: State, queues: tuple[str, ...], concurrency: int, once: bool, heartbeat: float
) -> None:
    """Render faces covered for the archive's server: run this on as many machines as reach the
    PostgreSQL catalog and the archive folder (the server must use `jobs = "procrastinate"`)."""
    from sqlalchemy import create_engine

    from temoin.settings import load_settings
    from temoin.work import queue, results

    root = _root(state)
    settings = load_settings(root / "temoin.toml")
    database_url = settings.database_url
    queue.conninfo(database_url, root.name)  # refuses what is not PostgreSQL
    assert database_url is not None
    if concurrency < 1:
        raise UsageError(f"--concurrency {concurrency}: must be at least 1")
    engine = create_engine(database_url)
    try:
        queue.ensure_schema(engine)
    finally:
        engine.dispose()
    app = queue.make_app(settings.database_url, render=results.render_into)
    name = f"temoin-worker@{socket.gethostname()}:{os.getpid()}"
    err.print(f"{name}: taking {', '.join(queues)} jobs for {shown(root.name)}")
    app.run_worker(
        queues=list(queues),
        concurrency=concurrency,
        wait=not once,
        name=name,
        additional_context={"root": str(root)},
        update_heartbeat_interval=heartbeat,
        stalled_worker_timeout=max(3 * heartbeat, 3.0),
    )


def _root(state: State) -> Path:
    """The archive folder, found like every command finds it, without opening its catalog."""
    if state.archive_path is None:
        return find_root(Path.cwd())
    here = state.archive_path.absolute()
    if not (here / "temoin.toml").is_file():
        raise NotAnArchive(f"{here}: not a temoin archive (no temoin.toml); run `temoin init`")
    return here


COMMANDS = [worker]
