"""Undated notes: where each entry's day came from, and days set by hand.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("day_from", sa.String(40)))
    op.create_table(
        "note_days",
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    # Entries built before this revision say nothing of their day: build them again on next read.
    op.execute("DELETE FROM sort_state WHERE key = 'built'")


def downgrade() -> None:
    op.drop_table("note_days")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("day_from")
