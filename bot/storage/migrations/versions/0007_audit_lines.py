"""a picture knows its audit line: the audit channel's message about it (posted once per job,
on the job's pictures), so that /forget-me can delete it

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Pictures get an `audit_message_id` (None: no audit line, or one posted before)."""
    with op.batch_alter_table("pictures") as batch_op:
        batch_op.add_column(sa.Column("audit_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Back to audit lines nobody can find again."""
    with op.batch_alter_table("pictures") as batch_op:
        batch_op.drop_column("audit_message_id")
