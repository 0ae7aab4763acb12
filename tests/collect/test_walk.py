"""Walking what the user gives: a tree nested thousands deep costs its deep branch, not the batch."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from temoin.archive import Archive
from temoin.collect.walk import MAX_FOLDER_DEPTH
from temoin.testing.photos import make_photo


def _nest(top: Path, depth: int) -> Path:
    """`depth` folders one inside the other, made relative to each step (paths stay short)."""
    top.mkdir(parents=True)
    fd = os.open(top, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with os.fdopen(os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
            f.write("7:00 at the bottom of the tree\n")
    finally:
        os.close(fd)
    return top


def _unnest(top: Path) -> None:
    """Remove a chain made by `_nest` bottom up: recursive removers (pytest's too) overflow on it."""
    fds = [os.open(top, os.O_RDONLY)]
    try:
        while True:
            try:
                fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
            except FileNotFoundError:
                break
        os.unlink("deep.txt", dir_fd=fds[-1])
        while len(fds) > 1:
            os.close(fds.pop())
            os.rmdir("d", dir_fd=fds[-1])
    finally:
        for fd in fds:
            os.close(fd)


@pytest.fixture
def deep_tree(tmp_path: Path) -> Iterator[Path]:
    top = _nest(tmp_path / "dump/deep", 1200)
    yield top
    _unnest(top)


def test_1200_nested_folders_refuse_their_branch_and_the_rest_is_stored(
    archive: Archive, tmp_path: Path, deep_tree: Path
) -> None:
    dump = tmp_path / "dump"
    make_photo(dump / "a/IMG_1.jpg", seed=1)
    make_photo(dump / "z/IMG_2.jpg", seed=2)
    report = archive.ingest([dump], source="phone")
    assert report.stored == 2
    [refused] = report.rejected
    assert refused.reason == (
        f"folders nested more than {MAX_FOLDER_DEPTH} deep: this branch not read"
    )
    assert refused.path.startswith(str(dump / "deep" / "d")) and "\n" not in refused.reason
    assert any(e["action"] == "rejected" for e in archive.custody_log())


def test_a_tree_at_the_depth_limit_is_read_whole(archive: Archive, tmp_path: Path) -> None:
    dump = _nest(tmp_path / "dump", MAX_FOLDER_DEPTH - 1)
    report = archive.ingest([dump], source="phone")
    assert (report.stored, report.rejected) == (1, [])
