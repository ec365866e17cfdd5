"""clock extension state: a pending extension request and the approved ones, kept on the clock

Revision ID: 8f3c2a1d9b47
Revises: 5e0b7d1f3a28
Create Date: 2026-12-03 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "8f3c2a1d9b47"
down_revision = "5e0b7d1f3a28"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("clocks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_extension_pending", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("approved_extensions", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE clocks SET is_extension_pending = EXISTS (SELECT 1 FROM extensions"
        " WHERE extensions.clock_id = clocks.id AND extensions.is_approved IS NULL)"
    )
    op.execute(
        "UPDATE clocks SET approved_extensions = (SELECT count(*) FROM extensions"
        " WHERE extensions.clock_id = clocks.id AND extensions.is_approved)"
    )


def downgrade():
    with op.batch_alter_table("clocks", schema=None) as batch_op:
        batch_op.drop_column("approved_extensions")
        batch_op.drop_column("is_extension_pending")
