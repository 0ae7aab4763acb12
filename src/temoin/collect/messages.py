"""A chat export's messages into the catalog: rows built once, digested, inserted a batch at a time.

A WhatsApp export can hold a million messages, and every one becomes an item row. SQLAlchemy's
Core insert processes each row's parameters in Python (the JSON of ``meta``, two datetimes),
which cost more than SQLite's own work. On SQLite the rows are therefore handed to the driver's
``executemany`` already in the text SQLAlchemy would have bound: each distinct time is converted
once, by SQLAlchemy's own bind processors, and ``meta`` by the dialect's JSON serialiser, so the
ORM reads back exactly what a Core insert would have stored. Other databases get the Core insert.

While it inserts, the SQLite connection's page cache is raised (``BULK_CACHE_KIB``): each row
adds an entry to seven indexes, one of them keyed by a random hash, and with the default 2 MiB
cache most of those inserts read and spill pages; the cache is put back when the chat is done.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, insert

from temoin.catalog.models import Item
from temoin.collect import fields
from temoin.collect.readers.base import MESSAGE, SYSTEM, ChatMessage
from temoin.timeutil import to_utc

MESSAGE_BATCH = 5000  # chat messages parsed and inserted at a time: bounds memory at any size
BULK_CACHE_KIB = 64 * 1024  # SQLite page cache while a chat's messages go in
_TIMES_HELD = 65536  # distinct stated times remembered at once (a chat's share its minutes)

_ITEMS = cast(Table, Item.__table__)
_COLUMNS = (
    "id", "kind", "parent_id", "seq", "name", "source", "mime", "author", "text", "meta",
    "captured_raw", "capture_source", "time_utc", "created_at",
)  # fmt: skip
_MIME = "text/plain"

Attached = Callable[[int, str], None]  # (message seq, attached file's name as the export says)


@dataclass(frozen=True)
class Chat:
    """What every message row of one chat export shares."""

    id: str
    name: str
    source: str
    app: str
    created_at: datetime
    timezone: str


def message_id(chat_sha: str, seq: int) -> str:
    return hashlib.sha256(f"{chat_sha}:{seq}".encode()).hexdigest()


def record_messages(
    connection: Connection, chat: Chat, messages: Iterator[ChatMessage], attached: Attached
) -> tuple[int, str]:
    """Insert a chat's messages a batch at a time, holding neither its lines nor its rows;
    returns their count and the digest the chat's ingest event records of them."""
    digest = fields.MessageDigest(
        kind=MESSAGE, name=chat.name, source=chat.source, mime=_MIME,
        capture_source=f"chat:{chat.app}",
    )  # fmt: skip
    sqlite = _fast(connection)
    rows = _Rows(chat, connection if sqlite else None, digest, attached)
    count = 0
    with _bulk_cache(connection) if sqlite else nullcontext():
        while batch := list(itertools.islice(messages, MESSAGE_BATCH)):
            built = rows.build(batch, count)
            count += len(batch)
            if sqlite:
                connection.exec_driver_sql(_SQLITE_INSERT, built)
            else:
                connection.execute(
                    insert(_ITEMS), [dict(zip(_COLUMNS, r, strict=True)) for r in built]
                )
    return count, digest.hexdigest()


class _Rows:
    """Builds a batch's rows (in ``_COLUMNS`` order) and feeds the digest as it goes.

    Given a connection, values are bound as SQLAlchemy's processors for that dialect bind them;
    without one they stay Python values, for the Core insert to bind.
    """

    def __init__(
        self, chat: Chat, connection: Connection | None, digest: fields.MessageDigest,
        attached: Attached,
    ) -> None:  # fmt: skip
        self.chat, self.digest, self.attached = chat, digest, attached
        self.id_prefix = f"{chat.id}:"
        self.capture_source = f"chat:{chat.app}"
        self.times: dict[tuple[Any, ...], tuple[str, Any]] = {}
        self.bind_time: Callable[[Any], Any] = _same
        self.bind_meta: Callable[[Any], Any] = _same
        self.line_meta: str | None = None  # "{...}" with %d for the line: the usual meta's text
        self.created_at: Any = chat.created_at
        if connection is not None:
            self.bind_time = _processor(connection, "time_utc")
            self.bind_meta = _processor(connection, "meta")
            self.created_at = _processor(connection, "created_at")(chat.created_at)
            probe = self.bind_meta({"line": 1234567})
            if probe.count("1234567") == 1 and "%" not in probe:
                self.line_meta = probe.replace("1234567", "%d")

    def build(self, batch: list[ChatMessage], start: int) -> list[tuple[Any, ...]]:
        chat, line, line_meta = self.chat, self.digest.line, self.line_meta
        prefix, capture_source, created_at = self.id_prefix, self.capture_source, self.created_at
        sha256 = hashlib.sha256
        built: list[tuple[Any, ...]] = []
        lines: list[str] = []
        last: datetime | None = None
        captured: str = ""
        utc: Any = None
        for seq, message in enumerate(batch, start):
            meta = message.meta
            if message.attachment:
                meta = {**meta, "attachment": message.attachment}
                self.attached(seq, message.attachment)
            moment = message.time
            if moment is not last:  # the reader hands out one object per distinct time
                last = moment
                captured, utc = self._time(moment)
            if line_meta is not None and len(meta) == 1 and type(meta.get("line")) is int:
                stored = line_meta % meta["line"]
            else:
                stored = self.bind_meta(meta)
            author, text = message.author, message.text
            kind = SYSTEM if meta.get("system") else MESSAGE
            built.append(
                (
                    sha256(f"{prefix}{seq}".encode()).hexdigest(), kind, chat.id, seq,
                    chat.name, chat.source, _MIME, author, text, stored, captured,
                    capture_source, utc, created_at,
                )
            )  # fmt: skip
            lines.append(
                line(author=author, text=text, meta=meta, captured=captured, seq=seq, kind=kind)
            )
        self.digest.update(lines)
        return built

    def _time(self, moment: datetime) -> tuple[str, Any]:
        """The stated time as written and its UTC time as bound, converted once per distinct one.

        Keyed with the zone and fold too: aware times equal as instants but written with
        different offsets are different statements.
        """
        key = (moment, moment.tzinfo, moment.fold)
        found = self.times.get(key)
        if found is None:
            if len(self.times) >= _TIMES_HELD:
                self.times.clear()
            found = (moment.isoformat(), self.bind_time(to_utc(moment, self.chat.timezone)))
            self.times[key] = found
        return found


def _fast(connection: Connection) -> bool:
    """Whether rows may go straight to the driver, bound as SQLAlchemy would bind them."""
    return connection.dialect.name == "sqlite"


def _processor(connection: Connection, column: str) -> Callable[[Any], Any]:
    dialect = connection.dialect
    column_type = _ITEMS.c[column].type
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else _same


def _same(value: Any) -> Any:
    return value


_SQLITE_INSERT = (
    f"INSERT INTO items ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)


@contextmanager
def _bulk_cache(connection: Connection) -> Iterator[None]:
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")
