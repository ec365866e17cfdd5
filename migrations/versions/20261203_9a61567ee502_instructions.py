"""instructions: leaders' instructions on a case (领导批示), their report-back clock and 报结

Revision ID: 9a61567ee502
Revises: 82cdf9774f18
Create Date: 2026-12-03 14:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "9a61567ee502"
down_revision = "82cdf9774f18"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "instructions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("leader_name", sa.String(length=50), nullable=False),
        sa.Column("leader_title", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("instructed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report_days", sa.Integer(), nullable=False),
        sa.Column("instructed_by_id", sa.Integer(), nullable=True),
        sa.Column("clock_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["clock_id"], ["clocks.id"]),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"]),
        sa.ForeignKeyConstraint(["instructed_by_id"], ["officers.id"]),
        sa.ForeignKeyConstraint(["reported_by_id"], ["officers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_instructions_complaint_id", "instructions", ["complaint_id"])


def downgrade():
    op.drop_index("ix_instructions_complaint_id", table_name="instructions")
    op.drop_table("instructions")
