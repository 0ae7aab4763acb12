"""Links that come from settings and are written into pages, newsletters and the web app.

A setting such as ``donation_url`` becomes an ``href`` on the published site, in every newsletter
and behind the web app's ``/site/``: a ``javascript:`` or ``data:`` value there would run in every
reader's browser, and ``http:`` would send supporters' donations over plain text. So each link
setting names the schemes it may use, and anything else is refused when the archive opens.
"""

from __future__ import annotations

import ipaddress
import re
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from urllib.parse import urlsplit

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")
_UNSAFE = re.compile(r"[\x00-\x20\x7f\"'<>\\`]")


def link_refusal(value: str, schemes: tuple[str, ...]) -> str | None:
    """Why `value` may not be a link with one of `schemes` (``https``, ``mailto``); None if it may."""
    allowed = " or ".join(f"{s}:" for s in schemes)
    if _UNSAFE.search(value):
        return f"{_shown(value)} holds spaces, quotes or control characters"
    try:
        parts = urlsplit(value)
    except ValueError:  # a bracketed host that is not an IPv6 address
        return f"{_shown(value)} is not a link"
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        return f"{_shown(value)} is not an {allowed} link"
    if scheme == "https":
        try:
            host = parts.hostname or ""
        except ValueError:
            host = ""
        if "@" in parts.netloc or not _is_host(host):
            return f"{_shown(value)} does not name a web server (https://host/…)"
        return None
    return address_refusal(parts.path, value)


def address_refusal(address: str, shown: str | None = None) -> str | None:
    """Why `address` is not a plain e-mail address (it is written into a ``mailto:`` link)."""
    text = shown if shown is not None else address
    if _UNSAFE.search(address) or "?" in address or "," in address:
        return f"{_shown(text)} is not a plain e-mail address"
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, HeaderParseError, MessageDefect):
        return f"{_shown(text)} is not a plain e-mail address"
    if not parsed.username or not _is_host(parsed.domain):
        return f"{_shown(text)} is not a plain e-mail address"
    return None


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return bool(_HOST.fullmatch(host.rstrip(".")))
    return True


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:60] + "…")
