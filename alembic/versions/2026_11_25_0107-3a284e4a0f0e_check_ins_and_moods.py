"""check-ins and moods

Revision ID: 3a284e4a0f0e
Revises: 8ccaeb8dc2de
Create Date: 2026-11-25 01:07:02.103484
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes

from alembic import op

revision: str = "3a284e4a0f0e"
down_revision: str | None = "8ccaeb8dc2de"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_in",
        sa.Column("resident_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("frequency", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("time_of_day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("anchor", sa.Date(), nullable=False),
        sa.Column("next_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unanswered", sa.Integer(), nullable=False),
        sa.Column("slowed", sa.Boolean(), nullable=False),
        sa.Column("last_nudge", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("nudge_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_check_in")),
    )
    with op.batch_alter_table("check_in", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_check_in_next_due"), ["next_due"], unique=False)

    op.create_table(
        "mood",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mood")),
    )
    with op.batch_alter_table("mood", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mood_resident_id"), ["resident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mood", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mood_resident_id"))

    op.drop_table("mood")
    with op.batch_alter_table("check_in", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_in_next_due"))

    op.drop_table("check_in")
