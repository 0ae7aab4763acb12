"""Time conventions shared by every stage: the catalog stores naive UTC; people read local time."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temoin.errors import UsageError


def check_zone(name: str) -> str:
    """An IANA zone name, or a one-line usage error instead of a traceback later on."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"{name}: not an IANA time zone name (e.g. Europe/Paris)") from exc
    return name


def machine_zone(find: Callable[[], str | None] | None = None) -> str | None:
    """This machine's IANA zone (the ``TZ`` variable, then the system's setting), or None when
    it cannot be known: an archive made on a phone's home computer reads phone times in the zone
    the witnesses live in, not in UTC, unless told otherwise.

    `find` stands in for the system's answer (tzlocal's) where a test needs one it cannot set.
    """
    if find is None:
        import tzlocal

        def find() -> str | None:
            tzlocal.reload_localzone()  # TZ may have changed since a library first asked
            return tzlocal.get_localzone_name()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tzlocal warns when it guesses; we say so ourselves
        try:
            name = find()
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return None  # conflicting or unreadable settings
    if not name:
        return None
    try:
        return check_zone(name)
    except UsageError:
        return None


def to_utc(moment: datetime, timezone: str) -> datetime:
    """A naive time is the device's local time, read in the given IANA zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC).replace(tzinfo=None)


def to_local(moment_utc: datetime, timezone: str) -> datetime:
    return moment_utc.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
