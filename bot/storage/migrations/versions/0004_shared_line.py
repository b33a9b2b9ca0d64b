"""shared line: a job's holder, its lease and its turn, for painting workers in several
processes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 14:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Jobs get a holder, a lease and a turn flag."""
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("holder", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("has_turn", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Back to jobs run by one process."""
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("has_turn")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("holder")
