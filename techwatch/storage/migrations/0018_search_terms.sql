-- The full-text index in our own tables, one row per item and word with its counts (the fts
-- extension's own tables held one row per occurrence: 1.7x more rows on the real feed items,
-- 4.1x on the ingestion bench's);
-- search computes the extension's BM25 from these counts (see storage/fts.py). An index the
-- extension built is converted as it stands (same words, counts and items pending), so
-- nothing is indexed again; a store that never had one gets the empty schema to convert.
CREATE SCHEMA IF NOT EXISTS fts_main_search_docs;
CREATE TABLE IF NOT EXISTS fts_main_search_docs.docs (docid BIGINT, "name" VARCHAR, len BIGINT);
CREATE TABLE IF NOT EXISTS fts_main_search_docs.dict (termid BIGINT, term VARCHAR, df BIGINT);
CREATE TABLE IF NOT EXISTS fts_main_search_docs.terms (docid BIGINT, fieldid BIGINT, termid BIGINT);
CREATE TABLE IF NOT EXISTS fts_main_search_docs.fields (fieldid BIGINT, field VARCHAR);

-- Every stemmed word of the index with the number of items holding it.
CREATE TABLE search_words (
    termid BIGINT NOT NULL,
    term   VARCHAR NOT NULL,
    df     BIGINT NOT NULL
);
INSERT INTO search_words SELECT termid, term, df FROM fts_main_search_docs.dict;

-- How often a word occurs in an item (tf), and in its title alone (title_tf).
CREATE TABLE search_terms (
    docid    BIGINT NOT NULL,
    termid   BIGINT NOT NULL,
    tf       INTEGER NOT NULL,
    title_tf INTEGER NOT NULL
);
-- Counted a sixteenth of the items at a time: one GROUP BY over a store of 200,000 items
-- (26M index rows) peaked at 1.8 GiB, sixteen peak at 0.4 GiB for the same rows and about
-- the same time (4.8 -> 5.0 s).
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 0 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 1 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 2 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 3 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 4 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 5 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 6 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 7 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 8 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 9 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 10 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 11 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 12 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 13 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 14 GROUP BY t.docid, t.termid;
INSERT INTO search_terms
SELECT t.docid, t.termid, count(*), count(*) FILTER (WHERE f.field = 'title')
FROM fts_main_search_docs.terms t LEFT JOIN fts_main_search_docs.fields f USING (fieldid)
WHERE t.docid % 16 = 15 GROUP BY t.docid, t.termid;

-- One row per indexed item: its number in the index and its length in words (title and text).
-- It replaces `search_docs`, the copy of the documents the extension indexed, no longer read.
CREATE TABLE search_index_docs (
    docid BIGINT NOT NULL,
    id    VARCHAR NOT NULL,
    len   BIGINT NOT NULL
);
INSERT INTO search_index_docs SELECT docid, "name", len FROM fts_main_search_docs.docs;

DROP SCHEMA fts_main_search_docs CASCADE;
DROP TABLE IF EXISTS search_docs;
ALTER TABLE search_index_docs RENAME TO search_docs;
