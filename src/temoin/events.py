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
    CONSENT = "consent"  # a person's consent was recorded, changed or withdrawn
    REDACTED = "redacted"  # a signed derivative was made (or replaced) for an item
    REVIEWED = "reviewed"  # a reviewer linked a face, added a box, approved, withheld or reopened
    KEY_CREATED = "key-created"  # the archive's Ed25519 signing key was made
    STORY_CREATED = "story-created"  # a story (title and window of time) was defined
    PUBLISHED = "published"
    EXPORTED = "exported"
    ACCOUNT = "account"  # a web account was added, or its role, password or access changed
    ORIGINAL_SERVED = "original-served"  # an editor downloaded an original through the web app
    ENTRY_CHANGED = "entry-changed"  # an entry was replaced by a new version, or deleted
    DAY_SET = "day-set"  # a note's day was set by hand, or given back to the evidence ("auto")
