"""Databases on a real PostgreSQL server for tests and benches: one fresh database each.

Every archive owns its catalog, so two archives may never share a database: a test gets a database
of its own, made on the server named by ``TEMOIN_TEST_POSTGRES_URL`` (an administrator's URL, e.g.
the one ``.ci/postgres start`` prints), and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

ENV = "TEMOIN_TEST_POSTGRES_URL"


def admin_url() -> str | None:
    """The test server's administrator URL, or None where no server was given."""
    return os.environ.get(ENV) or None


def _admin() -> URL:
    given = admin_url()
    if given is None:
        raise RuntimeError(f"{ENV} is not set: no PostgreSQL server to make a database on")
    return make_url(given).set(drivername="postgresql+psycopg")


def create_database(prefix: str = "temoin_test") -> str:
    """A new empty database; returns its URL (psycopg driver), password hidden nowhere."""
    admin = _admin()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database made by `create_database`, closing what still holds it."""
    name = make_url(url).database
    engine = create_engine(_admin(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()
