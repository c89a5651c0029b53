"""add claim searches with roles and intents

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 02:00:00

A claim can hold several saved PubMed searches, each with a role (direct, counter, mechanism,
background) and an intent (one line: what the search is for). Until now a claim had one query
(`claim.query`); it becomes the claim's first `direct` search here, and `claim.query` stays as
that first direct search, so older readers keep working. `claim_hit.search_roles` says which
roles' searches returned a hit (NULL for hits recorded before this revision).

Downgrade drops the searches beyond `claim.query` (counter, mechanism, background searches and
every intent): the schema before this revision has nowhere to keep them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders AutoString)

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "claim_search",
        sa.Column("claim_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("intent", sa.Text(), nullable=True),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "role IN ('direct', 'counter', 'mechanism', 'background')",
            name=op.f("ck_claim_search_role"),
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claim.id"],
            name=op.f("fk_claim_search_claim_id_claim"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("claim_id", "position", name=op.f("pk_claim_search")),
    )
    # Every existing query becomes its claim's first direct search.
    op.execute(
        "INSERT INTO claim_search (claim_id, position, role, query, intent) "
        "SELECT id, 1, 'direct', query, NULL FROM claim WHERE query IS NOT NULL"
    )
    with op.batch_alter_table("claim_hit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("search_roles", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("claim_hit", schema=None) as batch_op:
        batch_op.drop_column("search_roles")
    op.drop_table("claim_search")
