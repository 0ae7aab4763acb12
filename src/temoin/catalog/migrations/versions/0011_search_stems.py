"""Search by word stems: each search document gains the Snowball stems of its words, and on
SQLite the full-text index covers them beside the text as written.

The stems of the documents already there are computed here, so an archive made before finds
"buses" for "bus" as soon as it is opened, even when another process holds the write lock and
the sort tables cannot be rebuilt yet.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from temoin.catalog.stems import shadows

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_BATCH = 5000
_TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TABLE IF EXISTS search_fts")
    with op.batch_alter_table("search_docs") as batch:
        batch.add_column(sa.Column("stems", sa.Text(), nullable=False, server_default=""))
    _fill_stems()
    if sqlite:
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(body, stems, content='search_docs', "
            f"content_rowid='id', {_TOKENIZE})"
        )
        op.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TABLE IF EXISTS search_fts")
    with op.batch_alter_table("search_docs") as batch:
        batch.drop_column("stems")
    if sqlite:
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_docs', "
            f"content_rowid='id', {_TOKENIZE})"
        )
        op.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")


def _fill_stems() -> None:
    bind = op.get_bind()
    docs = sa.table(
        "search_docs", sa.column("id", sa.Integer()), sa.column("body"), sa.column("stems")
    )
    rows = bind.execute(sa.select(docs.c.id, docs.c.body).order_by(docs.c.id)).all()
    update = docs.update().where(docs.c.id == sa.bindparam("row_id"))
    update = update.values(stems=sa.bindparam("new_stems"))
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        stems = shadows([body for _, body in batch])
        bind.execute(
            update,
            [{"row_id": i, "new_stems": s} for (i, _), s in zip(batch, stems, strict=True)],
        )
