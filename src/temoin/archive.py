"""Archive: one folder holding the vault, the catalog and the custody log — the façade every front
end (the CLI today, the web app later) holds.

Layout::

    temoin.toml      settings of this archive
    catalog.sqlite   the catalog (unless database_url points elsewhere)
    vault/           originals, by SHA-256
    custody.head     the newest custody event (seq and hash)
    .lock            held while a command writes
    temoin.key       an encrypted archive's key file (see keep.keys); its files are age files,
                     its vault names keyed hashes, its catalog SQLCipher's
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from temoin.catalog.models import Blob
from temoin.context import ArchiveContext
from temoin.errors import (
    ArchiveExists,
    NotAnArchive,
    TemoinError,
    UsageError,
    naming_disk_full,
)
from temoin.events import Action
from temoin.keep import keys as keyfile
from temoin.keep import runtime, unlocking
from temoin.keep.custody import CustodyLog
from temoin.keep.keys import Keys
from temoin.keep.sealing import Sealed
from temoin.keep.unlocking import PASSPHRASE_ENV, record_seen, unlock_seconds
from temoin.keep.vault import Vault
from temoin.kinds import Kind
from temoin.settings import Settings, load_settings
from temoin.timeutil import check_zone

if TYPE_CHECKING:
    from temoin.catalog.records import (
        EventRecord,
        ItemDescription,
        ItemRecord,
        StatusRecord,
    )
    from temoin.collect.ingest import IngestReport
    from temoin.collect.walk import Candidate, Refusal
    from temoin.keep.replay import Replayed
    from temoin.keep.verify import VerifyReport
    from temoin.protect.derivatives import Progress, RedactReport
    from temoin.protect.gate import AuditReport, Verdict
    from temoin.protect.records import ConsentResult, PersonRecord, ReviewRecord
    from temoin.publish.bag import BagReport
    from temoin.publish.newsletter import NewsletterReport, Smtp
    from temoin.publish.records import StoryRecord
    from temoin.publish.site import SiteReport
    from temoin.sort.records import (
        CaptionRecord,
        ClockEstimate,
        ClockRecord,
        ClockSet,
        DupesRecord,
        EntryChangeRecord,
        FiguresRecord,
        MomentNameRecord,
        NoteDayRecord,
        NoteDaySet,
        RebuildRecord,
        SearchRecord,
        TagRecord,
        TimelineRecord,
    )

CONFIG = "temoin.toml"


class Archive:
    """The verbs the CLI and the web app call; each opens the lock or a session through the
    archive's `ArchiveContext` and hands that context to its stage."""

    def __init__(self, root: Path, settings: Settings, keys: Keys | None = None) -> None:
        self.ctx = ArchiveContext(root, settings, keys)

    @classmethod
    def _wrap(cls, ctx: ArchiveContext) -> Archive:
        archive = cls.__new__(cls)
        archive.ctx = ctx
        return archive

    # What front ends read of the archive, kept on the façade so they need not know the core.
    @property
    def root(self) -> Path:
        return self.ctx.root

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def actor(self) -> str:
        return self.ctx.actor

    @property
    def account_id(self) -> int | None:
        return self.ctx.account_id

    @property
    def vault(self) -> Vault:
        return self.ctx.vault

    @property
    def custody(self) -> CustodyLog:
        return self.ctx.custody

    @property
    def engine(self) -> Engine:
        return self.ctx.engine

    @property
    def read_only(self) -> bool:
        return self.ctx.read_only

    @property
    def catalog_name(self) -> str:
        return self.ctx.catalog_name

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        root: Path,
        *,
        name: str | None = None,
        timezone: str = "UTC",
        passphrase: str | None = None,
        kdf_cost: dict[str, int] | None = None,
    ) -> Archive:
        """All or nothing: a failed init (a bad zone, a full disk) removes what it made, so the
        next try does not find a half-made archive in its way.

        With ``passphrase`` the archive is encrypted at rest (see keep.keys). Without it, an
        environment that asks for encryption (TEMOIN_ENCRYPT) gets it with TEMOIN_PASSPHRASE."""
        root = root.absolute()
        if (root / CONFIG).exists():
            raise ArchiveExists(f"{root.name}: an archive already exists there")
        inside = next((p for p in root.parents if (p / CONFIG).is_file()), None)
        if inside is not None:  # its verify would call the new one's files altered originals
            raise ArchiveExists(f"{root.name}: inside the archive {inside.name}; make it elsewhere")
        check_zone(timezone)  # refuse before anything is made
        wanted = load_settings(None)
        if passphrase is None and wanted.encrypt:
            passphrase = os.environ.get(PASSPHRASE_ENV) or None
            if passphrase is None:
                raise UsageError(f"an encrypted archive needs a passphrase ({PASSPHRASE_ENV})")
        if passphrase is not None:
            keyfile.check_passphrase(passphrase)
        top = root  # the outermost folder this init makes, if any
        while not top.parent.exists():
            top = top.parent
        made = None if root.exists() else top
        before = set() if made else set(os.listdir(root))
        archive: Archive | None = None
        try:
            root.mkdir(parents=True, exist_ok=True)
            title = name or root.name
            keys = None
            if passphrase is not None:
                cost = kdf_cost or {**keyfile.DEFAULT_COST, "memory_cost": wanted.kdf_memory_kib}
                keys = keyfile.create(root, passphrase, cost)
                record_seen(root, Sealed(root, keys))
                runtime.remember(keys, unlock_seconds(wanted.unlock_hours), root)
            with naming_disk_full(CONFIG):
                (root / CONFIG).write_text(
                    "# temoin archive settings (see `temoin settings` for every option)\n"
                    f"name = {_toml_string(title)}\n"
                    f"timezone = {_toml_string(timezone)}\n"
                    + ("encrypt = true\n" if keys is not None else ""),
                    encoding="utf-8",
                )
            archive = cls.open(root, keys=keys)
            archive.vault.create()
            with archive.ctx.transaction(locked=False) as tx:
                tx.log(Action.INIT, None, name=title)
        except BaseException as exc:
            explained = None
            if archive is not None:
                explained = archive.explain(exc)
                archive.close()
            _remove_made(root, made, before)
            if explained is not None:
                raise explained from exc
            raise
        return archive

    @classmethod
    def open(
        cls, root: Path, overrides: dict[str, Any] | None = None, *, keys: Keys | None = None
    ) -> Archive:
        root = root.absolute()
        if not (root / CONFIG).is_file():
            raise NotAnArchive(f"{root}: not a temoin archive (no {CONFIG}); run `temoin init`")
        settings = load_settings(root / CONFIG, overrides)
        if not settings.encrypt and keyfile.is_encrypted(root):
            settings = replace(settings, encrypt=True)  # the key file is what says so
        return cls(root, settings, keys)

    @classmethod
    def find(cls, start: Path, overrides: dict[str, Any] | None = None) -> Archive:
        """The archive containing `start` (like git finds its repository)."""
        return cls.open(find_root(start), overrides)

    def close(self) -> None:
        self.ctx.close()

    # -- an encrypted archive's keys (none of these opens the catalog) -------------------------

    @staticmethod
    def unlock(root: Path, passphrase: str, hours: float) -> float:
        """Open the key file and keep its keys in memory for later commands; the seconds it took."""
        started = time.monotonic()
        unlocking.unlock(root.absolute(), passphrase, unlocking.unlock_seconds(hours))
        return time.monotonic() - started

    @staticmethod
    def lock(root: Path) -> bool:
        return unlocking.lock(root.absolute())

    @staticmethod
    def wipe(root: Path, *, and_delete: bool = False) -> unlocking.WipeReport:
        return unlocking.wipe(root.absolute(), and_delete=and_delete)

    @staticmethod
    def change_passphrase(root: Path, old: str, new: str) -> None:
        root = root.absolute()
        memory = load_settings(root / CONFIG).kdf_memory_kib
        unlocking.change_passphrase(root, old, new, memory)

    def explain(self, exc: BaseException) -> TemoinError | None:
        return self.ctx.explain(exc)

    def acting_as(self, actor: str, account: int | None = None) -> Archive:
        """The same archive with `actor` (and web `account`) named in what follows."""
        return Archive._wrap(self.ctx.acting_as(actor, account))

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.ctx.session() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self.ctx.writing():
            yield

    # -- the pipeline's verbs (each delegates to its stage) ------------------------------------

    def ingest(
        self,
        paths: Iterable[Path],
        *,
        source: str,
        progress: Callable[[int], None] | None = None,
        reported: Mapping[str, datetime] | None = None,
        arrived: bool = False,
    ) -> IngestReport:
        """`reported`: file times a sending phone gave for some of `paths` (see `Ingest`).
        `arrived`: the files' own times are when they reached the server (web uploads), not
        when they were made, and are never taken as a capture time."""
        from temoin.collect.ingest import Ingest, plan
        from temoin.keep.orphans import collect_orphans

        with self.writing():
            collect_orphans(self.ctx)
            candidates = plan(paths)
            if arrived:
                candidates = (_untimed(c) for c in candidates)
            return Ingest(self.ctx, source, progress, reported).run(candidates)

    def status(self) -> StatusRecord:
        from temoin.catalog import queries

        with self.session() as session:
            return {"archive": self.settings.name or self.root.name, **queries.counts(session)}

    def stored_bytes(self) -> int:
        from temoin.catalog import queries

        with self.session() as session:
            return queries.total_bytes(session)

    def list_items(
        self,
        *,
        kind: str | None = None,
        source: str | None = None,
        messages: bool = False,
        limit: int | None = None,
    ) -> list[ItemRecord]:
        from temoin.catalog import queries
        from temoin.catalog.records import item_record

        with self.session() as session:
            return [
                item_record(item, self.settings.timezone)
                for item in queries.items(
                    session, kind=kind, source=source, messages=messages, limit=limit
                )
            ]

    def describe(self, prefix: str) -> ItemDescription:
        """One item with where it was seen and its custody events (the item and its chat's); a
        note also says its day and what gave it (sorted first, so its time is that day's)."""
        from temoin.catalog import queries
        from temoin.catalog.records import event_record, item_record, sighting_record
        from temoin.sort.edits import is_entry

        with self.session() as session:
            item = queries.item_by_prefix(session, prefix)
            item_id, is_note = item.id, item.kind == Kind.TEXT and not is_entry(item)
        note = self.note_day(item_id) if is_note else None
        with self.session() as session:
            item = queries.item_by_prefix(session, item_id)
            record: ItemDescription = {**item_record(item, self.settings.timezone)}
            evidence = item.blob_sha256 or item.parent_id or item.id
            record["sightings"] = [sighting_record(s) for s in queries.sightings(session, evidence)]
            record["custody"] = [event_record(e) for e in queries.events_for(session, evidence)]
            if item.kind == Kind.CHAT:
                record["messages"] = len(queries.messages_of(session, item.id))
        if note is not None:
            record["day"], record["day_from"] = note["day"], note["day_from"]
            record["day_from_label"] = note["day_from_label"]
            record["day_uncertain"] = note["day_uncertain"]
            record["day_set_by_hand"] = note["set_by_hand"]
        return record

    def sent_by(self, account_id: int) -> set[str]:
        from temoin.catalog import queries

        with self.session() as session:
            return queries.sent_by(session, account_id)

    def custody_log(self) -> list[EventRecord]:
        from temoin.catalog import queries
        from temoin.catalog.records import event_record

        with self.session() as session:
            return [event_record(e) for e in queries.all_events(session)]

    def verify(
        self, progress: Callable[[int], None] | None = None, against: Iterable[str] = ()
    ) -> VerifyReport:
        """``against``: published copies (site or bag folders, files) or ``SEQ:HASH`` heads the
        log must still hold (see ``keep.anchor``)."""
        from temoin.keep import anchor
        from temoin.keep.verify import read_snapshot, verify
        from temoin.protect import provenance

        anchors = [anchor.read(target) for target in against]  # a bad one fails before the work
        head = self.custody.read_head()  # before the catalog: the catalog can only be ahead of it
        with self.session() as session:
            read_snapshot(session)
            report = verify(
                session,
                self.vault,
                self.custody,
                progress=progress,
                head=head,
                committed_since=self._blobs_listed_now,
                writer_active=self._writer_active,
            )
            for held in anchors:
                report.faults += anchor.check(session, held)
            derivative_faults = provenance.verify_derivatives(session, self.ctx)
            report.derivatives = provenance.derivative_count(session)
            replayed = _replay(session, self.settings.timezone)
            report.faults += replayed.faults
            report.unchecked += replayed.unchecked
        if derivative_faults:  # a redaction may have replaced some meanwhile: keep what lasts
            with self.session() as session:
                again = provenance.verify_derivatives(session, self.ctx)
            lasting = {(f.kind, f.object, f.detail) for f in again}
            derivative_faults = [
                f for f in derivative_faults if (f.kind, f.object, f.detail) in lasting
            ]
        report.faults += derivative_faults
        return report

    def _blobs_listed_now(self, names: Collection[str]) -> set[str]:
        """Which of these vault file names the catalog lists now."""
        with self.session() as session:
            if self.ctx.encrypted:  # keyed names: compare them with the names of every hash
                every = session.scalars(select(Blob.sha256))
                return {n for n in map(self.vault.name, every) if n in names}
            return set(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(list(names)))))

    def _writer_active(self) -> bool:
        return self.ctx.writer_active()

    # -- sort stage: one-line delegations to temoin.sort.stage ------------------------------------

    def timeline(self, *, day: date | None = None, timezone: str | None = None) -> TimelineRecord:
        from temoin.sort import stage

        return stage.show_timeline(self.ctx, day=day, timezone=timezone)

    def figures(self, *, day: date | None = None, timezone: str | None = None) -> FiguresRecord:
        from temoin.sort import stage

        return stage.list_figures(self.ctx, day=day, timezone=timezone)

    def rebuild(self) -> RebuildRecord:
        from temoin.sort import stage

        return stage.rebuild(self.ctx)

    def set_clock(
        self,
        source: str,
        offset_seconds: float | None,
        *,
        reason: str = "",
        timezone: str | None = None,
    ) -> ClockSet:
        from temoin.sort import stage

        return stage.set_clock(self.ctx, source, offset_seconds, reason=reason, timezone=timezone)

    def clocks(self) -> list[ClockRecord]:
        from temoin.sort import stage

        return stage.clocks(self.ctx)

    def estimate_clock(self, *, apply: bool = False) -> ClockEstimate:
        from temoin.sort import stage

        return stage.estimate_clock(self.ctx, apply=apply)

    def search(self, query: str, *, limit: int | None = None) -> SearchRecord:
        from temoin.sort import stage

        return stage.find(self.ctx, query, limit=limit)

    def tag(self, prefix: str, tags: list[str]) -> TagRecord:
        from temoin.sort import stage

        return stage.tag(self.ctx, prefix, tags)

    def caption(self, prefix: str, text: str) -> CaptionRecord:
        from temoin.sort import stage

        return stage.caption(self.ctx, prefix, text)

    def change_entry(self, item_id: str, replaced_by: str | None) -> EntryChangeRecord:
        """Mark an entry replaced by its new version (already ingested), or deleted (None)."""
        from temoin.sort.edits import record_change

        return record_change(self.ctx, item_id, replaced_by)

    def dupes(self) -> DupesRecord:
        from temoin.sort import stage

        return stage.find_dupes(self.ctx)

    def note_day(self, prefix: str) -> NoteDayRecord:
        from temoin.sort import stage

        return stage.note_day(self.ctx, prefix)

    def set_note_day(self, prefix: str, day: date | None) -> NoteDaySet:
        """Set a note's day by hand (logged); None gives it back to the evidence."""
        from temoin.sort import stage

        return stage.set_note_day(self.ctx, prefix, day)

    def name_moment(self, ref: str, name: str) -> MomentNameRecord:
        from temoin.sort import stage

        return stage.name_moment(self.ctx, ref, name)

    # -- protect stage: delegations to temoin.protect (imported on use: it loads OpenCV) -----

    def add_person(
        self,
        name: str,
        *,
        consent: str,
        scope: list[str] | None = None,
        how: str = "",
        given_at: str | None = None,
        description: str | None = None,
    ) -> ConsentResult:
        from temoin.protect import review

        return review.set_consent(
            self.ctx,
            name,
            consent=consent,
            scope=scope,
            how=how,
            given_at=given_at,
            description=description,
        )

    def withdraw_person(self, name: str, how: str = "") -> ConsentResult:
        from temoin.protect import review

        return review.withdraw(self.ctx, name, how)

    def people(self) -> list[PersonRecord]:
        from temoin.protect import review

        return review.people(self.ctx)

    def redact(
        self,
        *,
        export: Path | None = None,
        threads: int = 2,
        every: int | None = None,
        recall: str | None = None,
        progress: Progress | None = None,
    ) -> RedactReport:
        from temoin.protect import derivatives

        return derivatives.redact(
            self.ctx, export=export, threads=threads, every=every, recall=recall, progress=progress
        )

    def review_queue(self, status: str = "pending") -> list[ReviewRecord]:
        from temoin.protect import review

        return review.queue(self.ctx, status)

    def review_item(self, prefix: str) -> ReviewRecord:
        from temoin.protect import review

        return review.show(self.ctx, prefix)

    def link_face(self, prefix: str, face: int, person: str) -> ReviewRecord:
        from temoin.protect import review

        return review.link_face(self.ctx, prefix, face, person)

    def unlink_face(self, prefix: str, face: int) -> ReviewRecord:
        from temoin.protect import review

        return review.unlink_face(self.ctx, prefix, face)

    def link_track(
        self, prefix: str, track: int, person: str, expect: str | None = None
    ) -> ReviewRecord:
        from temoin.protect import review

        return review.link_track(self.ctx, prefix, track, person, expect)

    def unlink_track(self, prefix: str, track: int, expect: str | None = None) -> ReviewRecord:
        from temoin.protect import review

        return review.unlink_track(self.ctx, prefix, track, expect)

    def dismiss_face(
        self, prefix: str, face: int, *, restore: bool = False, expect: str | None = None
    ) -> ReviewRecord:
        from temoin.protect import review

        return review.dismiss_face(self.ctx, prefix, face, restore=restore, expect=expect)

    def review_choices(self) -> tuple[list[str], list[str]]:
        from temoin.protect import review

        return review.choices(self.ctx)

    def next_in_queue(self, item_id: str) -> str | None:
        from temoin.protect import review

        return review.next_in_queue(self.ctx, item_id)

    def dismiss_track(
        self, prefix: str, track: int, *, restore: bool = False, expect: str | None = None
    ) -> ReviewRecord:
        from temoin.protect import review

        return review.dismiss_track(self.ctx, prefix, track, restore=restore, expect=expect)

    def remove_box(self, prefix: str, number: int) -> ReviewRecord:
        from temoin.protect import review

        return review.remove_box(self.ctx, prefix, number)

    def release(self, prefix: str) -> ReviewRecord:
        from temoin.protect import review

        return review.release(self.ctx, prefix)

    def link_voice(self, prefix: str, person: str) -> ReviewRecord:
        from temoin.protect import review

        return review.link_voice(self.ctx, prefix, person)

    def unlink_voice(self, prefix: str, person: str) -> ReviewRecord:
        from temoin.protect import review

        return review.unlink_voice(self.ctx, prefix, person)

    def set_voices_checked(self, prefix: str, checked: bool) -> ReviewRecord:
        from temoin.protect import review

        return review.set_voices_checked(self.ctx, prefix, checked)

    def add_box(
        self,
        prefix: str,
        box: Sequence[float],
        start: float | None = None,
        end: float | None = None,
    ) -> ReviewRecord:
        from temoin.protect import review

        return review.add_box(self.ctx, prefix, box, start, end)

    def set_mute(self, prefix: str, mute: bool) -> ReviewRecord:
        from temoin.protect import review

        return review.set_mute(self.ctx, prefix, mute)

    def approve(
        self, prefix: str, expect: str | None = None, damaged_ok: bool = False
    ) -> ReviewRecord:
        from temoin.protect import review

        return review.approve(self.ctx, prefix, expect, damaged_ok)

    def withhold(self, prefix: str, reason: str) -> ReviewRecord:
        from temoin.protect import review

        return review.withhold(self.ctx, prefix, reason)

    def gate(self, item_id: str) -> Verdict:
        from temoin.protect import gate

        return gate.check(self.ctx, item_id)

    def publishable(self) -> list[str]:
        from temoin.protect import gate

        return gate.publishable(self.ctx)

    def audit(self, extra: tuple[Path, ...] = ()) -> AuditReport:
        from temoin.protect import gate

        return gate.audit(self.ctx, extra)

    # -- publish stage: one-line delegations to temoin.publish ---------------------------------

    def new_story(self, title: str, start: str, end: str, slug: str | None = None) -> StoryRecord:
        from temoin.publish import stories

        return stories.create(self.ctx, title, start, end, slug)

    def stories(self) -> list[StoryRecord]:
        from temoin.publish import stories

        return stories.list_stories(self.ctx)

    def publish_site(
        self, out: Path, progress: Callable[[int, int], None] | None = None
    ) -> SiteReport:
        from temoin.publish import site

        return site.publish_site(self.ctx, out, progress)

    def publish_feed(self, out: Path) -> SiteReport:
        from temoin.publish import site

        return site.publish_feed(self.ctx, out)

    def newsletter(
        self, slug: str, recipients: Path, *, smtp: Smtp | None = None, eml: Path | None = None
    ) -> NewsletterReport:
        from temoin.publish import newsletter

        return newsletter.newsletter(self.ctx, slug, recipients, smtp=smtp, eml=eml)

    def export_bag(
        self, out: Path, slug: str, *, originals: bool = False, to: Sequence[str] = ()
    ) -> BagReport:
        from temoin.publish import bag

        return bag.export_bag(self.ctx, out, slug, originals=originals, to=to)


def _replay(session: Session, timezone: str) -> Replayed:
    """Every stage's replay of the custody log against the catalog, in pipeline order."""
    from temoin.collect.replay import replay_collect
    from temoin.keep.replay import Replayed, read_log, replay_accounts
    from temoin.protect.replay import replay_protect
    from temoin.sort.replay import replay_sort

    log = read_log(session)
    result = Replayed()
    for step in (
        replay_collect(session, log),
        replay_sort(session, log, timezone),
        replay_protect(session, log),
        replay_accounts(session, log),
    ):
        result.extend(step)
    return result


def _untimed(candidate: Candidate | Refusal) -> Candidate | Refusal:
    """A file given without its time: the time it has is only when it arrived here."""
    from temoin.collect.walk import Candidate

    return replace(candidate, mtime=None) if isinstance(candidate, Candidate) else candidate


def _toml_string(value: str) -> str:
    # A JSON string is a TOML basic string, except that TOML also wants DEL escaped.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _remove_made(root: Path, made: Path | None, before: set[str]) -> None:
    """Undo a failed init: the folders it made, or the entries it added to a folder that was there."""
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)
        return
    for entry in set(os.listdir(root)) - before:
        path = root / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def find_root(start: Path) -> Path:
    """The folder of the archive containing `start`, found without opening its catalog (a
    worker never opens it)."""
    here = start.absolute()
    for folder in (here, *here.parents):
        if (folder / CONFIG).is_file():
            return folder
    raise NotAnArchive()
