"""add the reviewers' workbench: accounts, sessions, login throttling, blind mode, exclusion reasons

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:00:00

`app_user` (argon2 hash only), `web_session` (hashed tokens + CSRF), `login_failure` (failed
logins in a row per user name / client address), `review_mode` (append-only: blind or not),
and two columns on the append-only `review_decision`: `exclusion_reason` (reject only, from a
fixed list) and `adjudication` (an adjudicator's ruling on a conflict). Existing decisions get
no reason and are not adjudications. CHECK lists are literal so this migration does not change
when the models' do.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders AutoString)

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "role IN ('reviewer', 'adjudicator', 'admin')", name=op.f("ck_app_user_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("name", name=op.f("uq_app_user_name")),
    )
    op.create_table(
        "web_session",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_web_session_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_session")),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_user_id"), ["user_id"], unique=False)
    op.create_table(
        "login_failure",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failure")),
    )
    op.create_table(
        "review_mode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("set_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_mode")),
    )
    with op.batch_alter_table("review_decision", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "exclusion_reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("adjudication", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_review_decision_exclusion_reason"),
            "exclusion_reason IS NULL OR (decision = 'reject' AND exclusion_reason IN "
            "('off_topic', 'wrong_population', 'not_a_finding', 'duplicate', 'retracted', "
            "'other'))",
        )


def downgrade() -> None:
    with op.batch_alter_table("review_decision", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_review_decision_exclusion_reason"), type_="check")
        batch_op.drop_column("adjudication")
        batch_op.drop_column("exclusion_reason")
    op.drop_table("review_mode")
    op.drop_table("login_failure")
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_user_id"))
    op.drop_table("web_session")
    op.drop_table("app_user")
