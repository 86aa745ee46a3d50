"""Search: full-text search over cases, KB articles and customers, and similar cases.

``GET /api/v1/search?q=&kind=case|kb|customer&limit=`` and ``GET /api/v1/cases/{number}/similar``.

What was chosen, where the issue was silent:

- **Indexes.** PostgreSQL: GIN indexes over ``to_tsvector`` in ``norwegian`` and ``english``
  (case subject + field values; article body_text + search_text; KB title + body_text; customer
  name; customer addresses). Cases and articles, the big tables, keep their vectors in stored,
  generated ``tsv_<config>`` columns, so a plan that checks rows one by one compares stored
  vectors; the small tables use expression indexes. No triggers either way. SQLite: FTS5 tables (``case_fts``, ``kb_article_fts``,
  ``customer_fts``) kept by triggers, tokenizer ``unicode61 remove_diacritics 0`` (æ, ø, å stay
  letters, "sma" does not find "små").
- **Matching differs by database.** PostgreSQL stems (bokmål and English), and the query syntax
  of ``websearch_to_tsquery`` works (``"a phrase"``, ``or``, ``-word``); the Norwegian query is
  widened by the stems of its stems, because the snowball stemmer takes "skriveren" to "skriver"
  but "skriver" to "skriv". SQLite does not stem: every word must be there as a word or as the
  start of one ("skriv" finds "skriveren", "skriveren" does not find "skriver"); quotes and
  operators are plain punctuation.
- **Bounded.** At most ``domain.CANDIDATES`` (500) index matches per table are scored (ts_rank,
  bm25); a row's score is its best title/subject/name match (weighted double) plus its best text
  match; the best ``limit`` of each kind are merged by score. Scores of different kinds and of
  the two databases are not comparable beyond that.
- **Access.** Cases: only in the queues the caller sees, filtered inside the bounded query.
  KB: staff (a known caller whose role is not ``customer``) find every article, drafts and
  internal ones included; others published public ones. Customers: known staff only, and of
  those who are not admins only customers who asked in a queue they see (a requester's name
  belongs to their cases: an IT agent must not find HR's requesters).
- **Similar cases**: the case's subject and first article's words (three letters or more, 32 at
  most) as an any-word query; the five best by score, then resolved and closed ones first, each
  of those with its solution (last public reply). The case itself must be visible (404 as reads).
- Input: ``q`` is 1 to 200 characters (422 otherwise); a query of punctuation only finds nothing.
"""
