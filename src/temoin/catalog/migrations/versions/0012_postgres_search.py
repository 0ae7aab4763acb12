"""Search on PostgreSQL: a stored ``tsvector`` per search document, with a GIN index.

SQLite searches through FTS5 (migrations 0002 and 0011); PostgreSQL gets the same answers from its
own full-text search. Each document's vector holds two kinds of lexemes, told apart by weight:

- weight A: the words as written, lower case, accents taken off (what a prefix ``dép*`` and a
  quoted phrase match, in order, as FTS5 matches the ``body`` column);
- weight B: the Snowball stems, French and English, of ``search_docs.stems`` (what a plain word
  matches, as FTS5 matches the ``stems`` column).

The stems are PyStemmer's, computed in Python for both databases, and not those of PostgreSQL's
``french`` and ``english`` configurations: the server's configurations drop stop words ("les",
"the": a witness searching for "les CRS" would find nothing), and PostgreSQL 15's French Snowball
is older than PyStemmer's ("calais" gives "cal" there, "calais" here). An archive moved to a server
must answer every search as it did on the laptop. The words are split and their accents taken
off in Python too, where and as SQLite's unicode61 tokenizer does it: the server's parser reads
"IMG_0805.jpg" as one file name, and its ``unaccent`` also unfolds letters that tokenizer keeps
("œuvre" would be found by "oeuvre" on the server only). So no server extension is needed either.

Only PostgreSQL is changed; SQLite's schema is left as it is.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from temoin.catalog.stems import fold, words

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BATCH = 5000

# The vector of one document from its words (accent-free, space-separated: see
# `temoin.sort.search.plain_words`) and its stems; `sort.search` calls it for every document.
VECTOR_FUNCTION = """
CREATE OR REPLACE FUNCTION temoin_search_vector(words text, stems text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple', words), 'A')
        || setweight(to_tsvector('simple', stems), 'B')
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
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
        bind.execute(
            update, [{"row_id": i, "words": " ".join(map(fold, words(b)))} for i, b in batch]
        )
