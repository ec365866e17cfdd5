"""complainant notify: whether the complainant hears back by SMS (receipt, answer, closure)

Revision ID: e5a9c0d3f812
Revises: d41e8f2b6c73
Create Date: 2026-12-03 10:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "e5a9c0d3f812"
down_revision = "d41e8f2b6c73"
branch_labels = None
depends_on = None


# Not in batch mode: SQLite adds a column in place, and a batch would rebuild the table without its
# expression index (the order number's, upper(external_id)), which SQLite cannot reflect.
def upgrade():
    op.add_column(
        "complaints", sa.Column("notify_complainant", sa.Boolean(), server_default=sa.text("true"), nullable=False)
    )


def downgrade():
    op.drop_column("complaints", "notify_complainant")
