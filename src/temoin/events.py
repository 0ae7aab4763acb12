"""Custody event types: the only actions the custody log may record.

Each later stage adds its actions here, so the log's vocabulary is documented in one place
(and a test fails when one is missing from docs/internals/custody.md).
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    INIT = "init"  # the archive was created
    INGESTED = "ingested"  # an original entered the vault
    DUPLICATE_SEEN = "duplicate-seen"  # an original already in the vault was seen again elsewhere
    REJECTED = "rejected"  # a file was refused at ingest
    ORPHAN_COLLECTED = "orphan-collected"  # a blob left by an interrupted ingest was removed
    CLOCK_SET = "clock-set"
    TAGGED = "tagged"
    CAPTIONED = "captioned"
    CONSENT = "consent"
    REDACTED = "redacted"
    REVIEWED = "reviewed"
    PUBLISHED = "published"
    EXPORTED = "exported"
