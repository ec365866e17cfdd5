"""administration: officers' phone, one-time passwords, session epochs, demo marks; units' activity;
the administrators' audit trail; personal-data views by officer and day

Revision ID: b7e2c41d9a05
Revises: b7e2d4a91c05
Create Date: 2026-12-03 10:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b7e2c41d9a05"
down_revision = "b7e2d4a91c05"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("auth_epoch", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("is_demo", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table(
        "admin_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bureau_code", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["officers.id"]),
        sa.ForeignKeyConstraint(["bureau_code"], ["bureaus.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("admin_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_events_bureau_code"), ["bureau_code"], unique=False)
    op.create_index("ix_personal_data_views_officer", "personal_data_views", ["officer_id", "viewed_at"])


def downgrade():
    op.drop_index("ix_personal_data_views_officer", table_name="personal_data_views")
    with op.batch_alter_table("admin_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_events_bureau_code"))
    op.drop_table("admin_events")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_column("is_active")
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.drop_column("is_demo")
        batch_op.drop_column("auth_epoch")
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("phone")
