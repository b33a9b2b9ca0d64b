"""picture sets: several pictures of one request share a message, each with its number

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 14:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite names no unique constraint: batch mode finds the one on message_id by this name.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _message_unique() -> str:
    """The name the unique constraint on pictures.message_id has on this backend."""
    if op.get_bind().dialect.name == "postgresql":
        return "pictures_message_id_key"
    return "uq_pictures_message_id"


def upgrade() -> None:
    """Pictures get their number and job; message_id is no longer unique; a reservation
    counts as many pictures as its set has."""
    with op.batch_alter_table("pictures", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(_message_unique(), type_="unique")
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("job_id", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_pictures_message", ["message_id"], unique=False)
        batch_op.create_index("ix_pictures_job", ["job_id"], unique=False)
    with op.batch_alter_table("ledger") as batch_op:
        batch_op.add_column(sa.Column("pictures", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    """Back to one picture per message (sets lose all but their first picture's link)."""
    with op.batch_alter_table("ledger") as batch_op:
        batch_op.drop_column("pictures")
    op.execute("UPDATE pictures SET message_id = NULL WHERE number > 1")
    with op.batch_alter_table("pictures", naming_convention=NAMING) as batch_op:
        batch_op.drop_index("ix_pictures_job")
        batch_op.drop_index("ix_pictures_message")
        batch_op.drop_column("job_id")
        batch_op.drop_column("number")
        batch_op.create_unique_constraint(_message_unique(), ["message_id"])
