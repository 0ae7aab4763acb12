"""The web app's `JobRunner` over the queue (setting ``jobs = "procrastinate"``).

A job is still a `Job` row run by `run_job`; the queue carries only its id. The server runs a
procrastinate worker on the ``temoin`` queue in a thread of its own, so the archive's jobs run
where the signing key is, and a redaction hands its renderings to `temoin worker --queue redact`
processes. Progress is written to the job's row (PostgreSQL takes writes from many processes), so
any server's pages show it. A job claimed by one server is never run by another at once; a
server that died with jobs claimed stops sending heartbeats, and its jobs are retried.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from temoin.catalog.models import Job
from temoin.serve import jobs
from temoin.serve.writes import Writes
from temoin.work import queue
from temoin.work.coordinator import Coordinator

if TYPE_CHECKING:
    from temoin.archive import Archive

SAVE_EVERY = 0.5  # seconds between two writes of a running job's progress to its row


class RowBoard(jobs.Board):
    """Live progress kept in the job's row too, so every process's pages can show it."""

    def __init__(self, archive: Archive) -> None:
        super().__init__()
        self.archive = archive
        self._saved: dict[int, tuple[float, str]] = {}

    def reporter(self, job_id: int) -> Callable[[int, int, str], None]:
        keep = super().reporter(job_id)

        def report(done: int, total: int, message: str = "") -> None:
            keep(done, total, message)
            now = time.monotonic()
            when, said = self._saved.get(job_id, (0.0, ""))
            if now - when >= SAVE_EVERY or said != message or done == total:
                self._saved[job_id] = (now, message)
                jobs.save_progress(self.archive, job_id, done, total, message)

        return report

    def drop(self, job_id: int) -> None:
        super().drop(job_id)
        self._saved.pop(job_id, None)


class ProcrastinateRunner:
    def __init__(
        self,
        archive: Archive,
        writes: Writes,
        workers: int = 2,
        *,
        stalled_after: float = queue.STALLED_AFTER,
        heartbeat: float = queue.HEARTBEAT,
        site: str = "",
    ) -> None:
        self.archive, self.writes, self.site = archive, writes, site
        self.coordinator = Coordinator.start(archive.ctx, stalled_after)
        self.board = RowBoard(archive)
        self._worker_app = queue.make_app(archive.settings.database_url, run_job=self._run)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(workers, heartbeat, stalled_after), daemon=True
        )
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the job queue's worker did not start within a minute")

    # -- JobRunner -----------------------------------------------------------------------------

    def submit(
        self, name: str, args: dict[str, Any], *, actor: str, account: int | None = None
    ) -> int:
        job_id = jobs.create_job(self.archive, name, args, actor, account)
        queue.defer_job(self.coordinator.app, job_id)
        return job_id

    def progress(self, job_id: int) -> tuple[int, int, str] | None:
        return None  # the row holds it, for every server's pages alike

    def resume(self) -> list[int]:
        """Queue the rows left queued (made while the pool ran them, or whose queueing failed
        after the row was written); a row already waiting in the queue is not queued twice.
        Rows left running belong to a server that died: its heartbeats stopped, and the sweep
        puts its job back."""
        with self.archive.session() as session:
            ids = list(
                session.scalars(select(Job.id).where(Job.status == jobs.QUEUED).order_by(Job.id))
            )
        for job_id in ids:
            queue.defer_job(self.coordinator.app, job_id)
        return ids

    def retry(self, job_id: int) -> bool:
        if not jobs.requeue(self.archive, job_id):
            return False
        queue.defer_job(self.coordinator.app, job_id)
        return True

    def close(self) -> None:
        self.writes.stop()
        self.coordinator.stopping.set()
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(60)
        self.coordinator.close()

    # -- the worker thread ---------------------------------------------------------------------

    def _run(self, job_id: int) -> None:
        status = jobs.run_job(
            self.archive,
            self.writes,
            job_id,
            self.board,
            coordinator=self.coordinator,
            site=self.site,
        )
        if status == jobs.QUEUED:  # the lock kept it out, or this server is stopping
            queue.defer_job(self.coordinator.app, job_id, delay=2)

    def _serve(self, workers: int, heartbeat: float, stalled_after: float) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            async with self._worker_app.open_async():
                self._task = asyncio.current_task()
                self._ready.set()
                sweeper = asyncio.create_task(self._sweep(stalled_after))
                try:
                    await self._worker_app.run_worker_async(
                        queues=[queue.JOBS_QUEUE],
                        concurrency=max(1, workers),
                        install_signal_handlers=False,
                        update_heartbeat_interval=heartbeat,
                        stalled_worker_timeout=stalled_after,
                        name="temoin-coordinator",
                    )
                except asyncio.CancelledError:
                    pass
                finally:
                    sweeper.cancel()

        asyncio.run(main())

    async def _sweep(self, stalled_after: float) -> None:
        """Jobs of dead workers and servers back in the queue, now and then, even when no
        redaction is waiting on them (the server that claimed a job may be the one that died)."""
        while True:
            retried = await asyncio.to_thread(
                queue.retry_stalled, self.coordinator.app, stalled_after
            )
            self.coordinator.retried.extend(retried)  # whoever puts a job back, it is counted
            await asyncio.sleep(max(1.0, stalled_after / 2))
