"""The catalog: what the archive knows about its originals, in SQL.

It knows no media formats; stages describe items to it. SQLite (WAL) by default, any SQLAlchemy
database (PostgreSQL) by URL; the schema is owned by Alembic migrations.
"""
