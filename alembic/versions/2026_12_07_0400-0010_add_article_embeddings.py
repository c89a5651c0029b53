"""add article embeddings

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 02:00:00

`article_embedding`: one dense vector per (article, embedding model), with the article's
content hash when it was embedded (a new revision is embedded again). float32 bytes in a
BLOB / bytea: PostgreSQL here has no pgvector, and the linker only compares a claim with its
own few hundred candidates, so numpy over them is exact and fast (evidence.linking.embeddings).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders AutoString)

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "article_embedding",
        sa.Column("pmid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pmid"],
            ["article.pmid"],
            name=op.f("fk_article_embedding_pmid_article"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pmid", "model", name=op.f("pk_article_embedding")),
    )


def downgrade() -> None:
    op.drop_table("article_embedding")
