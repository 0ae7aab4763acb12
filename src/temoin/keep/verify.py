"""verify: prove nothing in the vault or the custody log was altered, or say exactly what was.

Faults are named by kind so a person (or a lawyer) can act on them:
``changed`` (an original's bytes or an event's content no longer match their hash, or a catalog
row says other than the log it is replayed from), ``missing`` (a listed original or catalog row is
gone), ``untracked`` (a file in the vault, or a row, that nothing records), ``chain-broken`` (events
deleted, inserted, reordered or cut off the end of the log). The replay of the log into the state
it records is in ``keep.replay`` and each stage's ``replay`` module.

Blobs an interrupted write left (the vault's journal names them, no row or event does) are not
faults: nothing was altered, and the next ingest collects them. They are reported apart.

verify may run while the web app or a cron ingests. It reads the head file first, then the catalog
in one snapshot (the catalog can only be ahead of a head read earlier), and a file the snapshot
does not know is checked again against the catalog as it is after the walk before it is called
untracked: a writer may have committed it meanwhile.

In an encrypted archive each original is decrypted as it is hashed (nothing of it is written): a
file whose authentication fails was altered, and one that decrypts to another hash was replaced,
or swapped with another under its name. Vault files there are named by a keyed hash, so names
are compared as the vault names them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import Blob, CustodyEvent
from temoin.errors import SealBroken
from temoin.events import Action
from temoin.keep.custody import GENESIS, CustodyLog, Head, event_hash
from temoin.keep.vault import Vault

CHANGED = "changed"
MISSING = "missing"
UNTRACKED = "untracked"
CHAIN_BROKEN = "chain-broken"


@dataclass
class Fault:
    kind: str
    object: str
    detail: str

    def line(self) -> str:
        return f"{self.kind}: {self.object}: {self.detail}"


@dataclass
class VerifyReport:
    blobs: int = 0
    bytes: int = 0
    events: int = 0
    derivatives: int = 0  # signed derivatives checked (counted by the protect stage)
    faults: list[Fault] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)  # blobs the next ingest collects
    in_progress: int = 0  # blobs a writer was placing while verify ran
    # what older events did not record enough to check (said plainly, not counted as faults)
    unchecked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.faults

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "blobs": self.blobs,
            "bytes": self.bytes,
            "events": self.events,
            "derivatives": self.derivatives,
            "faults": [asdict(f) for f in self.faults],
            "interrupted": self.interrupted,
            "in_progress": self.in_progress,
            "unchecked": self.unchecked,
        }


def read_snapshot(session: Session) -> None:
    """Make every later query of ``session`` read one state of the catalog."""
    if session.get_bind().dialect.name == "sqlite":
        # pysqlite opens no transaction for reads; under WAL an explicit one is a snapshot
        session.connection().exec_driver_sql("BEGIN")
    else:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def check_chain(
    session: Session, log: CustodyLog, head: Head | None = None
) -> tuple[int, list[Fault], set[str]]:
    """Walk the log in order; returns the event count, faults, and the blobs it says were ingested.

    ``head`` is custody.head as read before the catalog (read now if not given)."""
    faults: list[Fault] = []
    ingested: set[str] = set()
    expected_seq, prev_hash, count, last_seq = 1, GENESIS, 0, 0
    hashes: dict[int, str] = {}
    for event in session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)):
        count += 1
        name = f"custody event #{event.seq}"
        if event.seq != expected_seq:
            gap = f"#{expected_seq}" + (
                f"–#{event.seq - 1}" if event.seq - 1 > expected_seq else ""
            )
            faults.append(Fault(CHAIN_BROKEN, name, f"event {gap} is gone (deleted from the log)"))
        try:
            recomputed = event_hash(
                event.seq, event.at, event.actor, event.action, event.item, event.detail, event.prev
            )
        except (json.JSONDecodeError, TypeError):
            recomputed = ""
        if recomputed != event.hash:
            faults.append(Fault(CHANGED, name, "its content no longer matches its hash (edited)"))
        elif event.prev != prev_hash:
            faults.append(
                Fault(CHAIN_BROKEN, name, "it does not follow the event before it (reordered)")
            )
        if event.action == Action.INGESTED and event.item:
            ingested.add(event.item)
        hashes[event.seq] = event.hash
        prev_hash, expected_seq, last_seq = event.hash, event.seq + 1, event.seq
    if head is None:
        head = log.read_head()
    if head is None:
        if count:
            faults.append(Fault(MISSING, "custody.head", "the record of the newest event is gone"))
    elif head.seq > last_seq:
        faults.append(
            Fault(
                CHAIN_BROKEN,
                f"custody event #{head.seq}",
                f"the log ends at #{last_seq}: events after it were cut off",
            )
        )
    elif hashes.get(head.seq) != head.hash:
        faults.append(
            Fault(CHAIN_BROKEN, f"custody event #{head.seq}", "it differs from custody.head")
        )
    return count, faults, ingested


def _check_blob(vault: Vault, blob: Blob) -> tuple[Fault | None, int]:
    name = f"original {blob.sha256}"
    try:
        # a plain file's size says it changed before it is read; a sealed one's is its cipher's
        if not vault.sealer.sealed:
            size = vault.stored(blob.sha256).stat().st_size
            if size != blob.size:
                return Fault(CHANGED, name, f"size is {size} bytes, {blob.size} were stored"), size
        digest, size = vault.hash_stored(blob.sha256)
    except FileNotFoundError:
        return Fault(MISSING, name, "the file is gone from the vault"), 0
    except SealBroken as exc:  # its authentication fails: altered on the disk
        return Fault(CHANGED, name, str(exc)), 0
    if digest != blob.sha256:
        swapped = " (replaced, or swapped with another)" if vault.sealer.sealed else ""
        return Fault(CHANGED, name, f"its bytes now hash to {digest[:16]}…{swapped}"), size
    if size != blob.size:
        return Fault(CHANGED, name, f"size is {size} bytes, {blob.size} were stored"), size
    return None, size


def _placing(vault: Vault, report: VerifyReport) -> set[str]:
    """The journal's blobs; an altered journal is a fault (and names nothing)."""
    try:
        return vault.placing()
    except SealBroken:
        report.faults.append(Fault(CHANGED, "vault/placing", "does not decrypt: altered"))
        return set()


def verify(
    session: Session,
    vault: Vault,
    log: CustodyLog,
    *,
    threads: int = 2,
    progress: Callable[[int], None] | None = None,
    head: Head | None = None,
    committed_since: Callable[[Collection[str]], set[str]] | None = None,
    writer_active: Callable[[], bool] | None = None,
) -> VerifyReport:
    """``committed_since`` says which of some blob names the catalog lists now (outside the
    snapshot); ``writer_active`` whether a writer holds the archive's lock now."""
    report = VerifyReport()
    report.events, chain_faults, ingested = check_chain(session, log, head)
    report.faults.extend(chain_faults)
    blobs = list(session.scalars(select(Blob).order_by(Blob.sha256)))
    known = {b.sha256 for b in blobs}
    report.blobs = len(blobs)
    with ThreadPoolExecutor(max_workers=threads) as pool:  # hashlib releases the GIL
        for fault, size in pool.map(lambda b: _check_blob(vault, b), blobs):
            report.bytes += size
            if fault:
                report.faults.append(fault)
            if progress:
                progress(size)
    names = {vault.name(sha) for sha in known}  # the hashes themselves in a plain archive
    unknown = [(n, p) for n, p in vault.walk() if n not in names or not vault.is_well_placed(n, p)]
    if unknown:
        # In this order: a blob seen in the walk belongs to a writer still at work (active now),
        # or to one that has committed it (listed now), or to one that died (interrupted).
        active = writer_active() if writer_active else False
        later = committed_since({n for n, _ in unknown}) if committed_since else set()
        placing = {vault.name(sha): sha for sha in _placing(vault, report)}
        for name, path in unknown:
            if vault.is_well_placed(name, path) and name in later:
                continue  # committed by a writer while verify read the vault
            if vault.is_well_placed(name, path) and name in placing:
                if active:
                    report.in_progress += 1
                else:
                    report.interrupted.append(placing[name])
                continue
            where = path.relative_to(vault.root.parent).as_posix()
            report.faults.append(Fault(UNTRACKED, where, "the catalog lists no such original"))
    for sha in sorted(known - ingested):
        report.faults.append(
            Fault(CHAIN_BROKEN, f"original {sha}", "no custody event records its ingest")
        )
    for sha in sorted(ingested - known):
        report.faults.append(
            Fault(MISSING, f"catalog row {sha}", "the log records its ingest, the catalog lost it")
        )
    return report
