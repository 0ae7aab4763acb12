"""Alembic environment: run against the engine the archive opened, never a URL from an ini file."""

from __future__ import annotations

from alembic import context

from temoin.catalog.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
