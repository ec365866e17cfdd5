"""place key: the keyed hash of a complaint's exact address, so that bureaus match the same place
without sending it (run `flask --app wsgi ecoflow rehash-complainants` once after upgrading)

Revision ID: c94178d51c3a
Revises: 29d8a86e7540
Create Date: 2026-11-22 07:28:37.280433

"""

import sqlalchemy as sa
from alembic import op

revision = "c94178d51c3a"
down_revision = "29d8a86e7540"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("place_key", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_complaints_place_key"), ["place_key"], unique=False)


def downgrade():
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_place_key"))
        batch_op.drop_column("place_key")
