"""What the publish stage's verbs return that is not a report object: `TypedDict`s, dicts at run
time (``--json``, templates) whose keys mypy checks."""

from __future__ import annotations

from typing import TypedDict

# `from` is a keyword, so the functional form.
StoryRecord = TypedDict(
    "StoryRecord",
    {"slug": str, "title": str, "from": str, "to": str, "created_by": str},
)
