"""The kinds of item an archive holds, and what each stage does with each — in one table.

A stage asks this table ("is a message on the timeline? is a voice note rendered?") instead of
keeping its own set of strings, so a new kind is one row here and every stage agrees on it.
The values are what the catalog stores in ``items.kind``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"  # a note or diary file, and the entries cut from it
    CHAT = "chat"  # an export: holds its messages, never shown as such
    MESSAGE = "message"  # one message of a chat
    SYSTEM = "system"  # a chat's own line ("X added Y"): names people, so reviewed alike


class GateRule(StrEnum):
    """Which check the gate applies before an item of a kind may leave the archive."""

    FACES = "faces"  # a signed derivative with every face covered or consented, and its sound
    VOICES = "voices"  # a signed derivative whose voices are accounted for
    TEXT = "text"  # a reviewer's approval of the words
    NEVER = "never"  # never published as such


@dataclass(frozen=True)
class Policy:
    on_timeline: bool  # shown as a moment of the day
    rendered: bool  # a redacted derivative is made of it
    faces: bool  # the face detector runs on it
    queued: bool  # waits in the review queue
    chat_line: bool  # one line of a chat export
    gate: GateRule
    sound: bool = False  # may carry voices: withheld until they are accounted for, or muted


POLICY: dict[Kind, Policy] = {
    Kind.PHOTO: Policy(True, True, True, True, False, GateRule.FACES),
    Kind.VIDEO: Policy(True, True, True, True, False, GateRule.FACES, sound=True),
    Kind.AUDIO: Policy(True, True, False, True, False, GateRule.VOICES, sound=True),
    Kind.TEXT: Policy(True, False, False, True, False, GateRule.TEXT),
    Kind.CHAT: Policy(False, False, False, False, False, GateRule.NEVER),
    Kind.MESSAGE: Policy(True, False, False, True, True, GateRule.TEXT),
    Kind.SYSTEM: Policy(True, False, False, True, True, GateRule.TEXT),
}


def policy(kind: str) -> Policy:
    """The policy of a stored kind; an unknown one gets the strictest (never published)."""
    try:
        return POLICY[Kind(kind)]
    except ValueError:
        return Policy(False, False, False, False, False, GateRule.NEVER)


def _where(test: str) -> tuple[Kind, ...]:
    return tuple(kind for kind, rule in POLICY.items() if getattr(rule, test))


# The sets stages filter by, read off the table (tuples: SQLAlchemy's `in_` takes them as they are).
ON_TIMELINE = _where("on_timeline")
RENDERED = _where("rendered")
FACES = _where("faces")
QUEUED = _where("queued")
CHAT_LINES = _where("chat_line")
SOUND = _where("sound")
TEXT_GATED = tuple(kind for kind, rule in POLICY.items() if rule.gate is GateRule.TEXT)
