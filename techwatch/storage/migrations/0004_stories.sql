-- Stories: the items of several sources that tell one event (techwatch/stories/).
-- Derived data: everything here can be rebuilt from `items` by grouping them again.

-- One row per living story; a story merged into another is gone from here (see story_merges).
CREATE TABLE stories (
    story_id   VARCHAR PRIMARY KEY,  -- the id of its first item, kept for the story's whole life
    title      VARCHAR NOT NULL,     -- from the most authoritative source (advisory > vendor > ...)
    first_seen TIMESTAMPTZ NOT NULL, -- earliest item date (publication, else first sighting)
    last_seen  TIMESTAMPTZ NOT NULL, -- latest item date
    items      INTEGER NOT NULL,
    sources    INTEGER NOT NULL,
    cves       VARCHAR[] NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL  -- last time an item joined, changed, or a story merged in
);

-- Each grouped item is in exactly one story; why it joined, and through which item.
CREATE TABLE story_items (
    item_id    VARCHAR PRIMARY KEY,
    story_id   VARCHAR NOT NULL,
    reason     VARCHAR NOT NULL,     -- first, url, cve or text
    score      DOUBLE,               -- strength of that evidence in [0, 1]; NULL for `first`
    via        VARCHAR,              -- the item whose evidence brought it in
    added_at   TIMESTAMPTZ NOT NULL,
    grouped_at TIMESTAMPTZ NOT NULL  -- an item updated after this is looked at again
);

-- Merges, in order: `loser` now lives on as `winner` (stories show follows them).
CREATE TABLE story_merges (
    loser     VARCHAR NOT NULL,
    winner    VARCHAR NOT NULL,
    item_id   VARCHAR NOT NULL,      -- the item that matched both
    reason    VARCHAR NOT NULL,
    score     DOUBLE NOT NULL,
    merged_at TIMESTAMPTZ NOT NULL
);

-- MinHash LSH band keys of recently stored items: text candidates without comparing every item.
-- Text only counts when one side names no CVE, so items that name CVEs look only at `cveless` rows.
CREATE TABLE story_bands (
    key       BIGINT NOT NULL,
    item_id   VARCHAR NOT NULL,
    cveless   BOOLEAN NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL
);
