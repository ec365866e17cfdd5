"""centre callbacks: a hotline centre account's callback URL and shared secret (回单, docs/centres.md),
and the signatures of the centres' own calls, each accepted once

Revision ID: b7e2c4a9d105
Revises: c3d9e5f1a7b2
Create Date: 2026-12-03 10:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "b7e2c4a9d105"
down_revision = "c3d9e5f1a7b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("channel_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_url", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("secret", sa.String(length=64), nullable=True))
    op.create_table(
        "centre_signatures",
        sa.Column("signature", sa.String(length=80), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["channel_clients.id"]),
        sa.PrimaryKeyConstraint("signature"),
    )
    with op.batch_alter_table("centre_signatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_centre_signatures_received_at"), ["received_at"], unique=False)


def downgrade():
    op.drop_table("centre_signatures")
    with op.batch_alter_table("channel_clients", schema=None) as batch_op:
        batch_op.drop_column("secret")
        batch_op.drop_column("callback_url")
