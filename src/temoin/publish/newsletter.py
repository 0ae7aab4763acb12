"""The newsletter: a story's latest dispatch, as it reaches supporters' inboxes.

One message per recipient, so nobody sees anyone else's address. Each is multipart/alternative:
plain text first (what every client can show), then HTML with up to three of the story's photos,
linked to the published site when the ``base_url`` setting says where it lives, otherwise carried
inline (multipart/related, by Content-ID). Only what the gate lets out is used: the dispatch's
note must pass it, and the photos are renditions of derivatives it passed.

It is sent over SMTP (STARTTLS and login when asked; a password is never sent in clear) or
written as ``.eml`` files to look at first. The custody log records that it went out, how many
recipients it had and the hash of its text, never their addresses.
"""

from __future__ import annotations

import csv
import hashlib
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from temoin.errors import BadRecipients, NoDispatch, SendFailed, UsageError
from temoin.events import Action
from temoin.i18n import translate
from temoin.keep import anchor
from temoin.kinds import Kind
from temoin.publish import media
from temoin.publish.stories import Gatekeeper, Row, StoryView, collect, find
from temoin.publish.templating import environment, long_day

if TYPE_CHECKING:
    from temoin.context import ArchiveContext

MAX_PHOTOS = 3
INLINE_WIDTH = 640
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


class Secret:
    """A password that never prints: not in a traceback, a log or --json output."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


@dataclass
class Smtp:
    host: str
    port: int = 587
    user: str | None = None
    password: Secret | None = None
    starttls: bool = False
    ssl_context: ssl.SSLContext | None = None  # e.g. one trusting a test CA; default: the system's
    timeout: float = 30.0


@dataclass
class Recipient:
    name: str
    email: str


@dataclass
class NewsletterReport:
    story: str
    dispatch: str
    recipients: int
    sent: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "story": self.story,
            "dispatch": self.dispatch,
            "recipients": self.recipients,
            "sent": len(self.sent),
            "refused": [{"email": e, "reason": r} for e, r in self.refused],
            "files": [str(f) for f in self.files],
        }


def parse_smtp(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--smtp {text}: give host:port, e.g. smtp.example.org:587")
    return host, int(port)


def read_recipients(path: Path) -> list[Recipient]:
    """``name,email`` per line (a header line is allowed); every bad line is named at once."""
    try:
        lines = list(csv.reader(path.read_text("utf-8-sig").splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadRecipients(f"{path.name}: {exc}") from exc
    found: list[Recipient] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        cells = [c.strip() for c in line]
        if not any(cells) or (number == 1 and [c.lower() for c in cells[:2]] == ["name", "email"]):
            continue
        if len(cells) < 2 or not _EMAIL.match(cells[1]):
            problems.append(f"line {number}: expected name,email")
            continue
        found.append(Recipient(cells[0], cells[1]))
    if problems:
        raise BadRecipients(f"{path.name}: {'; '.join(problems)}")
    if not found:
        raise BadRecipients(f"{path.name}: no recipients")
    return found


def newsletter(
    ctx: ArchiveContext,
    slug: str,
    recipients: Path,
    *,
    smtp: Smtp | None = None,
    eml: Path | None = None,
) -> NewsletterReport:
    """Send the story's latest dispatch, or write it as .eml files; recorded in custody."""
    from temoin.sort.stage import ensure_sorted

    if (smtp is None) == (eml is None):
        raise UsageError("give either --smtp host:port or --eml DIR")
    if smtp is not None and smtp.user and not smtp.starttls:
        raise UsageError("--user needs --starttls: the password would cross the network in clear")
    sender = ctx.settings.support_email
    if not sender:
        raise UsageError("set support_email in temoin.toml: it is the newsletter's sender")
    people = read_recipients(recipients)
    ensure_sorted(ctx)
    with ctx.transaction() as tx:
        session = tx.session
        session.info["archive_root"] = str(ctx.root)
        story = find(session, slug)
        view = collect(session, story, Gatekeeper(session), ctx.settings.timezone)
        if not view.dispatches:
            raise NoDispatch(f"{story.slug}: no dispatch that the gate lets out")
        dispatch = view.dispatches[-1]
        head = anchor.newest(session, state_only=True)
        letter = compose(ctx, view, dispatch, head.text() if head else None)
        report = NewsletterReport(story.slug, dispatch.entry_id or "", len(people))
        messages = [(p.email, letter.message(p, sender)) for p in people]
        if eml is not None:
            report.files = _write_eml(eml, messages)
            report.sent = [p.email for p in people]
        else:
            assert smtp is not None
            report.sent, report.refused = _send(smtp, messages)
        tx.log(
            Action.PUBLISHED,
            dispatch.item_id,
            channel="newsletter",
            story=story.slug,
            dispatch=dispatch.entry_id,
            via="eml" if eml is not None else "smtp",
            recipients=len(people),
            sent=len(report.sent),
            refused=len(report.refused),
            text_sha256=hashlib.sha256(letter.text.encode("utf-8")).hexdigest(),
        )
    return report


# -- the letter -----------------------------------------------------------------------------------


@dataclass
class Letter:
    subject: str
    sender_name: str
    text: str
    html: str
    inline: list[tuple[str, bytes]]  # content id (without <>), JPEG

    def message(self, to: Recipient, sender: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = self.subject
        message["From"] = formataddr((self.sender_name, sender))
        message["To"] = formataddr((to.name, to.email))
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        parts = message.get_payload()
        assert isinstance(parts, list)  # the text and the HTML, as alternatives
        html_part = cast(EmailMessage, parts[1])
        for cid, data in self.inline:
            html_part.add_related(data, "image", "jpeg", cid=f"<{cid}>", filename=f"{cid}.jpg")
        return message


def compose(
    ctx: ArchiveContext, view: StoryView, dispatch: Row, custody: str | None = None
) -> Letter:
    """The letter; ``custody`` is the custody head it is sent at (``keep.anchor``)."""
    settings = ctx.settings
    title = settings.site_title or settings.name or ctx.root.name
    base = (
        settings.base_url
        if not settings.base_url or settings.base_url.endswith("/")
        else f"{settings.base_url}/"
    )
    page = f"{base}stories/{view.slug}/index.html" if base else None
    photos: list[dict[str, str]] = []
    inline: list[tuple[str, bytes]] = []
    for row in [r for r in view.media if r.kind == Kind.PHOTO][:MAX_PHOTOS]:
        assert row.media is not None
        source = ctx.readable(row.media.path, row.media.sha256)
        width, _ = media.image_size(source)
        small = INLINE_WIDTH if INLINE_WIDTH in media.smaller_widths(width) else None
        at = f"{view.local(row.time_utc):%H:%M}"
        alt = row.caption or translate(settings.language, "Photo taken at %(at)s", at=at)
        if base:
            name = (
                f"{row.media.sha256[:16]}-{small}.jpg" if small else f"{row.media.sha256[:16]}.jpg"
            )
            photos.append(
                {
                    "src": f"{base}media/{name}",
                    "alt": alt,
                    "href": f"{base}items/{row.item_id[:16]}.html",
                }
            )
        else:
            cid = f"{row.media.sha256[:16]}@temoin"
            inline.append((cid, media.resized(source, small) if small else source.read_bytes()))
            photos.append({"src": f"cid:{cid}", "alt": alt, "href": page or ""})
    context = {
        "title": title,
        "story": view,
        "day": long_day(view.local(view.start), settings.language),
        "lang": settings.language,
        "dispatch": dispatch,
        "figures": view.figures[:5],
        "photos": photos,
        "page": page,
        "support": f"{base}support.html" if base else None,
        "settings": settings,
        "custody": custody,
    }
    env = environment()
    return Letter(
        subject=translate(settings.language, "%(title)s: news from the ground", title=view.title),
        sender_name=title,
        text=env.get_template("newsletter.txt").render(**context),
        html=env.get_template("newsletter.html").render(**context),
        inline=inline,
    )


# -- delivery -------------------------------------------------------------------------------------


def _write_eml(folder: Path, messages: list[tuple[str, EmailMessage]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number, (address, message) in enumerate(messages, start=1):
        safe = re.sub(r"[^A-Za-z0-9.-]+", "-", address.replace("@", "-at-"))
        path = folder / f"{number:04d}-{safe}.eml"
        path.write_bytes(message.as_bytes())
        written.append(path)
    return written


def _send(
    smtp: Smtp, messages: list[tuple[str, EmailMessage]]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Deliver each message; a refused recipient is noted and the rest still go out."""
    where = f"{smtp.host}:{smtp.port}"
    sent: list[str] = []
    refused: list[tuple[str, str]] = []
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as server:
            server.ehlo()
            if smtp.starttls:
                server.starttls(context=smtp.ssl_context or ssl.create_default_context())
                server.ehlo()
            if smtp.user:
                password = smtp.password.reveal() if smtp.password else ""
                server.login(smtp.user, password)
            for address, message in messages:
                try:
                    server.send_message(message)
                except smtplib.SMTPRecipientsRefused as exc:
                    reasons = [_said(r) for r in exc.recipients.values()]
                    refused.append((address, "; ".join(reasons)))
                    continue
                sent.append(address)
    except smtplib.SMTPAuthenticationError as exc:
        raise SendFailed(f"{where}: login refused ({_said(exc.args)})") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise SendFailed(f"{where}: {exc}") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise SendFailed(f"{where}: {exc or type(exc).__name__}") from None
    return sent, refused


def _said(reply: Any) -> str:
    """An SMTP (code, message) as one line."""
    if isinstance(reply, tuple) and len(reply) >= 2:
        text = reply[1].decode("utf-8", "replace") if isinstance(reply[1], bytes) else str(reply[1])
        return f"{reply[0]} {text}"
    return str(reply)
