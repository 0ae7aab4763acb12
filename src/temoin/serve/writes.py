"""One writer at a time: how the web app's threads share the archive's write lock.

`Archive.writing()` refuses at once (ArchiveLocked) when the lock is held, which suits a CLI user
who can run the command again. A web app has many threads and may share the archive with a CLI
user, so its writes queue on an in-process lock and then wait politely for the archive's own lock
(a timeline page rebuilding the sort tables, or `temoin ingest` in a terminal).

A request waits a bounded time (`wait_seconds`), then answers that the archive is busy: someone
is looking at the page. A job has nobody waiting on it, so it waits as long as it takes (a long
redaction, an ingest of a whole phone from the command line), with back-off, saying so on its
page; being made to wait is not a failure. Only a stopping server ends that wait (`Stopping`),
and the job then runs again when the server starts.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from temoin.errors import ArchiveLocked

P = ParamSpec("P")
T = TypeVar("T")
FIRST_PAUSE = 0.02
LONGEST_PAUSE = {True: 0.5, False: 2.0}  # a request polls more often than a job


class Stopping(Exception):
    """The server is stopping while a job waits for the archive; the job stays queued."""


class Writes:
    def __init__(self, wait_seconds: float | None = 120.0) -> None:
        self.wait_seconds = wait_seconds
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._on_wait: Callable[[], None] | None = None

    def patient(self, on_wait: Callable[[], None] | None = None) -> Writes:
        """The same queue (same locks), for a job: no deadline; `on_wait` is called while it
        waits, so the job's page can say why nothing moves."""
        view = copy.copy(self)  # shares the lock and the stop signal
        view.wait_seconds = None
        view._on_wait = on_wait
        return view

    def stop(self) -> None:
        """Wake every job waiting for the archive with `Stopping` (the server is shutting down)."""
        self._stopping.set()

    def run(self, action: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        bounded = self.wait_seconds is not None
        deadline = time.monotonic() + self.wait_seconds if self.wait_seconds is not None else None
        pause = FIRST_PAUSE
        while True:
            if self._take(deadline):
                try:
                    return action(*args, **kwargs)
                except ArchiveLocked:
                    if deadline is not None and time.monotonic() > deadline:
                        raise
                finally:
                    self._lock.release()
            elif deadline is not None and time.monotonic() > deadline:
                raise ArchiveLocked("the archive is busy with another write: try again shortly")
            if self._on_wait is not None:
                self._on_wait()
            self._sleep(pause, bounded)
            pause = min(pause * 2, LONGEST_PAUSE[bounded])

    def _take(self, deadline: float | None) -> bool:
        """The in-process lock, waited for no longer than the deadline (a job: until it is free,
        or until the server stops)."""
        if deadline is not None:
            return self._lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
        while not self._lock.acquire(timeout=0.5):
            if self._stopping.is_set():
                raise Stopping()
        return True

    def _sleep(self, seconds: float, bounded: bool) -> None:
        if bounded:
            time.sleep(seconds)
        elif self._stopping.wait(seconds):
            raise Stopping()
