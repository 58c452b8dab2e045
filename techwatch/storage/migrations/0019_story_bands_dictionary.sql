-- story_bands.item_id kept as a dictionary (each item's id is repeated on its 10 band keys, and
-- DuckDB chose Dictionary for it anyway): a write no longer analyses its strings for FSST first,
-- most of the cost of storing a night's 150,000 band rows (the INSERT of the ingestion bench's
-- 15,000 items: 0.16-0.37 -> 0.10 s of CPU; the id column alone 0.23-0.25 -> 0.05-0.10 s). Same
-- storage. DuckDB sets a column's compression only when the table is created.
CREATE TABLE story_bands_dictionary (
    key       BIGINT NOT NULL,
    item_id   VARCHAR NOT NULL USING COMPRESSION dictionary,
    cveless   BOOLEAN NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL
);
INSERT INTO story_bands_dictionary SELECT key, item_id, cveless, stored_at FROM story_bands;
DROP TABLE story_bands;
ALTER TABLE story_bands_dictionary RENAME TO story_bands;
