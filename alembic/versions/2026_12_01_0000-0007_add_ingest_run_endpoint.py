"""add ingest_run.endpoint

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 00:00:00

Where a search's records came from: the E-utilities base URL it used (scheme, host and path
only). The report warns when evidence came from anywhere but NCBI (a mirror or a local
stand-in). NULL for file ingests and for runs recorded before this revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("endpoint", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingest_run", schema=None) as batch_op:
        batch_op.drop_column("endpoint")
