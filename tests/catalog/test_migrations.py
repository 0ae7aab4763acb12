"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from temoin.catalog.database import make_engine, sqlite_url, upgrade
from temoin.catalog.models import Base
from temoin.testing import postgres


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A new, empty catalog on each database temoin runs on."""
    if request.param == "sqlite":
        engine = make_engine(sqlite_url(tmp_path / "catalog.sqlite"))
        yield engine
        engine.dispose()
        return
    url = postgres.create_database()
    engine = make_engine(url)
    yield engine
    engine.dispose()
    postgres.drop_database(url)


def _dialect_search(difference: Any) -> bool:
    """The full-text index is each database's own and lives outside the models on purpose:
    SQLite's FTS5 tables (search_fts*) and PostgreSQL's tsvector column and its GIN index on
    search_docs (migration 0012), which `temoin.sort.search` reads with SQL of its own."""
    said = repr(difference)
    return "search_fts" in said or "tsv" in said


def test_migrations_match_models(empty: Engine) -> None:
    upgrade(empty)
    with empty.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = [d for d in compare_metadata(context, Base.metadata) if not _dialect_search(d)]
    assert diff == []


def test_sqlite_is_durable_and_concurrent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()
