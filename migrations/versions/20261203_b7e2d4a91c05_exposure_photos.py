"""exposure photos: the photos a supervisor publishes with a typical case (their stripped copies)

Revision ID: b7e2d4a91c05
Revises: 8f3a1c2d9e47
Create Date: 2026-12-03 11:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "b7e2d4a91c05"
down_revision = "8f3a1c2d9e47"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("exposures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("photos", sa.JSON(), nullable=False, server_default="[]"))


def downgrade():
    with op.batch_alter_table("exposures", schema=None) as batch_op:
        batch_op.drop_column("photos")
