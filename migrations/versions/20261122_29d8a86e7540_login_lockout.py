"""login lockout: wrong passwords in a row, and until when they lock the account

Revision ID: 29d8a86e7540
Revises: 4c5c7c43d972
Create Date: 2026-11-22 05:38:21.855446

"""

import sqlalchemy as sa
from alembic import op

revision = "29d8a86e7540"
down_revision = "4c5c7c43d972"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
