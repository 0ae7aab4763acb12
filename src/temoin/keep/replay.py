"""Replay: the state the gate and the timeline read, rebuilt from the custody log and compared.

A chain of hashes proves the log was not edited; it says nothing about the catalog rows beside it.
Someone with the SQLite file can turn a "no" into a "yes" and the chain stays intact. So every
change of state the log records is replayed here, in order, into what the catalog should hold,
and each difference becomes one fault: ``changed`` (the catalog says one thing, the log another),
``missing`` (the log records it, the catalog lost it) or ``untracked`` (no event records it).

Each stage replays its own events (``collect.replay``, ``sort.replay``, ``protect.replay``): the
stage that writes an event knows what it means. This module holds what they share: the log read
once, and the report's two lists. Older events may lack a detail that later versions record;
what cannot be checked for them is said in ``unchecked``, never silently passed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import CustodyEvent, User
from temoin.events import Action
from temoin.keep.verify import CHANGED, MISSING, UNTRACKED, Fault


@dataclass(frozen=True)
class Entry:
    """One custody event as replay reads it: its detail already parsed."""

    seq: int
    action: str
    item: str | None
    detail: dict[str, Any]


@dataclass
class Replayed:
    faults: list[Fault] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    def extend(self, other: Replayed) -> None:
        self.faults += other.faults
        self.unchecked += other.unchecked


def read_log(session: Session, actions: Iterable[str] | None = None) -> list[Entry]:
    """The log in order, read with plain rows (an ORM object per event costs several times more)."""
    query = select(CustodyEvent.seq, CustodyEvent.action, CustodyEvent.item, CustodyEvent.detail)
    if actions is not None:
        query = query.where(CustodyEvent.action.in_([str(a) for a in actions]))
    entries = []
    for seq, action, item, detail in session.execute(query.order_by(CustodyEvent.seq)):
        try:
            parsed = json.loads(detail)
        except (TypeError, ValueError):
            parsed = None  # an edited event: the chain check names it
        entries.append(Entry(seq, action, item, parsed if isinstance(parsed, dict) else {}))
    return entries


def differs(what: str, catalog: object, log: object) -> Fault:
    return Fault(CHANGED, what, f"the catalog says {_say(catalog)}, the log says {_say(log)}")


def lost(what: str, recorded: str = "records it") -> Fault:
    return Fault(MISSING, what, f"the log {recorded}, the catalog lost it")


def unlogged(what: str, action: str) -> Fault:
    return Fault(UNTRACKED, what, f"no custody event records {action}")


K = TypeVar("K", bound=Hashable)


def compare_counts(
    expected: Counter[K],
    actual: Counter[K],
    name: Callable[[K], str],
    action: str,
) -> list[Fault]:
    """Faults for rows the log expects and the catalog lacks, and the other way round."""
    faults = [lost(name(key)) for key in sorted(expected - actual, key=repr)]
    faults += [unlogged(name(key), action) for key in sorted(actual - expected, key=repr)]
    return faults


V = TypeVar("V")


def compare_values(
    expected: dict[K, V],
    actual: dict[K, V],
    name: Callable[[K], str],
    show: Callable[[V], object] = repr,
) -> list[Fault]:
    """Faults for one value per key (a caption, an entry's change): lost, unlogged or different."""
    faults: list[Fault] = []
    for key in sorted(expected.keys() | actual.keys(), key=repr):
        what = name(key)
        if key not in actual:
            faults.append(lost(what))
        elif key not in expected:
            faults.append(unlogged(what, "it"))
        elif actual[key] != expected[key]:
            faults.append(differs(what, show(actual[key]), show(expected[key])))
    return faults


def _say(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "nothing"
    return str(value)


# -- accounts: who may act is the log's own business -------------------------------------------


def replay_accounts(session: Session, log: list[Entry]) -> Replayed:
    """Roles and access of web accounts, from ``account`` events: a witness quietly made an
    admin in the database would otherwise act with an admin's rights under their own name."""
    result = Replayed()
    expected: dict[str, tuple[str, bool]] = {}
    for entry in log:
        if entry.action != Action.ACCOUNT:
            continue
        name, role, change = (entry.detail.get(k) for k in ("name", "role", "change"))
        if not isinstance(name, str):
            continue
        _, disabled = expected.get(name, ("", False))
        if change == "disabled":
            disabled = True
        elif change == "enabled":
            disabled = False
        expected[name] = (str(role), disabled)
    actual = {
        name: (role, bool(disabled))
        for name, role, disabled in session.execute(select(User.name, User.role, User.disabled))
    }
    for name in sorted(expected.keys() | actual.keys()):
        what = f"account {name!r}"
        if name not in actual:
            result.faults.append(lost(what, "records it"))
        elif name not in expected:
            result.faults.append(unlogged(what, "its creation"))
        else:
            (role, disabled), (was_role, was_disabled) = actual[name], expected[name]
            if role != was_role:
                result.faults.append(differs(f"role of {what}", role, was_role))
            if disabled != was_disabled:
                result.faults.append(
                    differs(
                        f"access of {what}",
                        "disabled" if disabled else "enabled",
                        "disabled" if was_disabled else "enabled",
                    )
                )
    return result
