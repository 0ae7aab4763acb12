"""Search notes, messages, captions, tags and file names; answers come in timeline order.

A witness looking for "bus" wants to see the morning unfold (the first mention in the chat, the
diary line, the photo captioned later), so hits are ordered by time, not by relevance.

On SQLite the words go through FTS5 over two columns of each document: `body`, the text as
written, and `stems`, its Snowball stems in French and English (temoin.catalog.stems says why
both). A plain word is looked up by its stems, so "bus" finds "buses" and "départ" finds
"départs"; a word ending in * is a prefix of a word as written ("dép*"); words in double quotes
are a phrase, matched as written and in that order. Accents never matter.

On PostgreSQL the same queries go through a stored ``tsvector`` per document (migration 0012 says
how it is made): the words as written under weight A, the same stems under weight B, so both
databases give the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, text
from sqlalchemy.orm import Session

from temoin.catalog.models import SearchDoc
from temoin.catalog.stems import fold, query_stems, shadow, shadows, words
from temoin.kinds import CHAT_LINES

_WORD = re.compile(r"\w+\*?", re.UNICODE)
_PHRASE = re.compile(r'"([^"]*)"')

# Kinds whose text is one line of a chat, indexed as "author: text" (field "message"); the
# timeline's documents read this list, so a new kind of chat line is searchable once added here.
LINE_KINDS = CHAT_LINES

_BULK_CACHE_KIB = 64 * 1024  # SQLite page cache while the documents go in


@dataclass(frozen=True)
class Doc:
    item_id: str
    field: str  # entry, message, note, caption, tag, name
    body: str
    time_utc: datetime | None
    entry_id: str | None = None


@dataclass(frozen=True)
class Hit:
    item_id: str
    entry_id: str | None
    field: str
    time_utc: datetime | None
    body: str


def _fts(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_PG_INSERT = text(
    "INSERT INTO search_docs (item_id, entry_id, field, time_utc, body, stems, tsv) "
    "VALUES (:item_id, :entry_id, :field, :time_utc, :body, :stems, "
    "temoin_search_vector(:words, :stems))"
)


def plain_words(text: str) -> str:
    """The words of `text` as FTS5's tokenizer sees them (lower case, accents off), for the
    server's vector: split here, so both databases agree on what a word is."""
    return " ".join(map(fold, words(text)))


def _pg_row(doc: Doc, stems: str) -> dict[str, Any]:
    return {
        "item_id": doc.item_id,
        "entry_id": doc.entry_id,
        "field": doc.field,
        "time_utc": doc.time_utc,
        "body": doc.body,
        "stems": stems,
        "words": plain_words(doc.body),
    }


def rebuild_index(session: Session, docs: Iterable[Doc]) -> int:
    """Replace every document; the FTS index is rebuilt from them in one pass (fast in bulk)."""
    session.execute(delete(SearchDoc))
    kept = [d for d in docs if d.body and d.body.strip()]
    stems = shadows([d.body for d in kept])
    if _postgres(session):
        if kept:
            session.execute(_PG_INSERT, [_pg_row(d, s) for d, s in zip(kept, stems, strict=True)])
        return len(kept)
    if not _fts(session):
        columns = ("item_id", "entry_id", "field", "time_utc", "body")
        rows = [
            {**{c: getattr(d, c) for c in columns}, "stems": s}
            for d, s in zip(kept, stems, strict=True)
        ]
        if rows:
            session.execute(insert(cast(Table, SearchDoc.__table__)), rows)
        return len(rows)
    if kept:
        # The driver's own executemany (dates as SQLAlchemy stores them) with a large page
        # cache: at 100,000 documents half the time of a Core insert, paying for the stemming.
        connection = session.connection()
        column = SearchDoc.__table__.c.time_utc.type.dialect_impl(connection.dialect)
        process = column.bind_processor(connection.dialect)
        stamp = (lambda value: value) if process is None else process
        before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        connection.exec_driver_sql(f"PRAGMA cache_size = -{_BULK_CACHE_KIB}")
        try:
            connection.exec_driver_sql(
                "INSERT INTO search_docs (item_id, entry_id, field, time_utc, body, stems) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (d.item_id, d.entry_id, d.field, stamp(d.time_utc), d.body, s)
                    for d, s in zip(kept, stems, strict=True)
                ],
            )
            session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
        finally:
            connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")
    else:
        session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
    return len(kept)


def add_doc(session: Session, doc: Doc) -> None:
    """Index one document now (a new tag or caption) without a rebuild."""
    if _postgres(session):
        session.execute(_PG_INSERT, _pg_row(doc, shadow(doc.body)))
        return
    row = SearchDoc(
        item_id=doc.item_id,
        entry_id=doc.entry_id,
        field=doc.field,
        time_utc=doc.time_utc,
        body=doc.body,
        stems=shadow(doc.body),
    )
    session.add(row)
    session.flush()
    if _fts(session):
        session.execute(
            text("INSERT INTO search_fts(rowid, body, stems) VALUES (:id, :body, :stems)"),
            {"id": row.id, "body": row.body, "stems": row.stems},
        )


def remove_docs(session: Session, item_id: str, field: str) -> None:
    rows = session.scalars(
        select(SearchDoc).where(SearchDoc.item_id == item_id, SearchDoc.field == field)
    ).all()
    for row in rows:
        if _fts(session):
            # External-content FTS5 forgets a row only when told its old text.
            session.execute(
                text(
                    "INSERT INTO search_fts(search_fts, rowid, body, stems) "
                    "VALUES ('delete', :id, :b, :s)"
                ),
                {"id": row.id, "b": row.body, "s": row.stems},
            )
        session.delete(row)
    session.flush()


def fts_query(query: str) -> str:
    """Every term must match: a phrase in quotes as written, `word*` as a prefix of a word as
    written, any other word by its stems. Each term is quoted, which keeps FTS5 syntax inert."""
    terms = []
    for phrase in _PHRASE.findall(query):
        if found := words(phrase):
            terms.append(f'body : "{" ".join(found)}"')
    for word in _WORD.findall(_PHRASE.sub(" ", query)):
        parts = words(word)
        if not parts:
            continue
        if word.endswith("*"):
            terms.append(f'body : "{" ".join(parts)}"*')
        elif len(parts) > 1:  # joined by underscores, as in a file name: those words in order
            terms.append(f'body : "{" ".join(parts)}"')
        else:
            terms.append("stems : (" + " OR ".join(f'"{s}"' for s in query_stems(parts[0])) + ")")
    return " AND ".join(terms)


def ts_query(query: str) -> str:
    """`fts_query` for PostgreSQL's ``to_tsquery('simple', ...)``: the same terms, words as
    written under weight A (accents off), stems under weight B. Every lexeme is quoted: folding
    can make signs of a word ("⑴" is "(1)"), which the server's parser then splits as it split
    the documents' words."""
    terms = []
    for phrase in _PHRASE.findall(query):
        if found := words(phrase):
            terms.append("(" + " <-> ".join(f"{_quoted(fold(w))}:A" for w in found) + ")")
    for word in _WORD.findall(_PHRASE.sub(" ", query)):
        parts = words(word)
        if not parts:
            continue
        if word.endswith("*"):
            *head, last = map(fold, parts)
            terms.append(
                "("
                + " <-> ".join([*(f"{_quoted(w)}:A" for w in head), f"{_quoted(last)}:*A"])
                + ")"
            )
        elif len(parts) > 1:
            terms.append("(" + " <-> ".join(f"{_quoted(fold(w))}:A" for w in parts) + ")")
        else:
            terms.append("(" + " | ".join(f"{_quoted(s)}:B" for s in query_stems(parts[0])) + ")")
    return " & ".join(terms)


def _quoted(lexeme: str) -> str:
    escaped = lexeme.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}'"


def _hits(session: Session, sql: str, match: str, limit: int | None) -> list[Hit]:
    """The rows of a match, in the query's order (SQLite hands times back as text)."""
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows: Any = session.execute(text(sql), {"q": match}).all()
    return [Hit(r[0], r[1], r[2], _as_datetime(r[3]), r[4]) for r in rows]


def search(session: Session, query: str, *, limit: int | None = None) -> list[Hit]:
    """Documents matching every word of `query`, oldest first, undated last."""
    if _postgres(session):
        match = ts_query(query)
        if not match:
            return []
        sql = (
            "SELECT item_id, entry_id, field, time_utc, body FROM search_docs "
            "WHERE tsv @@ to_tsquery('simple', :q) "
            "ORDER BY time_utc IS NULL, time_utc, item_id, id"
        )
        return _hits(session, sql, match, limit)
    if _fts(session):
        match = fts_query(query)
        if not match:
            return []
        sql = (
            "SELECT d.item_id, d.entry_id, d.field, d.time_utc, d.body FROM search_fts "
            "JOIN search_docs d ON d.id = search_fts.rowid WHERE search_fts MATCH :q "
            "ORDER BY d.time_utc IS NULL, d.time_utc, d.item_id, d.id"
        )
        return _hits(session, sql, match, limit)
    plain = [w.rstrip("*") for w in _WORD.findall(query) if w.rstrip("*")]
    if not plain:
        return []
    statement = select(
        SearchDoc.item_id, SearchDoc.entry_id, SearchDoc.field, SearchDoc.time_utc, SearchDoc.body
    )
    for word in plain:
        statement = statement.where(SearchDoc.body.ilike(f"%{word}%"))
    statement = statement.order_by(
        SearchDoc.time_utc.is_(None), SearchDoc.time_utc, SearchDoc.item_id, SearchDoc.id
    )
    if limit:
        statement = statement.limit(limit)
    return [Hit(*row) for row in session.execute(statement)]


def _as_datetime(value: Any) -> datetime | None:
    """Raw SQL on SQLite returns the stored text; the ORM would have parsed it."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
