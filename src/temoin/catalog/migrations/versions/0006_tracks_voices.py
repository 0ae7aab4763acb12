"""Face tracks and voices: links to a video's face tracks, voice links, voices checked, and
detections a reviewer dismissed as not being faces.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("face_links") as batch:
        batch.add_column(sa.Column("track", sa.Integer()))
        batch.add_column(sa.Column("analysis", sa.String(64)))
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(
            sa.Column("voices_checked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "voice_links",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id"), nullable=False, index=True),
        sa.Column(
            "person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False, index=True
        ),
        sa.Column("linked_by", sa.String(200), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
    )

    op.create_table(
        "dismissals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id"), nullable=False, index=True),
        sa.Column("box", sa.JSON(), nullable=False),
        sa.Column("track", sa.Integer()),
        sa.Column("analysis", sa.String(64)),
        sa.Column("dismissed_by", sa.String(200), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dismissals")
    op.drop_table("voice_links")
    with op.batch_alter_table("reviews") as batch:
        batch.drop_column("voices_checked")
    with op.batch_alter_table("face_links") as batch:
        batch.drop_column("analysis")
        batch.drop_column("track")
