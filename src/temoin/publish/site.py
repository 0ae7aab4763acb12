"""The static site: what supporters, the press and lawyers open, from a web host or from disk.

Sequence (`publish_site`), written once:

    1. sort      bring the timeline up to date (the sort stage's lazy rebuild)
    2. gate      every item of every story through protect's gate (temoin.publish.stories)
    3. media     each let-out derivative copied byte for byte (so its hash matches its signature),
                 smaller JPEGs for srcset, a poster per video, the signed record beside it
    4. pages     index, one timeline per story, one page per item, the support page, the feed
    5. prune     files of the previous build that this one no longer produces are deleted
    6. custody   one ``published`` event per item newly put on the site, and one for the build

Layout of the folder (every link relative, every page ending in .html, so file:// works)::

    index.html  support.html  feed.xml  style.css  archive.ed25519.pub
    stories/<slug>/index.html
    items/<id16>.html
    media/<sha16>.jpg|.mp4   media/<sha16>-<width>.jpg   media/<sha16>-poster.jpg
    provenance/<sha16>.json  provenance/<sha16>.record.json  provenance/<sha16>.sig
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import CustodyEvent
from temoin.events import Action
from temoin.i18n import marked, marked_as, translate, translate_as
from temoin.keep import anchor
from temoin.kinds import Kind
from temoin.protect import provenance
from temoin.publish import feed, media
from temoin.publish.output import Output, folder_key, kept_manifest
from temoin.publish.stories import (
    Gatekeeper,
    Media,
    Row,
    StoryView,
    Withheld,
    all_stories,
    collect,
)
from temoin.publish.templating import clock, environment, long_day, static

if TYPE_CHECKING:
    from temoin.context import ArchiveContext, Transaction

Progress = Callable[[int, int], None]
KIND_LABEL: dict[str, str] = {
    Kind.PHOTO: marked("Photo"),
    Kind.VIDEO: marked("Video"),
    Kind.AUDIO: marked("Voice note"),
}
# What the renderer did, as the signed record names it (`protect/derivatives.py`), in words.
OPERATIONS = {
    "upright": marked_as("operation", "upright"),
    "detect-faces": marked_as("operation", "detect-faces"),
    "track-faces": marked_as("operation", "track-faces"),
    "cover": marked_as("operation", "cover"),
    "keep-consenting": marked_as("operation", "keep-consenting"),
    "leave-dismissed": marked_as("operation", "leave-dismissed"),
    "drop-audio": marked_as("operation", "drop-audio"),
    "keep-audio": marked_as("operation", "keep-audio"),
    "copy-sound": marked_as("operation", "copy-sound"),
    "re-encode-sound": marked_as("operation", "re-encode-sound"),
    "encode": marked_as("operation", "encode"),
}


@dataclass
class SiteReport:
    stories: int = 0
    pages: int = 0  # HTML pages and the feed, written or not
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)  # items newly put on the site
    carried: list[str] = field(default_factory=list)  # every item the site shows
    unpublished: list[str] = field(default_factory=list)  # items taken off it
    withheld: list[Withheld] = field(default_factory=list)
    seconds: float = 0.0
    index: Path | None = None
    sha256: dict[str, str] = field(default_factory=dict)  # item → derivative published

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": str(self.index) if self.index else None,
            "stories": self.stories,
            "pages": self.pages,
            "written": len(self.written),
            "unchanged": self.unchanged,
            "removed": self.removed,
            "published": self.published,
            "unpublished": self.unpublished,
            "withheld": [
                {"id": w.item_id, "kind": w.kind, "name": w.name, "reasons": w.reasons}
                for w in self.withheld
            ],
            "seconds": round(self.seconds, 2),
        }


def publish_site(ctx: ArchiveContext, out: Path, progress: Progress | None = None) -> SiteReport:
    from temoin.sort.stage import ensure_sorted

    started = time.monotonic()
    ensure_sorted(ctx)
    out = out.absolute()
    with ctx.transaction() as tx:
        session = tx.session
        views = story_views(session, ctx)
        output = Output(out, kept_manifest(ctx.root, out, ctx.sealer), ctx.sealer)
        head = _anchor(session, output)
        try:
            report = _Builder(ctx, output, views, progress, head).build()
            report.removed = output.finish()
        except BaseException:
            output.abandon()
            raise
        report.unpublished = sorted(
            {_item_of(rel) for rel in report.removed if rel.startswith("items/")}
        )
        _record(tx, report, output)
    report.index = out / "index.html"
    report.seconds = time.monotonic() - started
    return report


def publish_feed(ctx: ArchiveContext, out: Path) -> SiteReport:
    """`publish feed`: only ``feed.xml`` (a site already in ``out`` is left as it is)."""
    from temoin.sort.stage import ensure_sorted

    started = time.monotonic()
    ensure_sorted(ctx)
    out = out.absolute()
    with ctx.transaction() as tx:
        session = tx.session
        views = story_views(session, ctx)
        settings = ctx.settings
        title = settings.site_title or settings.name or ctx.root.name
        output = Output(out, kept_manifest(ctx.root, out, ctx.sealer), ctx.sealer)
        head = _anchor(session, output)
        try:
            output.page(feed.NAME, feed.build(views, settings, title, head))
            output.finish(prune=False)
        except BaseException:
            output.abandon()
            raise
        report = SiteReport(stories=len(views), pages=1, withheld=withheld_of(views))
        report.written, report.unchanged = output.written, len(output.unchanged)
        if output.written:
            tx.log(
                Action.PUBLISHED,
                None,
                channel="feed",
                stories=len(views),
                dispatches=sum(len(v.dispatches) for v in views),
                sha256=output.files[feed.NAME]["sha256"],
                folder=folder_key(out),
                manifest_sha256=output.manifest_sha256,
            )
    report.index = out / feed.NAME
    report.seconds = time.monotonic() - started
    return report


def _anchor(session: Session, output: Output) -> str | None:
    """The custody head the site is built at, for its manifest and its front page (see
    ``keep.anchor``): copies on a web host outlive any rewrite of the archive's log."""
    head = anchor.newest(session, state_only=True)
    if head is None:
        return None
    output.custody = {"seq": head.seq, "hash": head.hash}
    return head.text()


def story_views(session: Session, ctx: ArchiveContext) -> list[StoryView]:
    """Every story as the gate lets it out (the session learns the archive folder for the gate)."""
    session.info["archive_root"] = str(ctx.root)
    keeper = Gatekeeper(session)
    zone = ctx.settings.timezone
    return [collect(session, story, keeper, zone) for story in all_stories(session)]


def withheld_of(views: list[StoryView]) -> list[Withheld]:
    seen: dict[str, Withheld] = {}
    for view in views:
        for w in view.withheld:
            seen.setdefault(w.item_id, w)
    return list(seen.values())


# -- the build ------------------------------------------------------------------------------------


@dataclass
class Picture:
    """How a photo, video or voice note appears on pages: files relative to the site's root."""

    kind: str
    src: str  # the signed derivative (photo, voice note) or the poster (video)
    srcset: list[tuple[str, int]]
    width: int
    height: int
    video: str | None = None
    seconds: float = 0.0


class _Builder:
    def __init__(
        self,
        ctx: ArchiveContext,
        output: Output,
        views: list[StoryView],
        progress: Progress | None,
        head: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.head = head
        self.settings = ctx.settings
        self.output = output
        self.views = views
        self.progress = progress
        self.env = environment()
        self.pictures: dict[str, Picture] = {}
        self.report = SiteReport(stories=len(views), withheld=withheld_of(views))
        self.title = self.settings.site_title or self.settings.name or ctx.root.name
        self.lang = self.settings.language

    def build(self) -> SiteReport:
        media_rows = {r.item_id: r for v in self.views for r in v.media}
        total = len(media_rows) + len(self.views) + 3
        done = 0
        for row in media_rows.values():
            assert row.media is not None
            self.pictures[row.item_id] = self._media(row)
            self.report.sha256[row.item_id] = row.media.sha256
            done += 1
            self._tick(done, total)
        if media_rows:
            self.output.page(provenance.PUBLIC, provenance.export_public_key(self.ctx))
        self.output.page("style.css", static("style.css"))
        stories_of: dict[str, list[StoryView]] = {}
        for view in self.views:
            for row in view.media:
                stories_of.setdefault(row.item_id, []).append(view)
        for item_id, row in media_rows.items():
            if self._page(
                f"items/{item_id[:16]}.html", "item.html", 1, **self._item(row, stories_of[item_id])
            ):
                self.report.published.append(item_id)
        for view in self.views:
            if self._page(f"stories/{view.slug}/index.html", "story.html", 2, **self._story(view)):
                self.report.published += sorted(
                    {r.item_id for r in view.rows if r.media is None} - set(self.report.published)
                )
            done += 1
            self._tick(done, total)
        self.report.carried = sorted(
            set(media_rows) | {r.item_id for v in self.views for r in v.rows}
        )
        self._page(
            "index.html",
            "index.html",
            0,
            stories=[self._summary(v) for v in self.views],
            custody=self.head,
        )
        self._page("support.html", "support.html", 0)
        self.output.page("feed.xml", feed.build(self.views, self.settings, self.title, self.head))
        self.report.pages += 1
        self._tick(total, total)
        self.report.written = list(self.output.written)
        self.report.unchanged = len(self.output.unchanged)
        return self.report

    def _tick(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def _page(self, rel: str, template: str, depth: int, **context: Any) -> bool:
        root = "../" * depth
        html = self.env.get_template(template).render(
            root=root, site=self._site(), lang=self.lang, **context
        )
        self.report.pages += 1
        return self.output.page(rel, html.encode("utf-8"))

    def _site(self) -> dict[str, Any]:
        s = self.settings
        return {
            "title": self.title,
            "donation_url": s.donation_url,
            "support_email": s.support_email,
            "support_text": s.support_text,
            "base_url": s.base_url,
        }

    # -- media: copies of derivatives and renditions made from them ------------------------------

    def _media(self, row: Row) -> Picture:
        assert row.media is not None
        m = row.media
        source = self.ctx.readable(m.path, m.sha256)  # a decrypted copy when sealed
        stem = f"media/{m.sha256[:16]}"
        self.output.copy(f"{stem}{m.suffix}", source, m.sha256)
        self._provenance(row.item_id, m)
        if m.mime == "audio/mp4":
            rel = f"{stem}{m.suffix}"
            return Picture(Kind.AUDIO, rel, [], 0, 0, seconds=media.duration(source))
        if m.mime == "video/mp4":
            poster = f"{stem}-poster.jpg"
            self.output.made(poster, f"{m.sha256}:{media.VERSION}", lambda: media.poster(source))
            width, height = media.image_size(self.output.root / poster)
            return Picture(
                Kind.VIDEO,
                poster,
                [(poster, width)],
                width,
                height,
                video=f"{stem}{m.suffix}",
                seconds=media.duration(source),
            )
        width, height = media.image_size(source)
        srcset = []
        for w in media.smaller_widths(width):
            rel = f"{stem}-{w}.jpg"
            self.output.made(rel, f"{m.sha256}:{w}:{media.VERSION}", _resizer(source, w))
            srcset.append((rel, w))
        srcset.append((f"{stem}{m.suffix}", width))
        return Picture(Kind.PHOTO, f"{stem}{m.suffix}", srcset, width, height)

    def _provenance(self, item_id: str, m: Media) -> None:
        """Named after the item: two items may share a derivative's bytes, never a record."""
        stem = f"provenance/{item_id[:16]}"
        both = json.dumps({"record": m.record, "signature": m.signature}, indent=1)
        self.output.page(f"{stem}.json", both.encode("utf-8"))
        self.output.page(f"{stem}.record.json", m.record.encode("utf-8"))
        self.output.page(f"{stem}.sig", bytes.fromhex(m.signature))

    # -- page contexts ---------------------------------------------------------------------------

    def _story(self, view: StoryView) -> dict[str, Any]:
        return {
            "story": view,
            "days": _days(view, self.pictures, self.lang),
            "figures": view.figures,
            "span": _span(view, self.lang),
        }

    def _summary(self, view: StoryView) -> dict[str, Any]:
        kinds = [r.kind for r in view.rows]
        first = next((r for r in view.media if r.kind != Kind.AUDIO), None)
        return {
            "view": view,
            "span": _span(view, self.lang),
            "photos": kinds.count(Kind.PHOTO),
            "videos": kinds.count(Kind.VIDEO),
            "entries": kinds.count("entry") + kinds.count("dispatch"),
            "figures": view.figures[:3],
            "picture": self.pictures.get(first.item_id) if first else None,
            "alt": _alt(first, view, self.lang) if first else "",
        }

    def _item(self, row: Row, views: list[StoryView]) -> dict[str, Any]:
        assert row.media is not None
        view = views[0]
        local = view.local(row.time_utc)
        picture = self.pictures[row.item_id]
        record = json.loads(row.media.record)
        stem = row.media.sha256[:16]
        lang = self.lang
        kind = translate(lang, KIND_LABEL[row.kind])
        return {
            "row": row,
            "picture": picture,
            "title": row.caption or f"{kind}, {long_day(local, lang)} {clock(local)}",
            "alt": _alt(row, view, lang),
            "when": local,
            "when_label": (
                f"{long_day(local, lang)}, {clock(local)}"
                if local
                else translate(lang, "time unknown")
            ),
            "stories": views,
            "record": json.dumps(record, indent=2, ensure_ascii=False),
            "public_key": provenance.export_public_key(self.ctx).decode("ascii"),
            "file": f"media/{stem}{row.media.suffix}",
            "stem": row.item_id[:16],
            "operations": [
                translate_as(lang, "operation", str(op.get("op", "")))
                for op in record.get("operations", [])
            ],
        }


def _resizer(source: Path, width: int) -> Callable[[], bytes]:
    return lambda: media.resized(source, width)


def _days(view: StoryView, pictures: dict[str, Picture], lang: str) -> list[dict[str, Any]]:
    """Rows → days → groups (a moment, named or shown by its hours), for headings a reader skims."""
    days: list[dict[str, Any]] = []
    for row in view.rows:
        local = view.local(row.time_utc)
        day_key = local.date().isoformat() if local else "undated"
        if not days or days[-1]["key"] != day_key:
            label = long_day(local, lang) or translate(lang, "Undated")
            days.append({"key": day_key, "label": label, "groups": []})
        groups = days[-1]["groups"]
        if not groups or groups[-1]["moment"] != row.moment:
            groups.append(
                {"moment": row.moment, "name": view.moments.get(row.moment or -1), "rows": []}
            )
        groups[-1]["rows"].append(
            {
                "row": row,
                "when": local,
                "label": row.marker or clock(local),
                "picture": pictures.get(row.item_id) if row.media else None,
                "alt": _alt(row, view, lang) if row.media else "",
                "page": f"items/{row.item_id[:16]}.html",
            }
        )
    for day in days:
        for group in day["groups"]:
            times = [r["when"] for r in group["rows"] if r["when"]]
            first, last = (clock(times[0]), clock(times[-1])) if times else ("", "")
            span = first if first == last else f"{first}–{last}"
            group["heading"] = group["name"] or span or translate(lang, "Undated")
            group["span"] = span
    return days


def _alt(row: Row, view: StoryView, lang: str) -> str:
    """Alt text from the person's caption; without one, say what and when rather than nothing."""
    if row.caption:
        return row.caption
    local = view.local(row.time_utc)
    if local is None:
        labels: dict[str, str] = {Kind.PHOTO: "Photo", Kind.AUDIO: "Voice note"}
        label = labels.get(row.kind, marked("Video still"))
        return translate(lang, label)
    at = clock(local)
    if row.kind == Kind.AUDIO:
        return translate(lang, "Voice note recorded at %(at)s (not described yet)", at=at)
    if row.kind == Kind.PHOTO:
        return translate(lang, "Photo taken at %(at)s (not described yet)", at=at)
    return translate(lang, "Video still taken at %(at)s (not described yet)", at=at)


def _span(view: StoryView, lang: str) -> str:
    first, last = view.local(view.start), view.local(view.end)
    assert first is not None and last is not None
    if first.date() == last.date():
        return f"{long_day(first, lang)}, {clock(first)}–{clock(last)}"
    return f"{long_day(first, lang)} {clock(first)} – {long_day(last, lang)} {clock(last)}"


def _item_of(rel: str) -> str:
    return Path(rel).stem


# -- custody ---------------------------------------------------------------------------------------


def _record(tx: Transaction, report: SiteReport, output: Output) -> None:
    """Write the custody events of what the folder now shows.

    A run killed after placing the files but before its commit left the folder as this run finds
    it, so this run changes nothing; its manifest, though, is one no event records. Then every
    item the folder carries is recorded now, so a publication is never missing from custody."""
    before = output.old_manifest_sha256
    folder = folder_key(output.root)
    recorded = _recorded_manifests(tx.session)
    accounted = not before or (folder, before) in recorded or ("", before) in recorded
    if accounted and not report.written and not report.removed:
        return  # nothing left the archive this time
    for item_id in report.published if accounted else report.carried:
        detail: dict[str, Any] = {"channel": "site"}
        if item_id in report.sha256:
            detail["sha256"] = report.sha256[item_id]
        tx.log(Action.PUBLISHED, item_id, **detail)
    tx.log(
        Action.PUBLISHED,
        None,
        channel="site",
        folder=folder,
        stories=report.stories,
        written=len(report.written),
        unchanged=report.unchanged,
        removed=len(report.removed),
        unpublished=report.unpublished,
        withheld=len(report.withheld),
        manifest_sha256=output.manifest_sha256,
        **({} if accounted else {"reconciled": "a run that placed these files died unrecorded"}),
    )


def _recorded_manifests(session: Session) -> set[tuple[str, str]]:
    """(folder, manifest) pairs custody records; events older than the folder field match any."""
    rows = session.scalars(
        select(CustodyEvent.detail).where(
            CustodyEvent.action == str(Action.PUBLISHED), CustodyEvent.item.is_(None)
        )
    )
    pairs = set()
    for detail in rows:
        data = json.loads(detail)
        pairs.add((str(data.get("folder") or ""), str(data.get("manifest_sha256"))))
    return pairs
