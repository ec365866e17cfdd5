"""case search: one text indexed for every viewer (the masked copy, the description and the place), by
its character bigrams (two-character words) and by pg_trgm's trigrams (longer ones), in place of the
bigram indexes of each text, so that no index function is evaluated again per candidate (docs/search.md)

Revision ID: c16e2a7f0b93
Revises: f19b3d8a6c42
Create Date: 2026-12-03 14:30:00.000000

"""

from alembic import op

revision = "c16e2a7f0b93"
down_revision = "f19b3d8a6c42"
branch_labels = None
depends_on = None

SEARCHED = "coalesce(masked_text, '') || ' ' || description || ' ' || address"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # a trusted extension: the database's owner may
    op.execute("DROP INDEX ix_complaints_masked_grams")
    op.execute("DROP INDEX ix_complaints_text_grams")
    op.execute(f"CREATE INDEX ix_complaints_search_grams ON complaints USING gin (ecoflow_bigrams(lower({SEARCHED})))")
    op.execute(f"CREATE INDEX ix_complaints_search_trgm ON complaints USING gin (({SEARCHED}) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_complaints_search_trgm")
    op.execute("DROP INDEX ix_complaints_search_grams")
    op.execute("CREATE INDEX ix_complaints_masked_grams ON complaints USING gin (ecoflow_bigrams(lower(masked_text)))")
    op.execute(
        "CREATE INDEX ix_complaints_text_grams ON complaints "
        "USING gin (ecoflow_bigrams(lower((description || ' ' || address))))"
    )
