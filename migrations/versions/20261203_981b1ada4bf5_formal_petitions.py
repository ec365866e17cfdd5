"""formal petitions (信访事项): the flag, the number of people, joint or not, the answer's delivery
and how far 复查/复核 went

Revision ID: 981b1ada4bf5
Revises: f19a2c7e5b31
Create Date: 2026-12-03 13:41:34.021345

"""

import sqlalchemy as sa
from alembic import op

revision = "981b1ada4bf5"
down_revision = "f19a2c7e5b31"
branch_labels = None
depends_on = None

COLUMNS = ("is_petition", "people_count", "is_joint_petition", "petition_answered_at", "petition_level")


# Not in batch mode: SQLite adds a column in place, and a batch would rebuild the table without its
# expression index (the order number's, upper(external_id)), which SQLite cannot reflect.
def upgrade():
    op.add_column("complaints", sa.Column("is_petition", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("complaints", sa.Column("people_count", sa.Integer(), nullable=True))
    op.add_column(
        "complaints", sa.Column("is_joint_petition", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("complaints", sa.Column("petition_answered_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("complaints", sa.Column("petition_level", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    for column in reversed(COLUMNS):
        op.drop_column("complaints", column)
