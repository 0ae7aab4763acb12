"""The server of an encrypted archive stops when its key is destroyed.

`temoin wipe` removes the key file and every cached key, but a running server holds the data keys
in its own memory, and decrypted copies (originals being served, previews) in its runtime folder.
A watcher sees the key file gone within a fraction of a second; the server then drops its copies
and ends, so a wipe in a hurry leaves no process that can still show anything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from temoin.keep import keys as keyfile

EVERY = 0.25  # seconds between two looks at the key file


class KeyWatch:
    """Calls ``on_gone`` once, from its own thread, when the archive's key file disappears."""

    def __init__(self, root: Path, on_gone: Callable[[], None], every: float = EVERY) -> None:
        self.path = keyfile.key_path(root)
        self.on_gone = on_gone
        self.every = every
        self.gone = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="key-watch", daemon=True)

    def start(self) -> KeyWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if not self.path.exists():
                self.gone = True
                self.on_gone()
                return
