"""surveys: the complainant's own 回访 through a single-use, expiring link in the 答复 SMS

Revision ID: f19b3d8a6c42
Revises: 70c98a063eb5
Create Date: 2026-12-03 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op


revision = "f19b3d8a6c42"
down_revision = "70c98a063eb5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("used_at IS NULL OR used_at >= created_at", name=op.f("ck_surveys_used_after_created")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_surveys_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_surveys_token_hash")),
    )
    op.create_index(op.f("ix_surveys_complaint_id"), "surveys", ["complaint_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_surveys_complaint_id"), table_name="surveys")
    op.drop_table("surveys")
