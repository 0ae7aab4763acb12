"""The upload area inside the archive folder: partial uploads, finished files waiting for ingest.

Layout (``<archive>/uploads/``)::

    <id>/info.json      owner (name and account id), declared length, the sanitised file name,
                        and the file time the phone reported (``modified``, UTC), when it did
    <id>/data           the bytes received so far; its size is the tus offset
    <id>/files/<name>   the finished file, named as on the phone, until its ingest job is done

In an encrypted archive nothing a phone sent lies there in clear, not even its name::

    <id>/info.age                   the same record, sealed
    <id>/data.<n>.<size>.age        each part received, sealed on its own: a sealed file cannot
                                    be appended to, so the tus offset is the sum of the sizes
    <id>/complete                   every byte is there; the job decrypts the parts in order
                                    into memory (`clear_upload`) and ingests that

Ids are random and checked against a strict pattern, and names sent by phones are reduced to a
plain base name, so nothing a client sends can place a byte outside this folder. The received
size is read from the file itself, so a crash or a dropped connection loses nothing written.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from python_multipart.exceptions import FormParserError as MultipartFormError
from python_multipart.multipart import MultipartParser, parse_options_header

from temoin.errors import TemoinError, TooLarge, UploadError
from temoin.i18n import marked
from temoin.keep.sealing import Plain, Sealer
from temoin.serve.users import Account

FOLDER = "uploads"
_ID = re.compile(r"^[0-9a-f]{32}$")
_PART = re.compile(r"^data\.(\d{6})\.(\d+)\.age$")
SEALED_INFO, COMPLETE = "info.age", "complete"
PART_BYTES = 4 * 1024 * 1024  # what an encrypted archive's upload holds in memory before sealing
_UNSAFE = re.compile(r"[^\w.\- ()+,@]")
# A phone's file time before this is a clock never set (or a browser's 0 for "unknown"): no hint.
_EARLIEST_HINT = datetime(1990, 1, 1)
_LATEST_HINT = datetime(2200, 1, 1)


def reported_time(milliseconds: int) -> datetime | None:
    """A browser's `File.lastModified` (milliseconds since 1970, UTC) as a naive UTC time, or
    None when it cannot be a real file time (0, or a clock that was never set)."""
    seconds = milliseconds / 1000
    if not _EARLIEST_HINT.replace(tzinfo=UTC).timestamp() <= seconds:
        return None
    if seconds >= _LATEST_HINT.replace(tzinfo=UTC).timestamp():
        return None
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def safe_name(raw: str | None, default: str = "upload") -> str:
    """A base name safe to create in our own folder: no separators, no dot files, no controls."""
    text = unicodedata.normalize("NFC", raw or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = _UNSAFE.sub("_", text).strip(" .")
    if not text or set(text) <= {"_", "."}:
        return default
    stem, dot, suffix = text.rpartition(".")
    if dot and len(suffix) <= 10:
        return f"{stem[: 120 - len(suffix)]}.{suffix}"
    return text[:120]


@dataclass
class Upload:
    id: str
    owner: Account
    length: int
    name: str
    folder: Path
    modified: str | None = None  # the file time the phone reported, ISO, UTC
    sealed: bool = False  # an encrypted archive's upload: parts sealed one by one

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def receiving(self) -> bool:
        """Still taking bytes (not finished, not deleted)."""
        if self.sealed:
            return (self.folder / SEALED_INFO).exists() and not (self.folder / COMPLETE).exists()
        return self.data.exists()

    @property
    def offset(self) -> int:
        if self.sealed:
            if (self.folder / COMPLETE).exists():
                return self.length
            return sum(size for _, size, _ in _parts(self.folder))
        try:
            return self.data.stat().st_size
        except FileNotFoundError:
            return self.length if self.finished.exists() else 0

    @property
    def finished(self) -> Path:
        return self.folder / "files" / self.name


class Receiver:
    """Where the bytes of one request go: appended to ``data`` (a plain archive), or gathered in
    memory and sealed part by part (an encrypted one). `close` makes them durable; what was
    received before a dropped connection is kept either way."""

    def __init__(self, upload: Upload, sealer: Sealer) -> None:
        self.upload, self.sealer = upload, sealer
        self._buffer = bytearray()
        self._handle: BinaryIO | None = None
        if not upload.sealed:
            self._handle = open(upload.data, "ab")  # noqa: SIM115 - closed in close

    def write(self, data: bytes) -> None:
        if self._handle is not None:
            self._handle.write(data)
            return
        self._buffer += data
        if len(self._buffer) >= PART_BYTES:
            self._seal()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
        elif self._buffer:
            self._seal()

    def _seal(self) -> None:
        parts = _parts(self.upload.folder)
        index = parts[-1][0] + 1 if parts else 1
        name = f"data.{index:06d}.{len(self._buffer)}.age"
        self.sealer.write_bytes(self.upload.folder / name, bytes(self._buffer))
        self._buffer.clear()


class UploadStore:
    def __init__(
        self, archive_root: Path, max_bytes: int, max_open: int, sealer: Sealer | None = None
    ) -> None:
        self.root = archive_root / FOLDER
        self.archive_root = archive_root
        self.max_bytes = max_bytes
        self.max_open = max_open
        self.sealer: Sealer = sealer or Plain()

    def relative(self, path: Path) -> str:
        return path.relative_to(self.archive_root).as_posix()

    def create(
        self,
        owner: Account,
        length: int,
        filename: str | None,
        modified: datetime | None = None,
    ) -> Upload:
        if length < 0:
            raise UploadError("Upload-Length must be a whole number of bytes")
        if length > self.max_bytes:
            limit = f"{self.max_bytes:,}"
            raise TooLarge(marked("larger than the limit of %(n)s bytes") % {"n": limit})
        if self.open_count(owner) >= self.max_open:
            raise UploadError(
                marked("%(n)s unfinished uploads already: finish or cancel some")
                % {"n": self.max_open}
            )
        stamp = modified.isoformat() if modified is not None else None
        sealed = self.sealer.sealed
        upload = Upload(
            secrets.token_hex(16), owner, length, safe_name(filename), Path(), stamp, sealed
        )
        upload.folder = self.root / upload.id
        upload.folder.mkdir(parents=True)
        info = {"owner": owner.name, "account": owner.id, "length": length, "name": upload.name}
        if stamp is not None:
            info["modified"] = stamp
        self.write_info(upload, info)
        if not sealed:
            upload.data.touch()
        return upload

    def write_info(self, upload: Upload, info: dict[str, Any]) -> None:
        if self.sealer.sealed:
            self.sealer.write_bytes(upload.folder / SEALED_INFO, json.dumps(info).encode())
        else:
            (upload.folder / "info.json").write_text(json.dumps(info), "utf-8")

    def receiver(self, upload: Upload) -> Receiver:
        return Receiver(upload, self.sealer)

    def get(self, upload_id: str, owner: Account) -> Upload | None:
        """The upload when it exists and belongs to `owner` (others cannot tell it exists)."""
        if not _ID.match(upload_id):
            return None
        folder = self.root / upload_id
        info = self._info(folder)
        if info is None or not _owned_by(info, owner):
            return None
        modified = info.get("modified")
        return Upload(
            upload_id,
            owner,
            int(info["length"]),
            str(info["name"]),
            folder,
            modified if isinstance(modified, str) else None,
            self.sealer.sealed,
        )

    def waiting(self) -> list[tuple[Path, dict[str, Any]]]:
        """Finished uploads still in the upload area (their ingest has not finished), with what
        their info file says: the owner's name and account id."""
        if not self.root.is_dir():
            return []
        found: list[tuple[Path, dict[str, Any]]] = []
        for folder in sorted(self.root.iterdir()):
            info = self._info(folder) if _ID.match(folder.name) else None
            if info is None:
                continue
            if self.sealer.sealed:  # named as on the phone, though only the job's copy exists
                if (folder / COMPLETE).exists():
                    found.append((folder / "files" / safe_name(str(info.get("name"))), info))
                continue
            files = folder / "files"
            if files.is_dir():
                found.extend((path, info) for path in sorted(files.iterdir()) if path.is_file())
        return found

    def finish(self, upload: Upload) -> Path:
        """Give the complete file its phone's name, ready for ingest (an encrypted archive's
        parts stay sealed: the name is where the job's clear copy will be named from)."""
        target = upload.finished
        if upload.sealed:
            info = self._info(upload.folder) or {}
            if info.get("length") != upload.length:  # a form's file: its length known only now
                self.write_info(upload, {**info, "length": upload.length})
            marker = os.open(upload.folder / COMPLETE, os.O_WRONLY | os.O_CREAT, 0o600)
            os.fsync(marker)
            os.close(marker)
            return target
        target.parent.mkdir(exist_ok=True)
        os.replace(upload.data, target)
        return target

    def delete(self, upload: Upload) -> None:
        shutil.rmtree(upload.folder, ignore_errors=True)

    def open_count(self, owner: Account) -> int:
        if not self.root.is_dir():
            return 0
        count = 0
        for folder in self.root.iterdir():
            info = self._info(folder) if _ID.match(folder.name) else None
            if info is not None and _owned_by(info, owner):
                if self.sealer.sealed:
                    count += not (folder / COMPLETE).exists()
                else:
                    count += (folder / "data").exists()
        return count

    def _info(self, folder: Path) -> dict[str, Any] | None:
        try:
            if self.sealer.sealed:
                text = self.sealer.read_bytes(folder / SEALED_INFO).decode("utf-8")
            else:
                text = (folder / "info.json").read_text("utf-8")
            info = json.loads(text)
        except (OSError, ValueError, TemoinError):
            return None
        return info if isinstance(info, dict) else None


def _parts(folder: Path) -> list[tuple[int, int, Path]]:
    """An encrypted archive's upload parts in order: (index, clear size, file)."""
    found = []
    for path in folder.iterdir():
        match = _PART.match(path.name)
        if match is not None:
            found.append((int(match.group(1)), int(match.group(2)), path))
    return sorted(found)


def clear_upload(sealer: Sealer, path: Path) -> Path | None:
    """A finished upload (``<id>/files/<name>``) as a file ingest can read, or None when it is
    not there (ingested and cleared already). In an encrypted archive that is a copy in memory,
    the parts decrypted in order; the caller removes it once ingested."""
    if not sealer.sealed:
        return path if path.is_file() else None
    folder = path.parent.parent
    if not (folder / COMPLETE).exists():
        return None
    place = sealer.scratch(Path()) / FOLDER / folder.name / "files"
    place.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = place / path.name
    with open(target, "wb") as out:
        for _, size, part in _parts(folder):
            clear = sealer.read_bytes(part)
            if len(clear) != size:
                raise UploadError(f"{FOLDER}/{folder.name}/{part.name}: holds {len(clear)} bytes")
            out.write(clear)
    return target


def _owned_by(info: dict[str, Any], owner: Account) -> bool:
    """By account id; uploads begun before ids were recorded name their owner's account."""
    if "account" in info:
        return bool(info["account"] == owner.id)
    return bool(info.get("owner") == owner.name)


FORM_FIELDS = 8  # the upload form has one (its token); a few more for a client's own
FIELD_BYTES = 64 * 1024
FORM_SLACK = FORM_FIELDS * FIELD_BYTES  # what a form may hold besides its files' bytes
HEADER_BYTES = 4096  # one header line of a part
HEADER_COUNT = 8  # headers of a part


class FormUpload:
    """Streams a multipart/form-data body (the no-JavaScript upload form) straight into the
    upload area: no temporary file elsewhere, and the size limit is enforced as bytes arrive.

    The form's first field must be its CSRF token; `check_token` is called with it before any
    file byte is written, so a forged post writes nothing. Only files go to the disk; what stays
    in memory is bounded whatever is sent: a few fields of 64 KiB at most, a part's headers
    (bounded by the parser), and the number of parts and the body's size are capped, so a post
    stuffed with fields or empty parts is refused (400) instead of growing the server.
    """

    def __init__(
        self,
        store: UploadStore,
        owner: Account,
        content_type: str,
        check_token: Callable[[str], None],
    ) -> None:
        kind, params = parse_options_header(content_type)
        if kind != b"multipart/form-data" or b"boundary" not in params:
            raise UploadError("the upload form is sent as multipart/form-data")
        self.store, self.owner, self.check_token = store, owner, check_token
        self.files: list[Upload] = []
        self.fields: dict[str, str] = {}
        self._headers: dict[str, str] = {}
        self._field = self._value = b""
        self._name: str | None = None
        self._buffer = bytearray()
        self._handle: Receiver | None = None
        self._size = 0
        self._checked = False
        self._parts = 0
        self._received = 0
        self.max_parts = FORM_FIELDS + store.max_open
        self.max_body = store.max_bytes + FORM_SLACK
        self.parser = MultipartParser(
            params[b"boundary"],
            max_header_count=HEADER_COUNT,
            max_header_size=HEADER_BYTES,
            callbacks={
                "on_part_begin": self._begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_done,
                "on_part_data": self._data,
                "on_part_end": self._end,
            },
        )

    def feed(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self.max_body:
            raise TooLarge(f"the form is larger than the limit of {self.max_body:,} bytes")
        try:
            self.parser.write(chunk)
        except MultipartFormError as exc:  # the parser's own refusals, as the client's error
            raise UploadError(f"the form cannot be read: {exc}") from exc

    def close(self) -> None:
        try:
            self.parser.finalize()
        except MultipartFormError as exc:
            raise UploadError(f"the form cannot be read: {exc}") from exc

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        for upload in self.files:
            self.store.delete(upload)

    # -- parser callbacks ------------------------------------------------------------------------

    def _begin(self) -> None:
        self._parts += 1
        if self._parts > self.max_parts:
            raise UploadError(f"the form has more than {self.max_parts} parts")
        self._headers, self._name, self._buffer, self._size = {}, None, bytearray(), 0

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode(
            "utf-8", "replace"
        )
        self._field = self._value = b""

    def _headers_done(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", ""))
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        if filename is None:
            return
        if not self._checked:
            raise UploadError("the form's security token must come before its files")
        if not filename:
            self._name = None  # an empty file input
            return
        upload = self.store.create(self.owner, 0, filename.decode("utf-8", "replace"))
        self.files.append(upload)
        self._handle = self.store.receiver(upload)  # closed in _end

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._handle is None:
            self._buffer += data[start:end]
            if len(self._buffer) > FIELD_BYTES:
                raise UploadError("a form field is too long")
            return
        self._size += end - start
        if self._size > self.store.max_bytes:
            raise TooLarge(f"larger than the limit of {self.store.max_bytes:,} bytes")
        self._handle.write(data[start:end])

    def _end(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            upload = self.files[-1]
            upload.length = self._size
            if self._size == 0:
                self.store.delete(upload)
                self.files.pop()
            return
        if self._name is None:
            return
        value = self._buffer.decode("utf-8", "replace")
        if not self._checked:
            if self._name != "csrf":
                raise UploadError("the form's security token must come first")
            self.check_token(value)
            self._checked = True
        if self._name not in self.fields and len(self.fields) >= FORM_FIELDS:
            raise UploadError(f"the form has more than {FORM_FIELDS} fields besides its files")
        self.fields[self._name] = value
