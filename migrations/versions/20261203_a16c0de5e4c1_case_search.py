"""case search (案件查询): the masked copy now holds the place too (remade for every complaint); the
complainant's name and the closing time indexed; on PostgreSQL ecoflow_bigrams() and GIN indexes of
the character bigrams of the masked copy and of the text as written (docs/search.md); saved searches

Revision ID: a16c0de5e4c1
Revises: 981b1ada4bf5
Create Date: 2026-12-03 14:00:00.000000

"""

from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

from ecoflow.complaints.privacy import searchable_copy

revision = "a16c0de5e4c1"
down_revision = "981b1ada4bf5"
branch_labels = None
depends_on = None

COLUMNS = ("id", "description", "complainant_name", "complainant_phone", "address", "district_code")

# Every distinct pair of neighbouring characters of a text: '死鱼很多' → {死鱼, 鱼很, 很多}. IMMUTABLE, so that
# an index can hold it; a text of one character has none.
BIGRAMS = """
CREATE FUNCTION ecoflow_bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(t, i, 2)), '{}')
  FROM generate_series(1, length(t) - 1) AS i
$$
"""


def upgrade():
    connection = op.get_bind()
    complaints = sa.table("complaints", sa.column("masked_text"), *(sa.column(name) for name in COLUMNS))
    rows = connection.execute(sa.select(*(complaints.c[name] for name in COLUMNS))).all()
    update = complaints.update().where(complaints.c.id == sa.bindparam("row_id")).values(masked_text=sa.bindparam("masked"))
    for start in range(0, len(rows), 1000):
        batch = rows[start : start + 1000]
        masked = [{"row_id": row.id, "masked": searchable_copy(SimpleNamespace(**row._mapping))} for row in batch]
        connection.execute(update, masked)
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index("ix_complaints_complainant_name", ["complainant_name"], unique=False)
        batch_op.create_index("ix_complaints_closed_at", ["closed_at"], unique=False)
    if connection.dialect.name == "postgresql":
        op.execute(BIGRAMS)
        op.execute("CREATE INDEX ix_complaints_masked_grams ON complaints USING gin (ecoflow_bigrams(lower(masked_text)))")
        op.execute(
            "CREATE INDEX ix_complaints_text_grams ON complaints "
            "USING gin (ecoflow_bigrams(lower((description || ' ' || address))))"
        )
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["officer_id"], ["officers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("officer_id", "name"),
    )
    with op.batch_alter_table("saved_searches", schema=None) as batch_op:
        batch_op.create_index("ix_saved_searches_officer_id", ["officer_id"], unique=False)


def downgrade():
    op.drop_table("saved_searches")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_complaints_text_grams")
        op.execute("DROP INDEX ix_complaints_masked_grams")
        op.execute("DROP FUNCTION ecoflow_bigrams(text)")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_closed_at")
        batch_op.drop_index("ix_complaints_complainant_name")
