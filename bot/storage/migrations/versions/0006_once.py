"""once is once: a job made by a press that may come twice (a preview's Paint) carries a key,
and the database makes at most one job per key

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 20:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Jobs get a `once_key`, unique where set."""
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("once_key", sa.String(length=64), nullable=True))
    op.create_index("ix_jobs_once", "jobs", ["once_key"], unique=True)


def downgrade() -> None:
    """Back to presses that may make a job twice."""
    op.drop_index("ix_jobs_once", table_name="jobs")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("once_key")
