"""centre decides extensions: a hotline centre's account that approves or refuses extension requests itself

Revision ID: f19a2c7e5b31
Revises: b7e2c41d9a05
Create Date: 2026-12-03 13:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "f19a2c7e5b31"
down_revision = "b7e2c41d9a05"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("channel_clients") as batch_op:
        batch_op.add_column(
            sa.Column("decides_extensions", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("channel_clients") as batch_op:
        batch_op.drop_column("decides_extensions")
