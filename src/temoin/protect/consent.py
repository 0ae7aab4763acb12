"""The consent register: who agreed to what, said when and how, recorded by whom.

Default is no consent: a face nobody linked to a registered person, or a person registered with
anything but "yes", is covered. There is no face recognition and no biometric template here: a
face belongs to a person only because a reviewer said so on one item (`review --link-face`).

Every change writes a ``consent`` custody event in the same transaction. The event carries the
person's id, the consent, its scope and a SHA-256 of the free-text fields, never the name itself:
the custody log can never be edited, while a person who withdraws may ask for their name to go.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import Person
from temoin.context import Transaction
from temoin.errors import UnknownPerson, UsageError
from temoin.events import Action
from temoin.keep.custody import canonical
from temoin.protect.records import PersonRecord

YES, NO, WITHDRAWN = "yes", "no", "withdrawn"
CONSENTS = (YES, NO, WITHDRAWN)
SCOPES = ("face", "voice", "name")


def covers(person: Person | None, what: str) -> bool:
    """Whether ``person``'s current consent lets ``what`` (face, voice, name) be published."""
    return person is not None and person.consent == YES and what in (person.scope or [])


def parse_scope(text: str | None) -> list[str]:
    """``"face,name"`` as a sorted list; unknown words are refused rather than ignored."""
    words = sorted({w.strip().lower() for w in (text or "").split(",") if w.strip()})
    unknown = [w for w in words if w not in SCOPES]
    if unknown:
        raise UsageError(f"--scope {','.join(unknown)}: scope is any of {', '.join(SCOPES)}")
    return words


def find(session: Session, name: str) -> Person:
    person = session.scalar(select(Person).where(Person.name == name.strip()))
    if person is None:
        raise UnknownPerson(f"{name}: no such person in the consent register")
    return person


@dataclass(frozen=True)
class ConsentChange:
    person_id: int
    name: str
    consent: str
    scope: list[str]
    changed: bool


def record(
    tx: Transaction,
    name: str,
    *,
    consent: str,
    scope: list[str] | None = None,
    how: str = "",
    given_at: str | None = None,
    description: str | None = None,
) -> ConsentChange:
    """Add a person or change what they agreed to, logged in the caller's transaction."""
    name = name.strip()
    if not name:
        raise UsageError("a person needs a name or a description")
    if consent not in CONSENTS:
        raise UsageError(f"--consent {consent}: one of {', '.join(CONSENTS)}")
    scope = sorted(set(scope or []))
    if consent == YES and not scope:
        raise UsageError("consent yes needs --scope (any of face, voice, name)")
    if consent != YES:
        scope = []  # "no" covers nothing, whatever was typed
    now = datetime.now(UTC).replace(tzinfo=None)
    session = tx.session
    person = session.scalar(select(Person).where(Person.name == name))
    before = _state(person) if person is not None else None
    if person is None:
        person = Person(name=name, recorded_at=now)
        session.add(person)
    person.consent, person.scope = consent, scope
    person.how = how or (person.how if before else "") or ""
    person.given_at = given_at or now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if description is not None:
        person.description = description
    person.recorded_by, person.recorded_at = tx.actor, now
    session.flush()
    changed = before != _state(person)
    tx.log(
        Action.CONSENT,
        None,
        person=person.id,
        consent=consent,
        scope=scope,
        recorded_by=tx.actor,
        record_sha256=record_hash(person),
        previous=before["consent"] if before else None,
    )
    return ConsentChange(person.id, person.name, consent, scope, changed)


def people(session: Session) -> list[PersonRecord]:
    return [person_record(p) for p in session.scalars(select(Person).order_by(Person.name))]


def person_record(person: Person) -> PersonRecord:
    return {
        "id": person.id,
        "name": person.name,
        "description": person.description,
        "consent": person.consent,
        "scope": list(person.scope or []),
        "when": person.given_at,
        "how": person.how,
        "recorded_by": person.recorded_by,
        "recorded_at": person.recorded_at.isoformat() + "Z",
    }


def _state(person: Person) -> dict[str, Any]:
    return {"consent": person.consent, "scope": list(person.scope or [])}


def record_hash(person: Person) -> str:
    text = canonical(
        {
            "name": person.name,
            "description": person.description,
            "when": person.given_at,
            "how": person.how,
        }
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
