"""Archive: one folder holding the vault, the catalog and the custody log — the façade every front
end (the CLI today, the web app later) holds.

Layout::

    temoin.toml      settings of this archive
    catalog.sqlite   the catalog (unless database_url points elsewhere)
    vault/           originals, by SHA-256
    custody.head     the newest custody event (seq and hash)
    .lock            held while a command writes
"""

from __future__ import annotations

import copy
import fcntl
import getpass
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.database import make_engine, sessions, upgrade
from temoin.catalog.models import Blob
from temoin.errors import ArchiveExists, ArchiveLocked, NotAnArchive
from temoin.events import Action
from temoin.keep.custody import CustodyLog
from temoin.keep.vault import Vault
from temoin.settings import Settings, load_settings
from temoin.timeutil import check_zone

CONFIG = "temoin.toml"


class Archive:
    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.settings = settings
        self.actor = settings.actor or _os_user()
        self.account_id: int | None = None  # a web account acting (see `acting_as`); never the CLI
        self.vault = Vault(root / "vault")
        self.custody = CustodyLog(root / "custody.head")
        url = settings.database_url or f"sqlite:///{root / 'catalog.sqlite'}"
        self.engine = make_engine(url)
        upgrade(self.engine)
        self._sessions = sessions(self.engine)

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path, *, name: str | None = None, timezone: str = "UTC") -> Archive:
        root = root.absolute()
        if (root / CONFIG).exists():
            raise ArchiveExists(f"{root.name}: an archive already exists there")
        root.mkdir(parents=True, exist_ok=True)
        title = name or root.name
        (root / CONFIG).write_text(
            "# temoin archive settings (see `temoin settings` for every option)\n"
            f"name = {_toml_string(title)}\n"
            f"timezone = {_toml_string(timezone)}\n",
            encoding="utf-8",
        )
        check_zone(timezone)
        archive = cls.open(root)
        archive.vault.create()
        with archive.session() as session:
            archive.custody.append(session, archive.actor, Action.INIT, None, name=title)
            session.commit()
        archive.custody.sync_head()
        return archive

    @classmethod
    def open(cls, root: Path, overrides: dict[str, Any] | None = None) -> Archive:
        root = root.absolute()
        if not (root / CONFIG).is_file():
            raise NotAnArchive(f"{root}: not a temoin archive (no {CONFIG}); run `temoin init`")
        return cls(root, load_settings(root / CONFIG, overrides))

    @classmethod
    def find(cls, start: Path, overrides: dict[str, Any] | None = None) -> Archive:
        """The archive containing `start` (like git finds its repository)."""
        here = start.absolute()
        for folder in (here, *here.parents):
            if (folder / CONFIG).is_file():
                return cls.open(folder, overrides)
        raise NotAnArchive()

    def close(self) -> None:
        self.engine.dispose()

    def acting_as(self, actor: str, account: int | None = None) -> Archive:
        """The same archive (engine, vault, custody log) with `actor` named in what follows.

        The web app serves many people from one open archive; each request acts under its
        signed-in person's name without reopening the catalog. `account` is that person's account
        id: what they ingest is theirs by it, since a name is something the CLI's actor can share.
        """
        clone = copy.copy(self)
        clone.actor = actor
        clone.account_id = account
        return clone

    # -- sessions and locking ------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the archive's write lock and clean up what an interrupted writer left behind."""
        lock_path = self.root / ".lock"
        with open(lock_path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise ArchiveLocked() from exc
            try:
                self.vault.create()
                self.vault.clear_tmp()  # partial writes of an interrupted writer
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _collect_orphans(self) -> None:
        """Blobs a killed ingest placed but never committed: no row names them, nothing lost.

        Run before each ingest (the only writer that places blobs), not on every write: it walks
        the whole vault.
        """
        with self.session() as session:
            known = set(session.scalars(select(Blob.sha256)))
            orphans = [
                name
                for name, path in self.vault.walk()
                if name not in known and self.vault.is_well_placed(name, path)
            ]
            for sha in orphans:
                self.vault.remove(sha)
                self.custody.append(
                    session,
                    self.actor,
                    Action.ORPHAN_COLLECTED,
                    sha,
                    reason="stored by an interrupted ingest that never committed",
                )
            if orphans:
                session.commit()
                self.custody.sync_head()

    # -- the pipeline's verbs (each delegates to its stage) ------------------------------------

    def ingest(
        self,
        paths: Iterable[Path],
        *,
        source: str,
        progress: Callable[[int], None] | None = None,
    ) -> Any:
        from temoin.collect.ingest import Ingest, plan

        with self.writing():
            self._collect_orphans()
            return Ingest(self, source, progress).run(plan(paths))

    def status(self) -> dict[str, Any]:
        from temoin.catalog import queries

        with self.session() as session:
            return {"archive": self.settings.name or self.root.name, **queries.counts(session)}

    def stored_bytes(self) -> int:
        from temoin.catalog import queries

        with self.session() as session:
            return queries.total_bytes(session)

    def list_items(self, **filters: Any) -> list[dict[str, Any]]:
        from temoin.catalog import queries
        from temoin.catalog.records import item_record

        with self.session() as session:
            return [
                item_record(item, self.settings.timezone)
                for item in queries.items(session, **filters)
            ]

    def describe(self, prefix: str) -> dict[str, Any]:
        """One item with where it was seen and its custody events (the item and its chat's)."""
        from temoin.catalog import queries
        from temoin.catalog.records import event_record, item_record, sighting_record

        with self.session() as session:
            item = queries.item_by_prefix(session, prefix)
            record = item_record(item, self.settings.timezone)
            evidence = item.blob_sha256 or item.parent_id or item.id
            record["sightings"] = [sighting_record(s) for s in queries.sightings(session, evidence)]
            record["custody"] = [event_record(e) for e in queries.events_for(session, evidence)]
            if item.kind == "chat":
                record["messages"] = len(queries.messages_of(session, item.id))
            return record

    def sent_by(self, account_id: int) -> set[str]:
        from temoin.catalog import queries

        with self.session() as session:
            return queries.sent_by(session, account_id)

    def custody_log(self) -> list[dict[str, Any]]:
        from temoin.catalog import queries
        from temoin.catalog.records import event_record

        with self.session() as session:
            return [event_record(e) for e in queries.all_events(session)]

    def verify(self, progress: Callable[[int], None] | None = None) -> Any:
        from temoin.keep.verify import verify

        with self.session() as session:
            report = verify(session, self.vault, self.custody, progress=progress)
            report.faults += _protect().provenance.verify_derivatives(session, self.root)
            report.derivatives = _protect().provenance.derivative_count(session)
            return report

    # -- sort stage: one-line delegations to temoin.sort.stage ------------------------------------

    def timeline(self, **options: Any) -> Any:
        return _sort().show_timeline(self, **options)

    def rebuild(self) -> Any:
        return _sort().rebuild(self)

    def set_clock(self, source: str, offset_seconds: float, **options: Any) -> Any:
        return _sort().set_clock(self, source, offset_seconds, **options)

    def clocks(self) -> Any:
        return _sort().clocks(self)

    def estimate_clock(self, *, apply: bool = False) -> Any:
        return _sort().estimate_clock(self, apply=apply)

    def search(self, query: str, *, limit: int | None = None) -> Any:
        return _sort().find(self, query, limit=limit)

    def tag(self, prefix: str, tags: list[str]) -> Any:
        return _sort().tag(self, prefix, tags)

    def caption(self, prefix: str, text: str) -> Any:
        return _sort().caption(self, prefix, text)

    def dupes(self) -> Any:
        return _sort().find_dupes(self)

    def name_moment(self, ref: str, name: str) -> Any:
        return _sort().name_moment(self, ref, name)

    # -- protect stage: one-line delegations to temoin.protect ---------------------------------

    def add_person(self, name: str, **fields: Any) -> Any:
        return _protect().review.set_consent(self, name, **fields)

    def withdraw_person(self, name: str, how: str = "") -> Any:
        return _protect().review.withdraw(self, name, how)

    def people(self) -> Any:
        return _protect().review.people(self)

    def redact(self, **options: Any) -> Any:
        return _protect().derivatives.redact(self, **options)

    def review_queue(self, status: str = "pending") -> Any:
        return _protect().review.queue(self, status)

    def review_item(self, prefix: str) -> Any:
        return _protect().review.show(self, prefix)

    def link_face(self, prefix: str, face: int, person: str) -> Any:
        return _protect().review.link_face(self, prefix, face, person)

    def unlink_face(self, prefix: str, face: int) -> Any:
        return _protect().review.unlink_face(self, prefix, face)

    def link_track(self, prefix: str, track: int, person: str, expect: str | None = None) -> Any:
        return _protect().review.link_track(self, prefix, track, person, expect)

    def unlink_track(self, prefix: str, track: int, expect: str | None = None) -> Any:
        return _protect().review.unlink_track(self, prefix, track, expect)

    def dismiss_face(
        self, prefix: str, face: int, *, restore: bool = False, expect: str | None = None
    ) -> Any:
        return _protect().review.dismiss_face(self, prefix, face, restore=restore, expect=expect)

    def review_choices(self) -> Any:
        return _protect().review.choices(self)

    def next_in_queue(self, item_id: str) -> Any:
        return _protect().review.next_in_queue(self, item_id)

    def dismiss_track(
        self, prefix: str, track: int, *, restore: bool = False, expect: str | None = None
    ) -> Any:
        return _protect().review.dismiss_track(self, prefix, track, restore=restore, expect=expect)

    def remove_box(self, prefix: str, number: int) -> Any:
        return _protect().review.remove_box(self, prefix, number)

    def release(self, prefix: str) -> Any:
        return _protect().review.release(self, prefix)

    def link_voice(self, prefix: str, person: str) -> Any:
        return _protect().review.link_voice(self, prefix, person)

    def unlink_voice(self, prefix: str, person: str) -> Any:
        return _protect().review.unlink_voice(self, prefix, person)

    def set_voices_checked(self, prefix: str, checked: bool) -> Any:
        return _protect().review.set_voices_checked(self, prefix, checked)

    def add_box(self, prefix: str, box: Any, start: Any = None, end: Any = None) -> Any:
        return _protect().review.add_box(self, prefix, box, start, end)

    def set_mute(self, prefix: str, mute: bool) -> Any:
        return _protect().review.set_mute(self, prefix, mute)

    def approve(self, prefix: str, expect: str | None = None) -> Any:
        return _protect().review.approve(self, prefix, expect)

    def withhold(self, prefix: str, reason: str) -> Any:
        return _protect().review.withhold(self, prefix, reason)

    def gate(self, item_id: str) -> Any:
        return _protect().gate.check(self, item_id)

    def publishable(self) -> Any:
        return _protect().gate.publishable(self)

    def audit(self, extra: tuple[Path, ...] = ()) -> Any:
        return _protect().gate.audit(self, extra)

    # -- publish stage: one-line delegations to temoin.publish ---------------------------------

    def new_story(self, title: str, start: str, end: str, slug: str | None = None) -> Any:
        return _publish().stories.create(self, title, start, end, slug)

    def stories(self) -> Any:
        return _publish().stories.list_stories(self)

    def publish_site(self, out: Path, progress: Callable[[int, int], None] | None = None) -> Any:
        return _publish().site.publish_site(self, out, progress)

    def publish_feed(self, out: Path) -> Any:
        return _publish().site.publish_feed(self, out)

    def newsletter(self, slug: str, recipients: Path, **options: Any) -> Any:
        return _publish().newsletter.newsletter(self, slug, recipients, **options)

    def export_bag(self, out: Path, slug: str, *, originals: bool = False) -> Any:
        return _publish().bag.export_bag(self, out, slug, originals=originals)


def _publish() -> Any:
    from types import SimpleNamespace

    from temoin.publish import bag, newsletter, site, stories

    return SimpleNamespace(bag=bag, newsletter=newsletter, site=site, stories=stories)


def _protect() -> Any:
    from types import SimpleNamespace

    from temoin.protect import derivatives, gate, provenance, review

    return SimpleNamespace(derivatives=derivatives, gate=gate, provenance=provenance, review=review)


def _sort() -> Any:
    from temoin.sort import stage

    return stage


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
