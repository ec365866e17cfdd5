"""ledger leader: the 包案 leader named for a key case on the ledger

Revision ID: 82cdf9774f18
Revises: a20c4e7b1d93
Create Date: 2026-12-03 14:25:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "82cdf9774f18"
down_revision = "a20c4e7b1d93"
branch_labels = None
depends_on = None


# Not in batch mode: SQLite adds a column in place, and a batch would rebuild the table without its
# expression index (the order number's, upper(external_id)), which SQLite cannot reflect. SQLite takes
# the reference inline with the column (ALTER TABLE ADD COLUMN ... REFERENCES), which Alembic does not
# emit for it: the SQL is written out there.
def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE complaints ADD COLUMN ledger_leader_id INTEGER REFERENCES officers (id)")
        return
    op.add_column("complaints", sa.Column("ledger_leader_id", sa.Integer(), nullable=True))
    op.create_foreign_key("fk_complaints_ledger_leader_id_officers", "complaints", "officers", ["ledger_leader_id"], ["id"])


def downgrade():
    op.drop_column("complaints", "ledger_leader_id")
