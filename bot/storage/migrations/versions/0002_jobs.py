"""jobs: a request is a durable record (state, delivery, reservation)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the jobs table."""
    op.create_table(
        "jobs",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("parent_id", AUTO_ID, nullable=True),
        sa.Column("batch", sa.String(length=32), nullable=True),
        sa.Column("take", sa.Integer(), nullable=True),
        sa.Column("running_cap", sa.Integer(), nullable=True),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("reply_to_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("upload_limit", sa.BigInteger(), nullable=False),
        sa.Column("reservation_id", AUTO_ID, nullable=False),
        sa.Column("cooldown_previous", sa.DateTime(timezone=True), nullable=True),
        sa.Column("picture_id", AUTO_ID, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["pictures.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["picture_id"], ["pictures.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["reservation_id"], ["ledger.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_jobs_state", "jobs", ["state"])
    op.create_index("ix_jobs_person", "jobs", ["guild_id", "user_id", "state"])
    op.create_index("ix_jobs_batch", "jobs", ["batch"])


def downgrade() -> None:
    """Drop the jobs table."""
    op.drop_index("ix_jobs_batch", table_name="jobs")
    op.drop_index("ix_jobs_person", table_name="jobs")
    op.drop_index("ix_jobs_state", table_name="jobs")
    op.drop_table("jobs")
