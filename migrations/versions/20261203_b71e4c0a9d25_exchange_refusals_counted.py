"""exchange refusals counted: one row per claimed sender, reason and minute, with a count

Revision ID: b71e4c0a9d25
Revises: 8f3c2a91d7e4
Create Date: 2026-12-03 10:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "b71e4c0a9d25"
down_revision = "8f3c2a91d7e4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("exchange_rejections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("minute", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sender_key", sa.String(length=40), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
        batch_op.create_index("ux_exchange_rejections_minute", ["sender_key", "error", "minute"], unique=True)


def downgrade():
    with op.batch_alter_table("exchange_rejections", schema=None) as batch_op:
        batch_op.drop_index("ux_exchange_rejections_minute")
        batch_op.drop_column("count")
        batch_op.drop_column("sender_key")
        batch_op.drop_column("minute")
