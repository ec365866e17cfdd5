"""lead card and the complainant's home: `complainant_address` (personal data) apart from the place of
the pollution (`address`), and `lead`, what a lead received from a peer said (origin, reason, asks...)

Old cases told the two addresses apart nowhere: each keeps its one address as the place and as the
complainant's home, so that it stays masked as before (nothing known becomes visible). What a lead
received before this said besides its summary and place is not in this database on three instances;
`flask ecoflow leads backfill` fills it on one platform, from the origin's outbox.

Revision ID: a20c4e7b1d93
Revises: c16e2a7f0b93
Create Date: 2026-12-03 13:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "a20c4e7b1d93"
down_revision = "c16e2a7f0b93"
branch_labels = None
depends_on = None


# Not in batch mode: SQLite adds a column in place (a batch would lose the expression index).
def upgrade():
    op.add_column("complaints", sa.Column("complainant_address", sa.String(length=200), nullable=True))
    op.add_column("complaints", sa.Column("lead", sa.JSON(), nullable=True))
    op.execute("UPDATE complaints SET complainant_address = address")


def downgrade():
    op.drop_column("complaints", "lead")
    op.drop_column("complaints", "complainant_address")
