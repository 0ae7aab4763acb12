"""Numbers read from requests: headers, form fields and query strings, through one strict parser.

Python is generous with digits: ``"²".isdigit()`` is true and ``int("٣")`` is 3, ``float("nan")``
and ``float("1e400")`` are numbers, and ``int`` skips spaces and underscores. A client's header
taken on those terms either crashes the handler (a 500) or means something the client did not
write. Here a whole number is ASCII digits only, of bounded length, and a decimal is ASCII digits
with at most one point (or comma, as French writes it) and a sign; anything else is `BadNumber`,
which the app answers with 400.
"""

from __future__ import annotations

import re

from temoin.errors import UsageError

_WHOLE = re.compile(r"[0-9]{1,20}")  # 20 digits: every byte count a disk can hold, and no more
_DECIMAL = re.compile(r"[+-]?[0-9]{1,12}(?:[.,][0-9]{1,12})?")


class BadNumber(UsageError):
    """A number in the request is not written with ASCII digits only."""


def whole(raw: str | None, what: str) -> int:
    """A non-negative whole number written with ASCII digits; `what` names it in the error."""
    text = raw if raw is not None else ""
    if not _WHOLE.fullmatch(text):
        raise BadNumber(f"{what}: {_shown(text)} is not a whole number (ASCII digits only)")
    return int(text)


def whole_or_none(raw: str | None, what: str) -> int | None:
    """Like `whole`, for a value that may be absent (None or empty)."""
    return None if raw is None or raw == "" else whole(raw, what)


def decimal(raw: str | None, what: str) -> float:
    """A finite decimal number such as ``-0.25`` or ``0,5``."""
    text = (raw or "").strip()
    if not _DECIMAL.fullmatch(text):
        raise BadNumber(f"{what}: {_shown(text)} is not a number")
    return float(text.replace(",", "."))


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")
