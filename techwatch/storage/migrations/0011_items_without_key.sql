-- items loses its primary key: DuckDB cannot append a new row group to a table with an index,
-- so every checkpoint (each writer's close) rewrote the whole last row group of items, text and
-- html included: up to 122,880 items for a batch of a few thousand, the cost growing with the
-- store (0.3 -> 0.7 s per write over the first 15k items of the ingestion bench). The single
-- writer keeps ids unique: it stages a batch's items once per id and inserts only ids it did
-- not find (writer._classify).
CREATE TABLE items_0011 (
    id            VARCHAR NOT NULL,
    source_id     VARCHAR NOT NULL,
    identity      VARCHAR NOT NULL,
    url           VARCHAR,
    canonical_url VARCHAR,
    title         VARCHAR NOT NULL,
    text          VARCHAR NOT NULL,
    html          VARCHAR NOT NULL,
    published     TIMESTAMPTZ,
    first_seen    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    language      VARCHAR,
    authors       VARCHAR[] NOT NULL,
    cves          VARCHAR[] NOT NULL,
    content_hash  VARCHAR NOT NULL
);

-- Rows keep their order (first sighting).
INSERT INTO items_0011 SELECT * FROM items ORDER BY rowid;

DROP TABLE items;
ALTER TABLE items_0011 RENAME TO items;
