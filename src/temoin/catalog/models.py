"""Tables of the catalog. Column comments are the reference for docs/internals/catalog.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: DateTime()}


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
    source: Mapped[str] = mapped_column(
        String(200), index=True
    )  # device or person, when first seen
    mime: Mapped[str] = mapped_column(String(100))
    author: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    captured_raw: Mapped[str | None] = mapped_column(String(40))  # as the file states it (ISO)
    capture_source: Mapped[str | None] = mapped_column(String(60))
    time_utc: Mapped[datetime | None] = mapped_column(index=True)  # best known UTC time
    created_at: Mapped[datetime]
    # added by 0002, set by the sort stage: which clock time_utc came from, and how far to trust it
    time_source: Mapped[str | None] = mapped_column(String(60))
    capture_confidence: Mapped[float | None] = mapped_column(Float)
    # added by 0007: why the original is cut short or cannot be decoded; kept as evidence, it
    # leaves the archive only once a reviewer has acknowledged this
    damaged: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_items_parent_seq", "parent_id", "seq"),)

    @property
    def attachment_missing(self) -> bool:
        """A chat message that carried a file this archive does not hold: the export left it
        out (`<Médias omis>`) or it did not come with the export (`attachment_id` unset)."""
        meta = self.meta or {}
        named = bool(meta.get("attachment") or meta.get("media_omitted"))
        return self.kind == "message" and named and self.attachment_id is None

    @property
    def shown_text(self) -> str | None:
        """The text as people read it: a message whose file is missing keeps the line its
        export wrote for the file ("IMG-….jpg (fichier joint)", "<attached: …>") before its
        caption, so it is never an empty message."""
        if not self.attachment_missing:
            return self.text
        meta = self.meta or {}
        placeholder = meta.get("placeholder") or meta.get("attachment")
        return "\n".join(part for part in (placeholder, self.text) if part)


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
    # the web account that sent it (users.id); never set from the command line, whose actor is
    # free text: ownership of what a witness sent is this id, not a name anyone could type
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
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


# -- sort stage (migration 0002) ---------------------------------------------------------------
# Everything below except clock offsets, tags, captions and moment names is derived: the sort
# stage rebuilds it from the items whenever the custody log has moved on, so it never needs a
# custody event of its own.


class ClockOffset(Base):
    """A per-source clock correction set by hand or by `clock --estimate --apply`; newest wins.

    `offset_seconds` is added to every time the device's own clock stated (+200 = it ran
    3 min 20 s slow). `timezone` overrides the archive's zone for that source's naive times.
    """

    __tablename__ = "clock_offsets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(200), index=True)
    offset_seconds: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str | None] = mapped_column(String(64))
    set_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class DiaryEntry(Base):
    """One timed entry of a text note (derived)."""

    __tablename__ = "entries"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256("<item>:entry:<seq>")
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    time_utc: Mapped[datetime | None] = mapped_column(index=True)
    local: Mapped[str | None] = mapped_column(String(40))  # naive local time as the note gives it
    text: Mapped[str] = mapped_column(Text)
    marker: Mapped[str] = mapped_column(String(80))
    line: Mapped[int] = mapped_column(Integer)
    is_dispatch: Mapped[bool] = mapped_column(Boolean)
    approximate: Mapped[bool] = mapped_column(Boolean)
    moment_id: Mapped[int | None] = mapped_column(Integer, index=True)
    title: Mapped[str | None] = mapped_column(String(200))  # a letter's title, from its form
    # added by 0010: what gave the entry its day (temoin.sort.notedays), "file-time" = uncertain
    day_from: Mapped[str | None] = mapped_column(String(40))


class NoteDay(Base):
    """The day a person set by hand for a note written without one (state: written with
    `day-set`); removing the row gives the day back to the evidence."""

    __tablename__ = "note_days"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10))  # ISO date, local to the note's source
    set_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class EntryChange(Base):
    """An entry replaced by a newer version, or deleted (state: written with `entry-changed`).

    The item itself stays: its original is write-once in the vault and its custody history
    stays whole. A changed item is off the timeline and the gate refuses it; `replaced_by` is
    the item holding the new text, None for a deletion.
    """

    __tablename__ = "entry_changes"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    replaced_by: Mapped[str | None] = mapped_column(String(64), index=True)
    changed_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class FigureRow(Base):
    """A stated count (derived) from an entry or a chat message."""

    __tablename__ = "figures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(64), index=True)  # the message or the note
    entry_id: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[int] = mapped_column(BigInteger)
    what: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    approximate: Mapped[bool] = mapped_column(Boolean)
    time_utc: Mapped[datetime | None] = mapped_column(index=True)


class Tag(Base):
    """A word a person put on an item (state: written with a custody event)."""

    __tablename__ = "tags"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class Caption(Base):
    """A person's description of an item (state: written with a custody event); newest wins."""

    __tablename__ = "captions"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class PerceptualHash(Base):
    """Perceptual hashes of a photo (frame 0) or of a video's sampled frames (derived, cached).

    Hashes are stored as signed 64-bit integers (SQLite has no unsigned type).
    """

    __tablename__ = "phashes"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    frame: Mapped[int] = mapped_column(Integer, primary_key=True)
    phash: Mapped[int] = mapped_column(BigInteger)
    dhash: Mapped[int] = mapped_column(BigInteger)


class DupeMember(Base):
    """Membership of a near-duplicate group (derived); nothing is ever deleted."""

    __tablename__ = "dupe_groups"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer, index=True)
    is_representative: Mapped[bool] = mapped_column(Boolean)
    distance: Mapped[int] = mapped_column(Integer)  # Hamming distance to the representative


class Moment(Base):
    """Items close in time (and place): a derived cluster; `name` survives rebuilds."""

    __tablename__ = "moments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(String(200))
    start: Mapped[datetime]
    end: Mapped[datetime]
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)


class ItemMoment(Base):
    """Which moment an item sits in (derived)."""

    __tablename__ = "item_moments"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    moment_id: Mapped[int] = mapped_column(Integer, index=True)


class MomentName(Base):
    """A name given to a moment, anchored on its items so it survives re-clustering (state)."""

    __tablename__ = "moment_names"
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # an item's or entry's id
    name: Mapped[str] = mapped_column(String(200))


class SearchDoc(Base):
    """One searchable text (derived): an entry, a message, a caption, a tag or a file name.

    On SQLite the FTS5 table `search_fts` indexes `body` and `stems` with this table as its
    content. `stems` holds the Snowball stems of `body`'s words (temoin.catalog.stems).
    """

    __tablename__ = "search_docs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(64), index=True)
    entry_id: Mapped[str | None] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(16))  # entry, message, note, caption, tag, name
    time_utc: Mapped[datetime | None] = mapped_column(index=True)
    body: Mapped[str] = mapped_column(Text)
    stems: Mapped[str] = mapped_column(Text, default="", server_default="")


class SortState(Base):
    """Bookkeeping of the derived tables: e.g. the custody seq they were last built at."""

    __tablename__ = "sort_state"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


# -- protect stage (migration 0003) ------------------------------------------------------------
# All of this is state written with a custody event (consent, review decisions, derivatives).
# The register holds no face images, embeddings or other biometric data: a face is tied to a
# person only by a reviewer's link on one item.


class Person(Base):
    """Someone who may appear in the material, and what they agreed to; newest statement wins.

    ``consent`` is "yes", "no" or "withdrawn"; ``scope`` lists what a "yes" covers, a subset of
    face, voice and name. Anyone not registered, or registered without "yes", has not consented.
    """

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # a name or a description
    description: Mapped[str | None] = mapped_column(Text)
    consent: Mapped[str] = mapped_column(String(16))
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    given_at: Mapped[str | None] = mapped_column(String(40))  # when they said it, as stated
    how: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]


class Review(Base):
    """A person's decision on an item: pending, approved or withheld (with the reason).

    ``derivative_sha256`` names the derivative the reviewer saw when approving: an approval does
    not carry over to a derivative rendered afterwards.
    """

    __tablename__ = "reviews"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    derivative_sha256: Mapped[str | None] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    mute: Mapped[bool] = mapped_column(Boolean, default=False)  # a video's sound is removed
    # a reviewer listened and linked every voice heard (migration 0006)
    voices_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    # the approval was given knowing the original is damaged (migration 0007)
    damage_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)


class FaceLink(Base):
    """A reviewer's statement that the face in ``box`` (x, y, w, h of the upright image) is this
    person; whether it stays visible follows the person's current consent.

    On video the link names a whole face track: ``track`` is its number in the analysis whose
    key is ``analysis`` (migration 0006). A link made on another analysis (another model or
    recall profile) no longer applies, and the face is covered again.
    """

    __tablename__ = "face_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    box: Mapped[list[float]] = mapped_column(JSON)
    linked_by: Mapped[str] = mapped_column(String(200))
    linked_at: Mapped[datetime]
    track: Mapped[int | None] = mapped_column(Integer)
    analysis: Mapped[str | None] = mapped_column(String(64))


class Dismissal(Base):
    """A reviewer's statement that a detection is not a face (a flower, a poster, a hand), so it
    is left uncovered (migration 0006). On a photo it names the box; on a video, face track
    ``track`` of the analysis ``analysis``, like a track link. Only a person makes it, it is
    logged, and it can be taken back; the audit does not count it as accounted for."""

    __tablename__ = "dismissals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    box: Mapped[list[float]] = mapped_column(JSON)
    track: Mapped[int | None] = mapped_column(Integer)
    analysis: Mapped[str | None] = mapped_column(String(64))
    dismissed_by: Mapped[str] = mapped_column(String(200))
    dismissed_at: Mapped[datetime]


class VoiceLink(Base):
    """A reviewer's statement that this person's voice is heard on a voice note or a video's
    sound (migration 0006). The sound may leave only when every voice heard is linked (the
    reviewer says so with ``reviews.voices_checked``) and every linked person's consent covers
    their voice."""

    __tablename__ = "voice_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    linked_by: Mapped[str] = mapped_column(String(200))
    linked_at: Mapped[datetime]


class RedactBox(Base):
    """A region a reviewer wants covered (x, y, w, h of the upright image), for videos optionally
    only between ``start`` and ``end`` seconds."""

    __tablename__ = "redact_boxes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    box: Mapped[list[float]] = mapped_column(JSON)
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime]


class Derivative(Base):
    """The current publishable rendering of an item, stored under ``derivatives/`` by SHA-256.

    ``record`` is the canonical JSON that ``signature`` (Ed25519, hex) signs: item, hashes,
    operations, detections, model version and the fingerprint of the decisions it followed.
    """

    __tablename__ = "derivatives"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    original_sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(200))  # relative to the archive folder
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    inputs: Mapped[str] = mapped_column(String(64))  # fingerprint of decisions and consent used
    record: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))
    made_at: Mapped[datetime]


# -- publish stage (migration 0004) ------------------------------------------------------------
# A story is state (written with a custody event); what it shows is decided afresh by the gate at
# every publication, so nothing published is cached here.


class Story(Base):
    """A titled window of time that supporters, the press or a lawyer receive as one story.

    ``start`` and ``end`` are UTC; whatever the gate lets out between them is the story's content.
    """

    __tablename__ = "stories"
    slug: Mapped[str] = mapped_column(String(120), primary_key=True)  # its folder on the site
    title: Mapped[str] = mapped_column(String(300))
    start: Mapped[datetime]
    end: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


# -- serve stage (migration 0005) --------------------------------------------------------------
# Accounts, sign-in sessions and background jobs of `temoin serve`. Adding or changing an account
# writes a custody event; sessions and jobs are bookkeeping of the web app, not evidence.


class User(Base):
    """An account of the web app: a witness uploads, an editor reviews and publishes, an admin
    manages accounts. ``name`` is the actor in custody and the ``source`` of what they upload;
    ``id`` is what owns it (``runs.account_id``), since a name is something the CLI may share."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # witness, editor or admin
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, PHC string
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class PasswordReset(Base):
    """A one-time link an admin printed (`temoin user reset`): only the token's SHA-256 is kept.

    Used once (the row is deleted when a new password is set through it) and only until
    `expires_at`; a newer link for the same account replaces it.
    """

    __tablename__ = "password_resets"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
    copy of the catalog cannot be used to sign in. ``csrf`` is the synchronizer token of its forms."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Job(Base):
    """Work done off the request path (ingest, redaction, publishing), with its progress.

    ``name`` and ``args`` say what to run, so any worker holding the archive can run it: the
    in-process pool today, a queue's workers on other machines later.
    """

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(40))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(200), index=True)  # named in custody
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)  # whose job it is
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued, running, done, failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
