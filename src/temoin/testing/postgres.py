"""Databases on a real PostgreSQL server for tests and benches: one fresh database each.

Every archive owns its catalog, so two archives may never share a database: a test gets a database
of its own, made on the server named by ``TEMOIN_TEST_POSTGRES_URL`` (an administrator's URL, e.g.
the one ``.ci/postgres start`` prints), and dropped afterwards.

Running the migrations for every test would cost more than most tests do, so a migrated empty
catalog is made once per process and each new database is a copy of it (PostgreSQL's ``CREATE
DATABASE ... TEMPLATE``, a file copy on the server). The same copy gives a test its own copy of an
archive made once for many tests (see ``clone_database``). The copies are made a few tests ahead
by a thread of their own, so the server copies while a test runs instead of before it. A copy
costs the server more than a test does (every database holds its own system catalogs, and
dropping one writes a checkpoint), so a finished test's database is emptied and used again
(``recycle``), unless the test changed its schema: then it is dropped.
"""

from __future__ import annotations

import os
import queue
import threading
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

ENV = "TEMOIN_TEST_POSTGRES_URL"
SWITCH = "TEMOIN_TEST_CATALOG"  # "postgresql": every test's archive keeps its catalog there

_migrated: str | None = None  # this process's migrated empty catalog, the template of the others
_AHEAD = 2  # copies of it made in advance
_ready: queue.Queue[str] = queue.Queue(maxsize=_AHEAD)
_doomed: queue.Queue[str] = queue.Queue()
_stop = threading.Event()
_maker: threading.Thread | None = None
_emptied: queue.Queue[str] = queue.Queue()  # databases given back by `recycle`, empty again
_shape: str | None = None  # the template's schema, as `_schema_of` says it

# The schema of a catalog: its tables' columns, its indexes and its functions, as one digest.
_SCHEMA = text(
    "SELECT md5(coalesce((SELECT string_agg(table_name || '.' || column_name || ':' || data_type"
    " || ':' || coalesce(column_default, ''), ',' ORDER BY table_name, column_name)"
    " FROM information_schema.columns WHERE table_schema = 'public'), '')"
    " || coalesce((SELECT string_agg(indexdef, ',' ORDER BY indexname) FROM pg_indexes"
    " WHERE schemaname = 'public'), '')"
    " || coalesce((SELECT string_agg(p.proname || md5(p.prosrc), ',' ORDER BY p.proname)"
    " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
    " WHERE n.nspname = 'public'), '')"
    " || coalesce((SELECT string_agg(version_num, ',') FROM alembic_version), ''))"
)
copies: list[str] = []  # copies of kept databases the running test holds, recycled after it
_kept: dict[str, str] = {}  # archive folder -> the database of an archive made once for many tests


def admin_url() -> str | None:
    """The test server's administrator URL, or None where no server was given."""
    return os.environ.get(ENV) or None


def on_postgres() -> bool:
    """Whether this test run keeps every archive's catalog on PostgreSQL (the second pass)."""
    return os.environ.get(SWITCH, "sqlite") == "postgresql"


def _admin() -> URL:
    given = admin_url()
    if given is None:
        raise RuntimeError(f"{ENV} is not set: no PostgreSQL server to make a database on")
    return make_url(given).set(drivername="postgresql+psycopg")


def _execute(statement: str) -> None:
    engine = create_engine(_admin(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def create_database(prefix: str = "temoin_test", *, template: str | None = None) -> str:
    """A new database, empty or a copy of the database at URL `template`; returns its URL."""
    admin = _admin()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    source = f' TEMPLATE "{make_url(template).database}"' if template else ""
    _execute(f'CREATE DATABASE "{name}"{source}')
    return admin.set(database=name).render_as_string(hide_password=False)


def clone_database(url: str) -> str:
    """A copy of the database at `url` (nothing may be connected to it while it is copied)."""
    return create_database(template=url)


def migrated_database() -> str:
    """A new database holding an empty catalog at the newest migration."""
    global _migrated, _maker
    if _migrated is None:
        from temoin.catalog.database import make_engine, upgrade

        url = create_database("temoin_template")
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        _migrated = url
        _schema_of(url)
        _stop.clear()
        _maker = threading.Thread(target=_make_ahead, args=(url,), daemon=True)
        _maker.start()
    try:
        return _emptied.get_nowait()
    except queue.Empty:
        pass
    while True:
        try:
            return _ready.get(timeout=1)
        except queue.Empty:
            if _maker is None or not _maker.is_alive():  # it failed: say why, here
                return clone_database(_migrated)


def _make_ahead(template: str) -> None:
    """Keep `_AHEAD` copies of the template ready, and drop what tests have finished with
    (dropping a database makes the server write a checkpoint: not a test's time to spend)."""
    while not _stop.is_set():
        try:
            drop_database(_doomed.get_nowait())
            continue
        except queue.Empty:
            pass
        if _ready.full():
            _stop.wait(0.05)
            continue
        _ready.put_nowait(clone_database(template))


def _schema_of(url: str) -> str:
    global _shape
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            said = str(connection.execute(_SCHEMA).scalar())
    finally:
        engine.dispose()
    if _shape is None:
        _shape = said
    return said


def recycle(url: str) -> None:
    """Give back a finished test's database: emptied for the next test (its rows deleted, its
    counters restarted, whoever is still connected sent away), or dropped when the test changed
    its schema (a downgrade, another archive's copy made before a migration)."""
    name = make_url(url).database
    engine = create_engine(
        make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            try:
                same = _shape is not None and connection.execute(_SCHEMA).scalar() == _shape
            except DBAPIError:  # no alembic_version any more, say
                same = False
            if same:
                tables = connection.execute(
                    text(
                        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
                        " AND tablename <> 'alembic_version'"
                    )
                ).scalars()
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    if same:
        _emptied.put(url)
    else:
        drop_later(url)


def drop_later(url: str) -> None:
    """Drop a database of this process's in the background (at once if there is no maker)."""
    if _maker is not None and _maker.is_alive():
        _doomed.put(url)
    else:
        drop_database(url)


def keep_database(root: object) -> str:
    """A new migrated database for the archive at `root`, kept until `drop_templates`."""
    url = migrated_database()
    _kept[str(root)] = url
    return url


def kept_database(root: object) -> str:
    """The database `keep_database` made for the archive at `root`."""
    return _kept[str(root)]


def drop_templates() -> None:
    """Drop this process's templates and kept databases (at the end of a test run)."""
    global _migrated, _maker
    _stop.set()
    if _maker is not None:
        _maker.join()
        _maker = None
    for waiting in (_ready, _doomed, _emptied):
        while not waiting.empty():
            drop_database(waiting.get())
    for url in [*_kept.values(), *([_migrated] if _migrated else [])]:
        drop_database(url)
    _kept.clear()
    _migrated = None


def drop_database(url: str) -> None:
    """Drop a database made by `create_database`, closing what still holds it."""
    name = make_url(url).database
    _execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
