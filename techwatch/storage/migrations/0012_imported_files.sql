-- Files that `techwatch import` stored, one row per source and file: importing the same bytes
-- again for the same source, read by the same parser code, is skipped (its items are stored).
CREATE TABLE imported_files (
    source_id   VARCHAR NOT NULL,
    url         VARCHAR NOT NULL,  -- file:// URL of the file as imported
    sha256      VARCHAR NOT NULL,  -- of its bytes
    parsers     VARCHAR NOT NULL,  -- fingerprint of the parser code that read it
    entries     INTEGER NOT NULL,
    items       INTEGER NOT NULL,
    run_id      VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source_id, url)
);
