"""The words pages show for stored values: kinds, review statuses and decisions, roles, consents,
jobs and their states.

The catalog, the custody log, job rows and URLs keep the English keys, which scripts and records
rely on; a page shows each one through the ``label`` filter, in its own language, with the table
naming which word it is (the same English may need two French words). A value missing from its
table is shown as it is, and `tests/test_i18n.py` fails until it is added here and translated.
"""

from __future__ import annotations

from jinja2 import pass_context
from jinja2.runtime import Context

from temoin import i18n
from temoin.i18n import marked_as

LABELS: dict[str, dict[str, str]] = {
    "kind": {
        "photo": marked_as("kind", "photo"),
        "video": marked_as("kind", "video"),
        "audio": marked_as("kind", "audio"),
        "text": marked_as("kind", "text"),
        "chat": marked_as("kind", "chat"),
        "message": marked_as("kind", "message"),
        "entry": marked_as("kind", "entry"),
        "dispatch": marked_as("kind", "dispatch"),
    },
    "status": {
        "pending": marked_as("status", "pending"),
        "withheld": marked_as("status", "withheld"),
        "approved": marked_as("status", "approved"),
    },
    "decision": {
        "approved": marked_as("decision", "approved"),
        "withheld": marked_as("decision", "withheld"),
        "pending": marked_as("decision", "pending"),
        "released": marked_as("decision", "released"),
        "reopened": marked_as("decision", "reopened"),
        "link-face": marked_as("decision", "link-face"),
        "unlink-face": marked_as("decision", "unlink-face"),
        "dismiss-face": marked_as("decision", "dismiss-face"),
        "restore-face": marked_as("decision", "restore-face"),
        "link-track": marked_as("decision", "link-track"),
        "unlink-track": marked_as("decision", "unlink-track"),
        "dismiss-track": marked_as("decision", "dismiss-track"),
        "restore-track": marked_as("decision", "restore-track"),
        "link-voice": marked_as("decision", "link-voice"),
        "unlink-voice": marked_as("decision", "unlink-voice"),
        "voices-checked": marked_as("decision", "voices-checked"),
        "voices-unchecked": marked_as("decision", "voices-unchecked"),
        "add-box": marked_as("decision", "add-box"),
        "remove-box": marked_as("decision", "remove-box"),
        "mute": marked_as("decision", "mute"),
        "unmute": marked_as("decision", "unmute"),
    },
    "role": {
        "witness": marked_as("role", "witness"),
        "editor": marked_as("role", "editor"),
        "admin": marked_as("role", "admin"),
    },
    "consent": {
        "yes": marked_as("consent", "yes"),
        "no": marked_as("consent", "no"),
        "withdrawn": marked_as("consent", "withdrawn"),
    },
    "scope": {
        "face": marked_as("scope", "face"),
        "voice": marked_as("scope", "voice"),
        "name": marked_as("scope", "name"),
    },
    "job": {
        "ingest": marked_as("job", "ingest"),
        "redact": marked_as("job", "redact"),
        "review": marked_as("job", "review"),
        "consent": marked_as("job", "consent"),
        "publish": marked_as("job", "publish"),
    },
    "state": {
        "queued": marked_as("state", "queued"),
        "running": marked_as("state", "running"),
        "done": marked_as("state", "done"),
        "failed": marked_as("state", "failed"),
    },
}


def label(language: str, value: object, context: str) -> str:
    """The word for ``value`` (a key of ``LABELS[context]``) in ``language``."""
    text = "" if value is None else str(value)
    if text not in LABELS[context]:
        return text
    return i18n.translate_as(language, context, text)


@pass_context
def label_filter(context: Context, value: object, table: str) -> str:
    return label(context.get("lang", i18n.DEFAULT), value, table)


@pass_context
def localise_filter(context: Context, text: object) -> str:
    """A reason or refusal written in English where it happened, in the page's language."""
    return i18n.localise(context.get("lang", i18n.DEFAULT), "" if text is None else str(text))
