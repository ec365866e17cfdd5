"""received exposures withdrawn: a peer's typical case taken off its board (exposure.withdraw) leaves
this bureau's too

Revision ID: 5e0b7d1f3a28
Revises: c94178d51c3a
Create Date: 2026-11-22 08:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "5e0b7d1f3a28"
down_revision = "c94178d51c3a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("received_exposures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_received_exposures_case", ["bureau_code", "case_no"], unique=False)


def downgrade():
    with op.batch_alter_table("received_exposures", schema=None) as batch_op:
        batch_op.drop_index("ix_received_exposures_case")
        batch_op.drop_column("withdrawn_at")
