"""The first catalog: blobs, items, sightings, rejects, runs and the custody log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mime", sa.String(100), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False, index=True),
        sa.Column("blob_sha256", sa.String(64), sa.ForeignKey("blobs.sha256"), index=True),
        sa.Column("parent_id", sa.String(64), sa.ForeignKey("items.id"), index=True),
        sa.Column("seq", sa.Integer()),
        sa.Column("attachment_id", sa.String(64), sa.ForeignKey("items.id")),
        sa.Column("name", sa.String(1000), nullable=False),
        sa.Column("source", sa.String(200), nullable=False, index=True),
        sa.Column("mime", sa.String(100), nullable=False),
        sa.Column("author", sa.String(200)),
        sa.Column("text", sa.Text()),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("captured_raw", sa.String(40)),
        sa.Column("capture_source", sa.String(60)),
        sa.Column("time_utc", sa.DateTime(), index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_items_parent_seq", "items", ["parent_id", "seq"])
    op.create_table(
        "sightings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "blob_sha256", sa.String(64), sa.ForeignKey("blobs.sha256"), nullable=False, index=True
        ),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("mtime", sa.DateTime()),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "rejects",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=False, index=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "custody",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False, index=True),
        sa.Column("item", sa.String(64), index=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("custody", "rejects", "sightings", "items", "runs", "blobs"):
        op.drop_table(table)
