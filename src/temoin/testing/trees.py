"""Snapshots of a folder, to prove a command changed nothing in it."""

from __future__ import annotations

from pathlib import Path

from temoin.keep.vault import hash_file


def tree_state(folder: Path) -> dict[str, tuple[str, float, int]]:
    """Hash, modification time and mode of every regular file below `folder`."""
    state = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            info = path.stat()
            digest, _ = hash_file(path)
            state[str(path)] = (digest, info.st_mtime, info.st_mode)
    return state
