"""The sort stage: clock offsets, diary entries, figures, tags, captions, near-duplicates, moments
and full-text search; items gain the source and confidence of their best capture time.

Only clock offsets, tags, captions and moment names are state (each written with a custody event);
every other table here is derived and rebuilt by `temoin.sort.timeline.rebuild`.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("time_source", sa.String(60)))
        batch.add_column(sa.Column("capture_confidence", sa.Float()))
    op.create_table(
        "clock_offsets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False, index=True),
        sa.Column("offset_seconds", sa.Float(), nullable=False),
        sa.Column("timezone", sa.String(64)),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id"), nullable=False, index=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("time_utc", sa.DateTime(), index=True),
        sa.Column("local", sa.String(40)),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("marker", sa.String(80), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("is_dispatch", sa.Boolean(), nullable=False),
        sa.Column("approximate", sa.Boolean(), nullable=False),
        sa.Column("moment_id", sa.Integer(), index=True),
    )
    op.create_table(
        "figures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(64), nullable=False, index=True),
        sa.Column("entry_id", sa.String(64)),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("what", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("approximate", sa.Boolean(), nullable=False),
        sa.Column("time_utc", sa.DateTime(), index=True),
    )
    op.create_table(
        "tags",
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("tag", sa.String(100), primary_key=True, index=True),
    )
    op.create_table(
        "captions",
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_table(
        "phashes",
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("frame", sa.Integer(), primary_key=True),
        sa.Column("phash", sa.BigInteger(), nullable=False),
        sa.Column("dhash", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "dupe_groups",
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("group_id", sa.Integer(), nullable=False, index=True),
        sa.Column("is_representative", sa.Boolean(), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
    )
    op.create_table(
        "moments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(200)),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
    )
    op.create_table(
        "item_moments",
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("moment_id", sa.Integer(), nullable=False, index=True),
    )
    op.create_table(
        "moment_names",
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "search_docs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(64), nullable=False, index=True),
        sa.Column("entry_id", sa.String(64)),
        sa.Column("field", sa.String(16), nullable=False),
        sa.Column("time_utc", sa.DateTime(), index=True),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_table(
        "sort_state",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        # External content: the text lives once, in search_docs; the index only holds tokens.
        # Other databases search search_docs with LIKE (temoin.sort.search).
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_docs', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_fts")
    for table in (
        "sort_state",
        "search_docs",
        "moment_names",
        "item_moments",
        "moments",
        "dupe_groups",
        "phashes",
        "captions",
        "tags",
        "figures",
        "entries",
        "clock_offsets",
    ):
        op.drop_table(table)
    with op.batch_alter_table("items") as batch:
        batch.drop_column("capture_confidence")
        batch.drop_column("time_source")
