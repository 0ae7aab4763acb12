"""Search on PostgreSQL: a stored ``tsvector`` per search document, with a GIN index.

SQLite searches through FTS5 (migrations 0002 and 0011); PostgreSQL gets the same answers from its
own full-text search. Each document's vector holds two kinds of lexemes, told apart by weight:

- weight A: the words as written, lower case, accents taken off by ``unaccent`` (what a prefix
  ``dép*`` and a quoted phrase match, in order, as FTS5 matches the ``body`` column);
- weight B: the Snowball stems, French and English, of ``search_docs.stems`` (what a plain word
  matches, as FTS5 matches the ``stems`` column).

The stems are PyStemmer's, computed in Python for both databases, and not those of PostgreSQL's
``french`` and ``english`` configurations: the server's configurations drop stop words ("les",
"the": a witness searching for "les CRS" would find nothing), and PostgreSQL 15's French Snowball
is older than PyStemmer's ("calais" gives "cal" there, "calais" here). An archive moved to a server
must answer every search as it did on the laptop. The words are split in Python too (where
SQLite's unicode61 splits them), since the server's parser reads "IMG_0805.jpg" as one file name.

Only PostgreSQL is changed; SQLite's schema is left as it is.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from temoin.catalog.stems import words

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BATCH = 5000

# The vector of one document from its words (space-separated, as `catalog.stems.words` splits
# them) and its stems; `sort.search` calls it for every document it writes.
VECTOR_FUNCTION = """
CREATE OR REPLACE FUNCTION temoin_search_vector(words text, stems text) RETURNS tsvector
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple', unaccent(words)), 'A')
        || setweight(to_tsvector('simple', unaccent(stems)), 'B')
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute(VECTOR_FUNCTION)
    op.execute("ALTER TABLE search_docs ADD COLUMN tsv tsvector")
    _fill_vectors()
    op.execute("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_search_docs_tsv")
    op.execute("ALTER TABLE search_docs DROP COLUMN IF EXISTS tsv")
    op.execute("DROP FUNCTION IF EXISTS temoin_search_vector(text, text)")


def _fill_vectors() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, body FROM search_docs ORDER BY id")).all()
    update = sa.text(
        "UPDATE search_docs SET tsv = temoin_search_vector(:words, stems) WHERE id = :row_id"
    )
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        bind.execute(update, [{"row_id": i, "words": " ".join(words(b))} for i, b in batch])
