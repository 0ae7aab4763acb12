"""The queues, on the catalog's own PostgreSQL: procrastinate's tables beside the catalog's.

Two queues:

* ``temoin``: the archive's jobs (a `Job` row's id: ingest, redaction, review re-renders,
  consent, publishing), run by the coordinator, the process that holds the signing key (`temoin
  serve`); a job claimed there is never run by a second server at once;
* ``redact``: pure renderings (`protect.render.Request` as JSON), run by `temoin worker --queue
  redact` on any machine that reaches the database and the shared archive folder. A worker hands
  its result back as files (see ``results``); it opens no catalog session, holds no key and
  writes no custody event.

A worker killed mid-job stops sending heartbeats; its claimed jobs are then stalled, and the
coordinator puts them back in the queue (`retry_stalled`), where another worker claims them with
``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, SyncPsycopgConnector
from procrastinate import exceptions as procrastinate_errors
from procrastinate import sql as procrastinate_sql
from procrastinate.schema import SchemaManager
from procrastinate.utils import utcnow
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from temoin.errors import UsageError

JOBS_QUEUE = "temoin"
REDACT_QUEUE = "redact"
QUEUES = (JOBS_QUEUE, REDACT_QUEUE)
RUN_JOB = "temoin.job"
RENDER = "temoin.render"
HEARTBEAT = 10.0  # seconds between two heartbeats of a worker
STALLED_AFTER = 30.0  # a worker silent this long is taken for dead, and its jobs retried
_SCHEMA_LOCK = 7_246_810_314  # advisory lock: two processes never create the tables at once


def conninfo(database_url: str | None, where: str = "the archive") -> str:
    """The libpq connection string of a SQLAlchemy URL (``postgresql+psycopg://…``); the one
    refusal of a catalog the queue cannot live in."""
    url = make_url(database_url) if database_url else None
    if url is None or url.get_backend_name() != "postgresql":
        named = url.render_as_string(hide_password=True) if url is not None else where
        raise UsageError(
            f"{named}: workers need a PostgreSQL catalog for their queue (set database_url to "
            "a postgresql:// URL); an archive with its catalog in SQLite runs its jobs in its "
            "own process"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_schema(engine: Engine) -> None:
    """Procrastinate's tables in the catalog's database, made once by whoever comes first."""
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        if connection.scalar(text("SELECT to_regclass('procrastinate_jobs')")) is not None:
            return
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute(SchemaManager.get_schema())


def make_app(
    database_url: str,
    *,
    run_job: Callable[[int], None] | None = None,
    render: Callable[[Path, str, dict[str, Any]], None] | None = None,
    sync: bool = False,
) -> App:
    """A procrastinate app on this catalog's database, with the tasks this process runs.

    ``sync`` gives an app for deferring and inspecting jobs from ordinary threads; otherwise the
    app runs a worker (`App.run_worker_async`). A task this process does not run is still
    declared, so jobs of it can be deferred by name.
    """
    info = conninfo(database_url)
    connector = SyncPsycopgConnector(conninfo=info) if sync else PsycopgConnector(conninfo=info)
    app = App(connector=connector)

    @app.task(name=RUN_JOB, queue=JOBS_QUEUE)
    def _job(job_id: int) -> None:
        if run_job is None:
            raise RuntimeError("this process runs no archive job")
        run_job(job_id)

    @app.task(name=RENDER, queue=REDACT_QUEUE, pass_context=True)
    def _render(context: JobContext, name: str, request: dict[str, Any]) -> None:
        if render is None:
            raise RuntimeError("this process runs no rendering")
        root = Path(context.additional_context["root"])
        render(root, name, request)

    return app


def defer_job(app: App, job_id: int, *, delay: float = 0) -> None:
    """Queue a `Job` row's id; a row already waiting in the queue is not queued twice."""
    with contextlib.suppress(procrastinate_errors.AlreadyEnqueued):
        app.configure_task(
            RUN_JOB,
            queueing_lock=f"job-{job_id}",
            lock=f"job-{job_id}",
            schedule_in={"seconds": delay},
        ).defer(job_id=job_id)


def defer_render(app: App, name: str, request: dict[str, Any]) -> int | None:
    """Queue one rendering; None when the same rendering is already waiting."""
    try:
        return app.configure_task(RENDER, queueing_lock=name).defer(name=name, request=request)
    except procrastinate_errors.AlreadyEnqueued:
        return None


def status(app: App, job_id: int) -> str:
    return str(app.job_manager.get_job_status(job_id).value)


def retry_stalled(app: App, stalled_after: float = STALLED_AFTER) -> list[int]:
    """Put back in the queue the jobs of workers that stopped sending heartbeats (killed, or
    their machine gone); returns their ids. Safe to run from several processes: a job already
    retried is no longer stalled."""
    rows = app.connector.execute_query_all(
        query=procrastinate_sql.queries["select_stalled_jobs_by_heartbeat"],
        queue=None,
        task_name=None,
        seconds_since_heartbeat=stalled_after,
    )
    retried = []
    for row in rows:
        try:
            app.job_manager.retry_job_by_id(row["id"], retry_at=utcnow())
        except procrastinate_errors.ConnectorException:
            continue  # another process put it back first: it is no longer running
        retried.append(int(row["id"]))
    return retried
