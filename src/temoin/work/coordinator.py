"""The coordinator: the one process that holds the signing key, and records what workers render.

A redaction through the queue is: the coordinator reads what each stale item's rendering follows
(`derivatives.request_for`), queues one pure rendering per item on ``redact``, then records each
result workers hand back (`derivatives.record` with ``once``: signed, placed, its row and its
``redacted`` event in one transaction). Workers never see the key nor write the catalog's record.

Recording is idempotent: a result is keyed by item, decisions fingerprint and profile, so a
rendering done twice (its worker was killed after rendering, and the job was retried) is recorded
once, and a result whose item's decisions changed meanwhile is dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from procrastinate import App

from temoin.catalog.models import Derivative, Item
from temoin.context import ArchiveContext
from temoin.errors import ArchiveLocked
from temoin.protect import derivatives, provenance
from temoin.protect.derivatives import Progress, RedactReport, Request
from temoin.serve.writes import Stopping
from temoin.work import queue, results

T = TypeVar("T")
Run = Callable[[Callable[[], T]], T]
POLL = 0.2  # seconds between two looks for results


def _direct(action: Callable[[], T]) -> T:
    return action()


@dataclass
class Coordinator:
    """The archive's signing key, read once at start, and a queue to hand renderings to."""

    ctx: ArchiveContext
    app: App  # a synchronous app (`queue.make_app(..., sync=True)`), opened
    key: Ed25519PrivateKey
    stalled_after: float = queue.STALLED_AFTER
    retried: list[int] = field(default_factory=list)  # renderings a silent worker left
    stopping: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, ctx: ArchiveContext, stalled_after: float = queue.STALLED_AFTER) -> Coordinator:
        """Read (or make) the signing key now: it is not read again while this process runs."""
        queue.conninfo(ctx.settings.database_url, ctx.root.name)
        queue.ensure_schema(ctx.engine)
        try:  # made, or its creation recorded, under the lock when it is free
            with ctx.transaction() as tx:
                key = provenance.signing_key(tx.session, ctx)
        except ArchiveLocked:  # a server starting while an ingest runs: read it as it is
            found = provenance.existing_signing_key(ctx)
            if found is None:
                raise
            key = found
        app = queue.make_app(ctx.settings.database_url, sync=True)
        app.open()
        return cls(ctx, app, key, stalled_after)

    def close(self) -> None:
        self.app.close()

    def redact(
        self,
        ctx: ArchiveContext | None = None,
        *,
        recall: str | None = None,
        every: int | None = None,
        threads: int = 1,
        progress: Progress | None = None,
        run: Run[Any] = _direct,
    ) -> RedactReport:
        """Render every stale item on the workers and record each result here.

        ``ctx`` names who acts (the job's owner); ``run`` wraps each recording (the web app's
        writer queue, so a recording waits its turn instead of failing on the archive's lock).
        """
        ctx = ctx or self.ctx
        started = time.monotonic()
        wanted = recall or ctx.settings.recall
        with ctx.session() as session:
            todo, unchanged = derivatives.plan(session, wanted)
            requests = [
                derivatives.request_for(
                    session, ctx, item.id, threads=threads, every=every, recall=wanted
                )
                for item in todo
            ]
        report = RedactReport(unchanged=unchanged)
        total = len(requests)
        if progress is not None:
            progress(0, total)  # before any worker can start: the page shows the whole count
        pending: dict[str, tuple[Request, int | None]] = {}
        for request in requests:
            name = results.result_name(request)
            pending[name] = (request, queue.defer_render(self.app, name, request.as_json()))
        try:
            while pending:
                for name, (request, job_id) in list(pending.items()):
                    if self._settle(ctx, name, request, job_id, report, run):
                        del pending[name]
                if progress is not None:
                    progress(total - len(pending), total)
                if pending and self.stopping.is_set():
                    raise Stopping()  # the job runs again when a server starts
                if pending:
                    self.retried.extend(queue.retry_stalled(self.app, self.stalled_after))
                    time.sleep(POLL)
        finally:
            run(lambda: _collect_unreferenced(ctx))
        report.seconds = time.monotonic() - started
        return report

    def _settle(
        self,
        ctx: ArchiveContext,
        name: str,
        request: Request,
        job_id: int | None,
        report: RedactReport,
        run: Run[Any],
    ) -> bool:
        """Record one result if it is back; False while it is still to come."""
        found = results.take(ctx.root, name)
        if found is None:
            state = queue.status(self.app, job_id) if job_id is not None else None
            if state in ("todo", "doing"):
                return False  # still to come
            # Queued by another job of this server, or ended without handing anything back
            # (taken by another coordinator, or killed after its result was recorded).
            if state in ("failed", "aborted"):
                report.failed.append((request.item, "the worker stopped with an error"))
                return True
            if _recorded(ctx, request):
                report.rendered.append(request.item)
                return True
            if not _current(ctx, request):
                report.failed.append(
                    (request.item, "its decisions changed while it rendered: redact again")
                )
                return True
            if state is not None:  # succeeded or cancelled, and nothing came back
                report.failed.append((request.item, "the worker handed no result back"))
                return True
            return False
        try:
            if found.file is None or found.rendered is None:
                report.failed.append((request.item, found.reason))
                return True
            file, rendered = found.file, found.rendered
            row = run(
                lambda: derivatives.record(ctx, request, file, rendered, key=self.key, once=True)
            )
            if row is not None:
                report.rendered.append(request.item)
            elif not _current(ctx, request):
                report.failed.append(
                    (request.item, "its decisions changed while it rendered: redact again")
                )
            else:
                report.rendered.append(request.item)  # recorded before, from an earlier try
        except Exception as exc:  # the batch boundary: record what was caught and go on
            report.failed.append((request.item, f"{type(exc).__name__}: {exc}"))
        finally:
            results.discard(ctx.root, name)
        return True


def _collect_unreferenced(ctx: ArchiveContext) -> None:
    """Under the lock: a decision placing a file it has not committed yet must not lose it."""
    with ctx.writing():
        derivatives._collect_unreferenced(ctx)
        results.sweep(ctx.root)


def _recorded(ctx: ArchiveContext, request: Request) -> bool:
    """Whether the item's derivative already is this request's rendering (recorded elsewhere)."""
    with ctx.session() as session:
        row = session.get(Derivative, request.item)
        return (
            row is not None
            and row.inputs == request.fingerprint
            and derivatives.recall_of(row) == request.profile
        )


def _current(ctx: ArchiveContext, request: Request) -> bool:
    with ctx.session() as session:
        item = session.get(Item, request.item)
        return item is not None and (
            derivatives.inputs_for(session, item).fingerprint() == request.fingerprint
        )
