"""Databases on a real PostgreSQL server for tests and benches: one fresh database each.

Every archive owns its catalog, so two archives may never share a database: a test gets a database
of its own, made on the server named by ``TEMOIN_TEST_POSTGRES_URL`` (an administrator's URL, e.g.
the one ``.ci/postgres start`` prints), and dropped afterwards.

Running the migrations for every test would cost more than most tests do, so a migrated empty
catalog is made once per process and each new database is a copy of it (PostgreSQL's ``CREATE
DATABASE ... TEMPLATE``, a file copy on the server). The same copy gives a test its own copy of an
archive made once for many tests (see ``clone_database``).
"""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

ENV = "TEMOIN_TEST_POSTGRES_URL"
SWITCH = "TEMOIN_TEST_CATALOG"  # "postgresql": every test's archive keeps its catalog there

_migrated: str | None = None  # this process's migrated empty catalog, the template of the others
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
    global _migrated
    if _migrated is None:
        from temoin.catalog.database import make_engine, upgrade

        url = create_database("temoin_template")
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        _migrated = url
    return clone_database(_migrated)


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
    global _migrated
    for url in [*_kept.values(), *([_migrated] if _migrated else [])]:
        drop_database(url)
    _kept.clear()
    _migrated = None


def drop_database(url: str) -> None:
    """Drop a database made by `create_database`, closing what still holds it."""
    name = make_url(url).database
    _execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
