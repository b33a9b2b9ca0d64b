"""one engine: a job that lost its turn to a provider pause waits for it again, seen by
every process

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 18:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Jobs get a `resumed` flag (running, waiting for its turn again: it goes first), and
    the last start of a server and of a person is found by an index."""
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(
            sa.Column("resumed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_jobs_server_started", "jobs", ["guild_id", "started_at"])
    op.create_index("ix_jobs_person_started", "jobs", ["guild_id", "user_id", "started_at"])


def downgrade() -> None:
    """Back to resumed jobs known only to their own process."""
    op.drop_index("ix_jobs_person_started", table_name="jobs")
    op.drop_index("ix_jobs_server_started", table_name="jobs")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("resumed")
