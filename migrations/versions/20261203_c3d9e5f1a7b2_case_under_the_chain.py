"""the case under the chain: each event's rule, and the digest of the complaint's record it covers
(events written before keep rule 1 and are verified by it)

Revision ID: c3d9e5f1a7b2
Revises: b71e4c0a9d25
Create Date: 2026-12-03 10:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "c3d9e5f1a7b2"
down_revision = "b71e4c0a9d25"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rule", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("case_digest", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("case_digest")
        batch_op.drop_column("rule")
