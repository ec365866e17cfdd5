"""petition documents: the notices issued on a formal petition (信访文书) and their numbers per bureau,
kind and year

Revision ID: 70c98a063eb5
Revises: a16c0de5e4c1
Create Date: 2026-12-03 14:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "70c98a063eb5"
down_revision = "a16c0de5e4c1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "petition_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("bureau_code", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["bureau_code"], ["bureaus.code"]),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bureau_code", "kind", "year", "serial"),
    )
    op.create_index("ix_petition_documents_complaint", "petition_documents", ["complaint_id", "issued_at"])
    op.create_table(
        "document_counters",
        sa.Column("bureau_code", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["bureau_code"], ["bureaus.code"]),
        sa.PrimaryKeyConstraint("bureau_code", "kind", "year"),
    )


def downgrade():
    op.drop_table("document_counters")
    op.drop_index("ix_petition_documents_complaint", table_name="petition_documents")
    op.drop_table("petition_documents")
