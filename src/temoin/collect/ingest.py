"""The ingest loop: walk → copy and hash in one pass → sniff → read → store → record.

Written once, in order. Each file is copied into the vault's temporary folder while it is hashed, so
the readers work on our own copy (a source that changes mid-read cannot confuse them) and the source
is opened read-only, never modified, moved or deleted. A file is reported stored only after its blob
is durable and the catalog transaction naming it has committed.

A failure to write the vault (a full disk, a full quota, a file-size limit) is the archive's, not
the file's: it is never recorded as a reject, which would blame an intact file for good. It stops
the batch; what was recorded before it is committed, and the next ingest picks up the rest.
"""

from __future__ import annotations

import os
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from temoin.catalog.models import Blob, Item, Reject, Run, Sighting
from temoin.collect import fields
from temoin.collect.exiftool import ExifToolBatch
from temoin.collect.messages import MESSAGE_BATCH, Chat, message_id, record_messages
from temoin.collect.readers import read
from temoin.collect.readers.base import CHAT, MediaInfo
from temoin.collect.sniff import ZIP, sniff
from temoin.collect.walk import Candidate, Refusal, walk
from temoin.collect.zips import InflateBudget, ZipLimits, entries, open_zip
from temoin.errors import DiskFull, FileError, Rejected, TemoinError, is_disk_full
from temoin.events import Action
from temoin.keep.vault import BlobWriter, ShortWrite
from temoin.timeutil import to_utc

if TYPE_CHECKING:
    from temoin.context import ArchiveContext

COMMIT_EVERY_ITEMS = 256
COMMIT_EVERY_SECONDS = 2.0
COMMIT_EVERY_BYTES = 256 * 1024 * 1024
# The capture source of a file time the sending phone reported (the upload page's lastModified).
PHONE_FILE_TIME = "phone:lastModified"


@dataclass
class RejectLine:
    path: str
    reason: str

    def line(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class IngestReport:
    run_id: int = 0
    source: str = ""
    stored: int = 0
    duplicates: int = 0
    messages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    rejected: list[RejectLine] = field(default_factory=list)
    damaged: list[RejectLine] = field(default_factory=list)  # stored, but cut short or undecodable
    stored_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "source": self.source,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "messages": self.messages,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "rejected": [{"path": r.path, "reason": r.reason} for r in self.rejected],
            "damaged": [{"path": r.path, "reason": r.reason} for r in self.damaged],
        }


Progress = Callable[[int], None]


@dataclass
class Prepared:
    """What a worker learnt about one file, for the recording thread."""

    candidate: Candidate
    writer: BlobWriter | None = None
    sha: str | None = None
    info: MediaInfo | None = None
    reason: str | None = None  # set when the file is rejected
    failure: TemoinError | None = None  # set when the vault could not take it: stops the batch
    known: bool = False  # already stored earlier in this run
    is_zip: bool = False


def plan(paths: Iterable[Path]) -> Iterator[Candidate | Refusal]:
    for given in paths:
        yield from walk(given)


class Ingest:
    """`reported` maps a path as given to the time the sending phone says it last wrote that
    file (UTC): kept as a low-trust capture time when the file states none of its own.

    A run is one `ctx.transaction()` committed in batches (`_commit`): the vault must flush
    before a batch commits and settle after, which the helper's single commit cannot do. The
    helper still holds the lock, logs the events, and rolls back a batch cut short, forgetting
    its events; batches already committed stay stored.
    """

    def __init__(
        self,
        ctx: ArchiveContext,
        source: str,
        progress: Progress | None = None,
        reported: Mapping[str, datetime] | None = None,
    ) -> None:
        self.ctx = ctx
        self.reported = dict(reported or {})
        self.settings = ctx.settings
        self.source = source
        self.progress = progress
        self.report = IngestReport(source=source)
        self.limits = ZipLimits(
            max_entries=self.settings.zip_max_entries,
            max_total_bytes=self.settings.zip_max_total_bytes,
            max_ratio=self.settings.zip_max_ratio,
            max_depth=self.settings.zip_max_depth,
        )
        # (container, relative path or bare name) -> item id, to link chat messages to attachments
        self.names: dict[tuple[str, str], str] = {}
        self.chats: list[tuple[str, str, str]] = []  # (chat item id, container, folder inside it)
        # (chat item id, message seq, attached file's name) of messages stored in this run
        self.attachments: list[tuple[str, int, str]] = []
        self.streamed: set[str] = set()  # chats whose messages this run inserted
        self._pending = 0
        self._staged_bytes = 0
        self._last_commit = time.monotonic()
        self.workers = max(1, min(4, os.cpu_count() or 1))
        self.known: set[str] = set()  # every blob in the vault; lets workers skip re-reading copies
        self.chat_ids: set[str] = set()
        # started by the first photo whose metadata Pillow cannot parse; most ingests never do
        self.exiftool = ExifToolBatch()

    # -- the sequence ------------------------------------------------------------------------

    def run(self, candidates: Iterable[Candidate | Refusal]) -> IngestReport:
        started = time.monotonic()
        with self.ctx.transaction() as tx:
            self.tx = tx
            self.session = session = tx.session
            run = Run(
                actor=self.ctx.actor,
                account_id=self.ctx.account_id,
                source=self.source,
                started_at=_now(),
                stored=0,
                duplicates=0,
                rejected=0,
            )
            session.add(run)
            session.commit()  # the run is on record before its first file
            self.run_row = run
            self.report.run_id = run.id
            # Loaded once under the write lock, these answer "seen before?" without a query a file.
            self.known = set(session.scalars(select(Blob.sha256)))
            self.chat_ids = set(session.scalars(select(Item.id).where(Item.kind == CHAT)))
            try:
                try:
                    with ThreadPoolExecutor(self.workers, thread_name_prefix="ingest") as pool:
                        self.pool = pool
                        self._consume(candidates, top=True)
                except FileError:
                    self._keep_what_was_stored()
                    raise
                self._link_attachments()
                self.report.seconds = time.monotonic() - started
                run.finished_at = _now()
                run.stored, run.duplicates = self.report.stored, self.report.duplicates
                run.rejected, run.seconds = len(self.report.rejected), self.report.seconds
                self._commit()
            finally:
                self.exiftool.close()
                # whatever stopped it, a batch left staged must not be moved by the next ingest
                # of a long-running process (the web app): its temporaries are gone by then
                self.ctx.vault.discard_staged()
        return self.report

    def _consume(self, candidates: Iterable[Candidate | Refusal], *, top: bool = False) -> None:
        """Prepare files on worker threads, a few ahead; record them here, in the walk's order.

        Copying, hashing and decoding release the GIL, so two cores work at once; the catalog is
        only ever touched from this thread, and the window bounds memory and open temporaries.
        """
        window: deque[Future[Prepared] | Refusal] = deque()
        try:
            for candidate in candidates:
                if isinstance(candidate, Refusal):
                    window.append(candidate)
                else:
                    window.append(self.pool.submit(self._prepare, candidate))
                while len(window) > self.workers * 2:
                    self._finish(window.popleft(), top)
            while window:
                self._finish(window.popleft(), top)
        except BaseException:
            _discard(window)  # files copied ahead of the failure: their temporaries go
            raise

    def _prepare(self, candidate: Candidate) -> Prepared:
        """Everything that needs no catalog: copy + hash, sniff, read. Runs on a worker thread."""
        if candidate.size > self.settings.max_file_bytes:
            return Prepared(candidate, reason=self._too_large())
        try:
            writer = self.ctx.vault.writer()
        except OSError as exc:
            return Prepared(candidate, failure=_store_failure(candidate, exc))
        try:
            self._copy(candidate, writer)
            sha = writer.sha256
            if sha in self.known:
                writer.discard()
                return Prepared(candidate, sha=sha, known=True)
            writer.close()  # and read back: a write cut short fails here, not in a reader
            sniffed = sniff(writer.clear_path, candidate.name)
            if sniffed.kind == ZIP:
                return Prepared(candidate, writer=writer, sha=sha, is_zip=True)
            info = read(
                sniffed.kind,
                writer.clear_path,
                sniffed.mime,
                max_pixels=self.settings.max_image_pixels,
                max_decode_bytes=self.settings.max_decode_bytes,
                exiftool=self.exiftool,
            )
            if sniffed.note:
                info.meta["note"] = sniffed.note
            return Prepared(candidate, writer=writer, sha=sha, info=info)
        except Rejected as exc:
            writer.discard()
            return Prepared(
                candidate, sha=writer.sha256 if writer.size else None, reason=exc.message
            )
        except ShortWrite as exc:  # the bytes on disk are not those read: the archive's fault
            writer.discard()
            return Prepared(candidate, failure=_store_failure(candidate, exc))
        except FileError as exc:
            writer.discard()
            return Prepared(candidate, failure=exc)
        except Exception as exc:  # the per-file boundary: record what broke and go on
            writer.discard()
            if is_disk_full(exc):  # e.g. while a reader unpacked: still no fault of the file
                return Prepared(candidate, failure=_store_failure(candidate, exc))
            detail = str(exc).splitlines()[0] if str(exc) else ""
            return Prepared(candidate, reason=f"unreadable ({type(exc).__name__}: {detail})")

    def _finish(self, entry: Future[Prepared] | Refusal, top: bool) -> None:
        if isinstance(entry, Refusal):
            self._reject(entry.path, entry.reason, raw_path=entry.raw_path)
            return
        prepared = entry.result()
        candidate = prepared.candidate
        if prepared.failure is not None:
            raise prepared.failure
        if prepared.reason is not None:
            self._reject(candidate.path, prepared.reason, prepared.sha, candidate.raw_path)
        elif prepared.known or prepared.sha in self.known:
            if prepared.writer is not None:
                prepared.writer.discard()
            self._seen_again(candidate, str(prepared.sha))
        elif prepared.is_zip:
            self._expand(prepared)
        else:
            assert prepared.writer is not None and prepared.info is not None
            self.ctx.vault.stage(prepared.writer)
            self._record_new(candidate, prepared.writer.sha256, prepared.writer.size, prepared.info)
        self._maybe_commit()
        if top and self.progress is not None:
            self.progress(candidate.size)

    def _copy(self, candidate: Candidate, writer: BlobWriter) -> None:
        limit, chunk = self.settings.max_file_bytes, self.settings.read_chunk_bytes
        try:
            with candidate.open() as handle:
                while data := handle.read(chunk):
                    try:
                        writer.write(data)
                    except OSError as exc:  # the vault's failure, not the file's: not "cannot read"
                        raise _store_failure(candidate, exc) from exc
                    if writer.size > limit:
                        raise Rejected(self._too_large())
        except zipfile.BadZipFile as exc:
            raise Rejected(f"corrupt zip entry: {exc}") from exc
        except OSError as exc:
            raise Rejected(f"cannot read: {exc.strerror or exc}") from exc
        if writer.size == 0:
            raise Rejected("empty file")

    def _expand(self, prepared: Prepared) -> None:
        candidate, writer = prepared.candidate, prepared.writer
        assert writer is not None
        try:
            if candidate.depth >= self.limits.max_depth:
                raise Rejected(f"zip nested more than {self.limits.max_depth} deep: not opened")
            budget = candidate.budget or InflateBudget(self.limits.max_total_bytes)
            with open_zip(str(writer.clear_path), self.limits) as archive:
                self._consume(entries(archive, candidate, self.limits, budget))
        except Rejected as exc:
            self._reject(candidate.path, exc.message, prepared.sha, candidate.raw_path)
        finally:
            writer.discard()

    # -- catalog writes ------------------------------------------------------------------------

    def _record_new(self, candidate: Candidate, sha: str, size: int, info: MediaInfo) -> None:
        now = _now()
        session, tz = self.session, self.settings.timezone
        session.add(Blob(sha256=sha, size=size, mime=info.mime, stored_at=now))
        captured, capture_source = info.captured_at, info.capture_source
        if captured is None and candidate.path in self.reported:
            said = self.reported[candidate.path]
            captured = said if said.tzinfo else said.replace(tzinfo=UTC)
            capture_source = PHONE_FILE_TIME
        time_utc = to_utc(captured, tz) if captured else candidate.mtime
        item = Item(
            id=sha,
            kind=info.kind,
            blob_sha256=sha,
            name=candidate.name,
            source=self.source,
            mime=info.mime,
            text=info.text,
            meta=info.meta,
            captured_raw=captured.isoformat() if captured else None,
            capture_source=capture_source if captured else ("file:mtime" if time_utc else None),
            time_utc=time_utc,
            created_at=now,
            damaged=info.damaged,
        )
        session.add(item)
        chat: dict[str, Any] = {}
        if info.kind == CHAT:
            chat = self._record_messages(item, info)
        self._sighting(candidate, sha, now)
        self.tx.log(
            Action.INGESTED,
            sha,
            kind=info.kind,
            size=size,
            path=candidate.path,
            source=self.source,
            mtime=_stamp(candidate.mtime),
            captured=item.captured_raw,
            capture_source=item.capture_source,
            fields_sha256=fields.digest(_fields(item)),
            **chat,
            **_exact(candidate.raw_path),
            **({"damaged": info.damaged} if info.damaged else {}),
        )
        self.report.stored += 1
        if info.damaged:
            self.report.damaged.append(RejectLine(candidate.path, info.damaged))
        self.report.bytes += size
        self._staged_bytes += size
        self.report.stored_ids.append(sha)
        self.known.add(sha)
        if info.kind == CHAT:
            self.chat_ids.add(sha)
        self._remember(candidate, sha, info.kind)

    def _record_messages(self, chat: Item, info: MediaInfo) -> dict[str, Any]:
        """Insert a chat's messages (see ``collect.messages``), committed with the chat item in
        the same transaction; returns what the chat's ingest event records of them."""
        messages = info.stream() if info.stream is not None else iter(info.messages)
        self.session.flush()  # the chat row first: its messages name it
        app = str(info.meta.get("app", "chat"))
        rows = Chat(chat.id, chat.name, self.source, app, chat.created_at, self.settings.timezone)

        def attached(seq: int, name: str) -> None:
            self.attachments.append((chat.id, seq, name))

        count, digest = record_messages(self.session.connection(), rows, messages, attached)
        meta = info.finish_meta(info.meta) if info.finish_meta is not None else dict(info.meta)
        chat.meta = {**meta, "message_count": count}
        self.report.messages += count
        self.streamed.add(chat.id)
        return {"messages": count, "messages_sha256": digest}

    def _seen_again(self, candidate: Candidate, sha: str) -> None:
        self._sighting(candidate, sha, _now())
        self.tx.log(
            Action.DUPLICATE_SEEN,
            sha,
            path=candidate.path,
            source=self.source,
            mtime=_stamp(candidate.mtime),
            **_exact(candidate.raw_path),
        )
        self.report.duplicates += 1
        self._remember(candidate, sha, CHAT if sha in self.chat_ids else "")

    def _sighting(self, candidate: Candidate, sha: str, now: datetime) -> None:
        self.session.add(
            Sighting(
                blob_sha256=sha,
                run_id=self.run_row.id,
                source=self.source,
                path=candidate.path,
                mtime=candidate.mtime,
                seen_at=now,
            )
        )

    def _remember(self, candidate: Candidate, sha: str, kind: str) -> None:
        self.names[(candidate.container, candidate.relpath)] = sha
        self.names.setdefault((candidate.container, candidate.name), sha)
        if kind == CHAT:
            folder = candidate.relpath.rsplit("/", 1)[0] if "/" in candidate.relpath else ""
            self.chats.append((sha, candidate.container, folder))

    def _reject(
        self, path: str, reason: str, sha: str | None = None, raw_path: bytes | None = None
    ) -> None:
        self.session.add(
            Reject(
                run_id=self.run_row.id,
                source=self.source,
                path=path,
                reason=reason,
                sha256=sha,
                seen_at=_now(),
            )
        )
        self.tx.log(
            Action.REJECTED,
            sha,
            path=path,
            reason=reason,
            source=self.source,
            **_exact(raw_path),
        )
        self.report.rejected.append(RejectLine(path, reason))

    def _link_attachments(self) -> None:
        """Point each chat message at the item of the file it carried, found in the same export.

        Only messages naming a file are visited, and only their ids and names are held: a chat
        met again in this run is read back a batch of rows at a time.
        """
        folders = {chat_id: (container, folder) for chat_id, container, folder in self.chats}
        named = [a for a in self.attachments if a[0] in folders]
        for chat_id in (
            folders.keys() - self.streamed
        ):  # seen again: its messages are in the catalog
            rows = self.session.execute(
                select(Item.seq, Item.meta)
                .where(Item.parent_id == chat_id, Item.attachment_id.is_(None))
                .execution_options(yield_per=MESSAGE_BATCH)
            )
            for seq, meta in rows:
                name = (meta or {}).get("attachment")
                if name and seq is not None:
                    named.append((chat_id, seq, name))
        links: list[dict[str, Any]] = []
        for chat_id, seq, name in named:
            container, folder = folders[chat_id]
            rel = f"{folder}/{name}" if folder else name
            target = self.names.get((container, rel)) or self.names.get(
                (container, name.rsplit("/", 1)[-1])
            )
            if target:
                links.append({"id": message_id(chat_id, seq), "attachment_id": target})
        for start in range(0, len(links), MESSAGE_BATCH):
            self.session.execute(update(Item), links[start : start + MESSAGE_BATCH])

    def _maybe_commit(self) -> None:
        self._pending += 1
        if (
            self._pending >= COMMIT_EVERY_ITEMS
            or self._staged_bytes >= COMMIT_EVERY_BYTES
            or time.monotonic() - self._last_commit > COMMIT_EVERY_SECONDS
        ):
            self._commit()

    def _keep_what_was_stored(self) -> None:
        """After the vault failed: commit what was recorded before, so it stays stored.

        On a full disk the catalog may not take even that; then it is rolled back and the blobs
        already placed are collected as orphans by the next ingest, which stores them again.
        """
        try:
            self._link_attachments()
            self.run_row.finished_at = _now()
            self.run_row.stored, self.run_row.duplicates = (
                self.report.stored,
                self.report.duplicates,
            )
            self.run_row.rejected = len(self.report.rejected)
            self._commit()
        except (OSError, SQLAlchemyError):  # the failure to report is the one that stopped us
            self.session.rollback()

    def _commit(self) -> None:
        """Commit one batch of the run's transaction (see `Ingest`)."""
        self.ctx.vault.flush()  # blobs durable and in place before the rows naming them
        self.session.commit()
        self.ctx.vault.settled()
        self._pending = 0
        self._staged_bytes = 0
        self._last_commit = time.monotonic()

    def _too_large(self) -> str:
        return f"larger than the limit of {self.settings.max_file_bytes:,} bytes"


def _exact(raw_path: bytes | None) -> dict[str, str]:
    """The path's exact bytes, in hex, for custody when the shown path had to escape some."""
    return {"path_bytes": raw_path.hex()} if raw_path is not None else {}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _stamp(moment: datetime | None) -> str | None:
    """A sighting's naive UTC time as the log writes it (and replay compares it)."""
    return moment.isoformat() if moment is not None else None


def _fields(item: Item) -> dict[str, Any]:
    return fields.item_fields(
        kind=item.kind,
        name=item.name,
        source=item.source,
        mime=item.mime,
        author=item.author,
        text=item.text,
        meta=item.meta,
        captured=item.captured_raw,
        capture_source=item.capture_source,
        seq=item.seq,
    )


def _store_failure(candidate: Candidate, exc: OSError) -> FileError:
    if is_disk_full(exc):
        return DiskFull(
            f"disk full while storing {candidate.path}: what was stored before it is kept; free "
            "some space and run the same ingest again to store the rest"
        )
    return FileError(
        f"the vault could not store {candidate.path}: {exc.strerror or exc}; nothing already "
        "stored was lost"
    )


def _discard(window: deque[Future[Prepared] | Refusal]) -> None:
    for entry in window:
        if isinstance(entry, Future):
            prepared = entry.result()  # _prepare catches what a file can throw
            if prepared.writer is not None:
                prepared.writer.discard()
    window.clear()
