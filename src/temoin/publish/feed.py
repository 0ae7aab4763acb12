"""The Atom feed: one entry per dispatch (the night's letter to supporters) and one per story.

Every date in it comes from the archive (a dispatch's time, the newest approval in a story), never
from the clock, so rebuilding an unchanged site leaves ``feed.xml`` byte for byte the same and
feed readers see an entry as updated only when what it shows changed. Links are absolute when the
``base_url`` setting says where the site lives, and relative to the feed otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from babel.dates import format_time
from feedgen.feed import FeedGenerator

from temoin.i18n import translate, translations
from temoin.kinds import Kind
from temoin.publish.stories import StoryView, slugify

if TYPE_CHECKING:
    from temoin.settings import Settings

NAME = "feed.xml"


def build(
    views: list[StoryView], settings: Settings, title: str, custody: str | None = None
) -> bytes:
    """``custody`` is the custody head the feed was made at (``keep.anchor``)."""
    base = _base(settings.base_url)
    fg = FeedGenerator()
    fg.id(f"{base}{NAME}" if base else f"urn:temoin:{slugify(title)}")
    fg.title(title)
    fg.author(
        {"name": title, **({"email": settings.support_email} if settings.support_email else {})}
    )
    fg.link(href=f"{base}index.html", rel="alternate", type="text/html")
    if base:
        fg.link(href=f"{base}{NAME}", rel="self", type="application/atom+xml")
    lang = settings.language
    fg.language(lang)
    subtitle = translate(lang, "Dispatches and stories from %(title)s", title=title)
    head = translate(lang, " (custody head %(head)s)", head=custody) if custody else ""
    fg.subtitle(f"{subtitle}{head}")
    fg.generator("temoin")
    stamps = [_aware(datetime(2000, 1, 1))]
    for view in views:
        page = f"{base}stories/{view.slug}/index.html"
        for row in view.dispatches:
            when = row.time_utc or view.start
            entry = fg.add_entry(order="append")
            entry.id(f"urn:temoin:dispatch:{row.entry_id}")
            local = view.local(when)
            if row.title:
                entry.title(f"{view.title}: {row.title}")
            else:
                at = (
                    translate(
                        lang, "dispatch of %(at)s", at=format_time(local, "short", locale=lang)
                    )
                    if local
                    else ""
                )
                entry.title(f"{view.title}: {at}" if local else view.title)
            entry.published(_aware(when))
            entry.updated(_aware(max(when, row.decided_at or when)))
            entry.content(row.text, type="text")
            entry.link(href=page, rel="alternate", type="text/html")
            stamps.append(_aware(max(when, row.decided_at or when)))
        entry = fg.add_entry(order="append")
        entry.id(f"urn:temoin:story:{view.slug}")
        entry.title(view.title)
        entry.published(_aware(view.created_at))
        entry.updated(_aware(view.updated))
        entry.summary(_summary(view, lang), type="text")
        entry.link(href=page, rel="alternate", type="text/html")
        stamps.append(_aware(view.updated))
    fg.updated(max(stamps))
    data: bytes = fg.atom_str(pretty=True)
    return data


def _summary(view: StoryView, lang: str) -> str:
    kinds = [r.kind for r in view.rows]
    plural = translations(lang).ungettext
    photos, videos = kinds.count(Kind.PHOTO), kinds.count(Kind.VIDEO)
    entries = kinds.count("entry") + kinds.count("dispatch")
    parts = [
        plural("%(count)s photo", "%(count)s photos", photos) % {"count": photos},
        plural("%(count)s video", "%(count)s videos", videos) % {"count": videos},
        plural("%(count)s diary entry", "%(count)s diary entries", entries) % {"count": entries},
    ]
    figures = "; ".join(f.text for f in view.figures[:3])
    return ", ".join(parts) + (f". {figures}" if figures else "")


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _base(url: str) -> str:
    return url if not url or url.endswith("/") else f"{url}/"
