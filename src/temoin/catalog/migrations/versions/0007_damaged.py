"""Damaged originals: why a photo kept as evidence cannot be shown whole, and a reviewer's
acknowledgement of it before approving.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("damaged", sa.String(500)))
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(
            sa.Column(
                "damage_acknowledged", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.drop_column("damage_acknowledged")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("damaged")
