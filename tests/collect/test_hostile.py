"""A hostile corpus: every bad file refused with its reason, memory bounded, nothing written outside."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from temoin.archive import Archive
from temoin.testing.hostile import make_hostile_corpus
from temoin.testing.limits import PEAK_CHILD, peak_kib
from temoin.testing.photos import make_photo
from temoin.testing.trees import tree_state

LIMIT = 64 * 1024 * 1024  # the "huge" file is just over it, sparse, so the test stays quick


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _outside_archive(top: Path) -> set[str]:
    return {p for p in _listing(top) if not p.startswith("archive")}


def _shown(path: str, dump: Path) -> str:
    return path.split(str(dump) + "/", 1)[1]


def test_hostile_corpus(tmp_path: Path) -> None:
    dump, outside = tmp_path / "dump", tmp_path / "outside"
    outside.mkdir()
    expect = make_hostile_corpus(dump, outside, huge_bytes=LIMIT + 1)
    assert len(expect) >= 12
    make_photo(dump / "good/IMG_1.jpg", seed=1)
    make_photo(dump / "good/IMG_2.jpg", seed=2)
    Archive.create(tmp_path / "archive").close()
    before_dump, before_outside = tree_state(dump), _listing(outside)
    before_top = _outside_archive(tmp_path)

    command = [sys.executable, "-c", PEAK_CHILD, "-A", str(tmp_path / "archive"), "ingest",
               str(dump), "--source", "hostile", "--json"]  # fmt: skip
    env = {**os.environ, "TEMOIN_MAX_FILE_BYTES": str(LIMIT)}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    stdout, stderr = child.communicate(timeout=300)
    peak = peak_kib(stderr)  # its own, not the test process's it was forked from
    assert child.returncode == 6, stderr.decode()
    report = json.loads(stdout)
    assert report["stored"] == 3  # the two good photos, and the cut one kept as damaged
    [damaged] = report["damaged"]
    assert _shown(damaged["path"], dump) == "truncated.jpg"
    assert damaged["reason"].startswith("truncated image")
    reasons = {_shown(r["path"], dump): r["reason"] for r in report["rejected"]}
    for path, fragment in expect.items():
        assert path in reasons, f"{path} not rejected; got {sorted(reasons)}"
        assert fragment.lower() in reasons[path].lower(), (path, reasons[path])
    for reason in reasons.values():
        assert "\n" not in reason and len(reason) < 300

    assert peak < 512 * 1024, f"peak RSS {peak} KiB"
    # nothing written outside the archive, sources untouched, no temporary left behind
    assert tree_state(dump) == before_dump
    assert _listing(outside) == before_outside
    assert _outside_archive(tmp_path) == before_top
    assert not (tmp_path / "evil.txt").exists()
    archive = Archive.open(tmp_path / "archive")
    assert not list(archive.vault.tmp.iterdir())
    assert archive.verify().ok
    archive.close()
