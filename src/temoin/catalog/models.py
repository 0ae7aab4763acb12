"""Tables of the catalog. Column comments are the reference for docs/internals/catalog.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime()}


class Blob(Base):
    """An original in the vault: stored once, never changed."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(100))
    stored_at: Mapped[datetime]


class Item(Base):
    """One thing on the timeline: an original file, or one message of a chat export.

    The id of a file item is its blob's SHA-256; the id of a message is the SHA-256 of
    "<chat export sha256>:<message index>", so re-ingesting never makes a second item.
    """

    __tablename__ = "items"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("items.id"), index=True)
    seq: Mapped[int | None] = mapped_column(Integer)  # position of a message in its export
    attachment_id: Mapped[str | None] = mapped_column(ForeignKey("items.id"))
    name: Mapped[str] = mapped_column(String(1000))  # file name when first seen
    source: Mapped[str] = mapped_column(String(200), index=True)  # device or person, when first seen
    mime: Mapped[str] = mapped_column(String(100))
    author: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    captured_raw: Mapped[str | None] = mapped_column(String(40))  # as the file states it (ISO)
    capture_source: Mapped[str | None] = mapped_column(String(60))
    time_utc: Mapped[datetime | None] = mapped_column(index=True)  # best known UTC time
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_items_parent_seq", "parent_id", "seq"),)


class Sighting(Base):
    """Where and when an original was seen: one row per ingest that met it."""

    __tablename__ = "sightings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    source: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(2000))  # as given; "a.zip!/inner/name" inside zips
    mtime: Mapped[datetime | None]  # the file's modification time (UTC), least trusted clock
    seen_at: Mapped[datetime]


class Reject(Base):
    """A file refused at ingest, with the one-line reason shown to the user."""

    __tablename__ = "rejects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    source: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(2000))
    reason: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str | None] = mapped_column(String(64))
    seen_at: Mapped[datetime]


class Run(Base):
    """One `ingest` invocation."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    stored: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float | None] = mapped_column(Float)


class CustodyEvent(Base):
    """One line of the append-only, hash-chained custody log (format in docs/internals/custody.md)."""

    __tablename__ = "custody"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))  # UTC, ISO 8601 with microseconds and "Z"
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40), index=True)
    item: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON object
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
