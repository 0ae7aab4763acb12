"""File names that are not UTF-8 (Latin-1 from old cameras and zip tools): stored, shown escaped, kept exactly."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from temoin.archive import Archive
from temoin.testing.photos import make_photo


def _latin1_zip(path: Path, entries: dict[bytes, bytes]) -> Path:
    """A zip as old Windows tools write it: Latin-1 names and no UTF-8 flag."""
    placeholders = {f"entry{i:04d}".encode(): raw for i, raw in enumerate(entries)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for (placeholder, raw), data in zip(placeholders.items(), entries.values(), strict=True):
            padded = placeholder + b"_" * (len(raw) - len(placeholder))
            archive.writestr(padded.decode("ascii"), data)
    data = path.read_bytes()
    for placeholder, raw in placeholders.items():
        padded = placeholder + b"_" * (len(raw) - len(placeholder))
        data = data.replace(padded, raw)
    path.write_bytes(data)
    return path


def test_latin1_names_on_disk_are_stored_and_kept_exactly(archive: Archive, tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    make_photo(dump / "IMG_1.jpg", seed=1)
    latin1 = os.fsencode(dump) + b"/f\xeate du 24 octobre.jpg"
    with open(latin1, "wb") as handle:
        handle.write(make_photo(tmp_path / "src.jpg", seed=2).read_bytes())
    report = archive.ingest([dump], source="old camera")
    assert (report.stored, report.rejected) == (2, [])
    names = {item["name"] for item in archive.list_items(kind="photo")}
    assert names == {"IMG_1.jpg", "f\\xeate du 24 octobre.jpg"}
    [event] = [e for e in archive.custody_log() if "path_bytes" in e["detail"]]
    assert bytes.fromhex(event["detail"]["path_bytes"]) == latin1
    assert event["detail"]["path"].endswith("/f\\xeate du 24 octobre.jpg")


def test_latin1_names_in_a_zip_are_stored_and_kept_exactly(
    archive: Archive, tmp_path: Path
) -> None:
    first = make_photo(tmp_path / "a.jpg", seed=3).read_bytes()
    second = make_photo(tmp_path / "b.jpg", seed=4).read_bytes()
    export = _latin1_zip(
        tmp_path / "export.zip", {b"DCIM/\xe9vacuation.jpg": first, b"DCIM/second.jpg": second}
    )
    report = archive.ingest([export], source="old zip tool")
    assert (report.stored, report.rejected) == (2, [])
    names = {item["name"] for item in archive.list_items(kind="photo")}
    assert names == {"\\xe9vacuation.jpg", "second.jpg"}
    [event] = [e for e in archive.custody_log() if "path_bytes" in e["detail"]]
    exact = bytes.fromhex(event["detail"]["path_bytes"])
    assert exact == str(export).encode() + b"!/DCIM/\xe9vacuation.jpg"


def test_cli_lists_an_escaped_name_on_one_line(cli, tmp_path: Path) -> None:
    assert cli("init", str(tmp_path / "a")).code == 0
    dump = tmp_path / "dump"
    dump.mkdir()
    with open(os.fsencode(dump) + b"/caf\xe9.jpg", "wb") as handle:
        handle.write(make_photo(tmp_path / "src.jpg", seed=5).read_bytes())
    assert cli("ingest", str(dump), "--source", "camera", cwd=tmp_path / "a").code == 0
    listed = cli("ls", cwd=tmp_path / "a")
    assert listed.code == 0 and "caf\\xe9.jpg" in listed.out
