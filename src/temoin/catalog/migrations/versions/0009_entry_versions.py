"""Entries written in the web app: a letter's title, and entries edited or deleted; one-time
password reset links.

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
    op.create_table(
        "password_resets",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False, unique=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("password_resets")
    op.drop_index("ix_entry_changes_replaced_by", "entry_changes")
    op.drop_table("entry_changes")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("title")
