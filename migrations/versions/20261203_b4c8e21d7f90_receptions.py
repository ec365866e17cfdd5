"""receptions: leaders' reception days (接访日) and the visitors recorded at one

Revision ID: b4c8e21d7f90
Revises: 9a61567ee502
Create Date: 2026-12-03 15:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "b4c8e21d7f90"
down_revision = "9a61567ee502"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "receptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bureau_code", sa.String(length=8), nullable=False),
        sa.Column("leader_name", sa.String(length=50), nullable=False),
        sa.Column("leader_title", sa.String(length=100), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bureau_code"], ["bureaus.code"]),
        sa.ForeignKeyConstraint(["published_by_id"], ["officers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_receptions_bureau_starts", "receptions", ["bureau_code", "starts_at"])
    op.create_table(
        "reception_visitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reception_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("registered", sa.Boolean(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"]),
        sa.ForeignKeyConstraint(["reception_id"], ["receptions.id"]),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["officers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reception_visitors_reception_id", "reception_visitors", ["reception_id"])
    op.create_index("ix_reception_visitors_complaint_id", "reception_visitors", ["complaint_id"])


def downgrade():
    op.drop_index("ix_reception_visitors_complaint_id", table_name="reception_visitors")
    op.drop_index("ix_reception_visitors_reception_id", table_name="reception_visitors")
    op.drop_table("reception_visitors")
    op.drop_index("ix_receptions_bureau_starts", table_name="receptions")
    op.drop_table("receptions")
