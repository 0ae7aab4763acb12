"""Time conventions shared by every stage: the catalog stores naive UTC; people read local time."""

from __future__ import annotations

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


def to_utc(moment: datetime, timezone: str) -> datetime:
    """A naive time is the device's local time, read in the given IANA zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC).replace(tzinfo=None)


def to_local(moment_utc: datetime, timezone: str) -> datetime:
    return moment_utc.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
