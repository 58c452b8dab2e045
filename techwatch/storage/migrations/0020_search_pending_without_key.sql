-- search_pending loses its primary key: each write added its new items to the key's index and
-- each indexed chunk took them out of it, for a queue that the writer alone fills, with ids it
-- checks itself (writer._mark_for_search). The ingestion bench's 15,000 items indexed as a first
-- run does (ingest.index_search, 8 chunks): 0.80-0.91x of its CPU (median 0.875x, 6 alternated
-- pairs at a load of 3-4; ~0.25 s); its three writes alike (0.93-1.15x, 5 pairs). Same rows.
CREATE TABLE search_pending_0020 (
    id VARCHAR NOT NULL
);
INSERT INTO search_pending_0020 SELECT id FROM search_pending ORDER BY rowid;
DROP TABLE search_pending;
ALTER TABLE search_pending_0020 RENAME TO search_pending;
