-- Initial schema. Timestamps are TIMESTAMPTZ in UTC; no foreign keys, because DuckDB checks
-- them eagerly inside a transaction and the writer is the only process that changes rows.

-- Mirror of sources.yml: rows are never deleted, a source dropped from config is flagged removed.
CREATE TABLE sources (
    id              VARCHAR PRIMARY KEY,
    name            VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    url             VARCHAR NOT NULL,
    category        VARCHAR NOT NULL,
    language        VARCHAR,
    vendors         VARCHAR[] NOT NULL,
    products        VARCHAR[] NOT NULL,
    enabled         BOOLEAN NOT NULL,
    poll_interval_s INTEGER NOT NULL,
    confirmed       BOOLEAN NOT NULL,
    removed         BOOLEAN NOT NULL DEFAULT false,
    first_seen      TIMESTAMPTZ NOT NULL,
    last_seen       TIMESTAMPTZ NOT NULL,
    removed_at      TIMESTAMPTZ
);

-- What we remember about a source between runs (techwatch.types.SourceState).
CREATE TABLE source_state (
    source_id            VARCHAR PRIMARY KEY,
    url                  VARCHAR,
    etag                 VARCHAR,
    last_modified        VARCHAR,
    last_attempt         TIMESTAMPTZ,
    last_success         TIMESTAMPTZ,
    last_status          VARCHAR,
    last_error_kind      VARCHAR,
    last_error           VARCHAR,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_attempt         TIMESTAMPTZ,
    degraded             BOOLEAN NOT NULL DEFAULT false,
    items_seen           BIGINT NOT NULL DEFAULT 0,
    updated_at           TIMESTAMPTZ NOT NULL
);

-- One row per (source, identity); id = techwatch.dedupe.item_id(source_id, identity).
CREATE TABLE items (
    id            VARCHAR PRIMARY KEY,
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

-- The same story seen in several sources; stored in both directions.
CREATE TABLE item_links (
    item_id    VARCHAR NOT NULL,
    linked_id  VARCHAR NOT NULL,
    reason     VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (item_id, linked_id)
);

CREATE TABLE runs (
    run_id      VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL,
    flow_run_id VARCHAR,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status      VARCHAR NOT NULL,
    summary     JSON
);

-- One row per source outcome of a run; no key, a run may in principle see a source twice.
CREATE TABLE run_sources (
    run_id        VARCHAR NOT NULL,
    source_id     VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,
    http_status   INTEGER,
    error_kind    VARCHAR,
    error         VARCHAR,
    transient     BOOLEAN NOT NULL,
    duration_s    DOUBLE NOT NULL,
    fetch_s       DOUBLE NOT NULL,
    parse_s       DOUBLE NOT NULL,
    bytes         BIGINT NOT NULL,
    entries       INTEGER NOT NULL,
    new_items     INTEGER NOT NULL,
    updated_items INTEGER NOT NULL,
    warnings      VARCHAR[] NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL
);

-- One row at most: when the full-text index was last built and over how many items.
CREATE TABLE search_index (
    built_at TIMESTAMPTZ NOT NULL,
    items    BIGINT NOT NULL
);

-- Items new or changed since that build: search finds them without the index until the next one.
CREATE TABLE search_pending (
    id VARCHAR PRIMARY KEY
);
