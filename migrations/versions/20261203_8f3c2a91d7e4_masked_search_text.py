"""masked search text: the description as a viewer who sees the complainant masked sees it, which their
searches read (made for every existing complaint here)

Revision ID: 8f3c2a91d7e4
Revises: 8f3c2a1d9b47
Create Date: 2026-12-03 10:00:00.000000

"""

from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

from ecoflow.complaints.privacy import searchable_copy

revision = "8f3c2a91d7e4"
down_revision = "8f3c2a1d9b47"
branch_labels = None
depends_on = None

COLUMNS = ("id", "description", "complainant_name", "complainant_phone", "address", "district_code")


def upgrade():
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("masked_text", sa.Text(), nullable=True))
    connection = op.get_bind()
    complaints = sa.table("complaints", sa.column("masked_text"), *(sa.column(name) for name in COLUMNS))
    rows = connection.execute(sa.select(*(complaints.c[name] for name in COLUMNS))).all()
    update = complaints.update().where(complaints.c.id == sa.bindparam("row_id")).values(masked_text=sa.bindparam("masked"))
    for start in range(0, len(rows), 1000):
        batch = rows[start : start + 1000]
        masked = [{"row_id": row.id, "masked": searchable_copy(SimpleNamespace(**row._mapping))} for row in batch]
        connection.execute(update, masked)


def downgrade():
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("masked_text")
