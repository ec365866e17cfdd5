"""order number lookup: the citizen finds a case by the hotline centre's order number, in any case
of letters

Revision ID: d41e8f2b6c73
Revises: b7e2c4a9d105
Create Date: 2026-12-03 10:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "d41e8f2b6c73"
down_revision = "b7e2c4a9d105"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_complaints_external_id_upper", "complaints", [sa.text("upper(external_id)")], unique=False)


def downgrade():
    op.drop_index("ix_complaints_external_id_upper", table_name="complaints")
