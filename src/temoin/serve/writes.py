"""One writer at a time: how the web app's threads share the archive's write lock.

`Archive.writing()` refuses at once (ArchiveLocked) when the lock is held, which suits a CLI user
who can run the command again. A web app has many threads and may share the archive with a CLI
user, so its writes queue on an in-process lock and then wait politely for the archive's own lock
(a timeline page rebuilding the sort tables, or `temoin ingest` in a terminal) before giving up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from temoin.errors import ArchiveLocked

if TYPE_CHECKING:
    pass

P = ParamSpec("P")
T = TypeVar("T")


class Writes:
    def __init__(self, wait_seconds: float = 120.0) -> None:
        self.wait_seconds = wait_seconds
        self._lock = threading.Lock()

    def run(self, action: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        deadline = time.monotonic() + self.wait_seconds
        pause = 0.02
        with self._lock:
            while True:
                try:
                    return action(*args, **kwargs)
                except ArchiveLocked:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(pause)
                    pause = min(pause * 2, 0.5)
