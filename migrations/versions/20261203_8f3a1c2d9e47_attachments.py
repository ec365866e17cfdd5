"""attachments: 证据材料, files of a case kept content-addressed in the storage

Revision ID: 8f3a1c2d9e47
Revises: e5a9c0d3f812
Create Date: 2026-12-03 10:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "8f3a1c2d9e47"
down_revision = "e5a9c0d3f812"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=True),
        sa.Column("is_from_complainant", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("event_seq", sa.Integer(), nullable=True),
        sa.Column("thumb_sha256", sa.String(length=64), nullable=True),
        sa.Column("stripped_sha256", sa.String(length=64), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint("size > 0", name="attachment_not_empty"),
        sa.CheckConstraint("(withdrawn_at IS NULL) = (withdrawn_reason IS NULL)", name="withdrawn_with_reason"),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["officers.id"]),
        sa.ForeignKeyConstraint(["withdrawn_by_id"], ["officers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attachments_complaint", "attachments", ["complaint_id", "created_at"], unique=False)
    op.create_index("ix_attachments_sha256", "attachments", ["sha256"], unique=False)


def downgrade():
    op.drop_index("ix_attachments_sha256", table_name="attachments")
    op.drop_index("ix_attachments_complaint", table_name="attachments")
    op.drop_table("attachments")
