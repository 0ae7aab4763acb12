"""Entries written in the web app: a letter's title, and entries edited or deleted.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("title", sa.String(200)))
    op.create_table(
        "entry_changes",
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("replaced_by", sa.String(64)),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_entry_changes_replaced_by", "entry_changes", ["replaced_by"])


def downgrade() -> None:
    op.drop_index("ix_entry_changes_replaced_by", "entry_changes")
    op.drop_table("entry_changes")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("title")
