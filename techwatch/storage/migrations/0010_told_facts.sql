-- A briefing in a few keyed reads (issue 5): what it says about each story it tells is kept
-- by scoring beside the decisions, and a client's decisions are stored together.

-- Each decided story's briefing-ready facts (techwatch.briefing.facts: title, summary,
-- links, KEV actions, fixed versions...) as JSON, replaced with the story's decisions. A briefing
-- reads the ten stories it tells by key instead of their items, labels and advisories. A story
-- decided before this migration has no row here: its rows are read and its facts derived then.
CREATE TABLE told_facts (
    story_id VARCHAR PRIMARY KEY,
    facts    VARCHAR NOT NULL  -- JSON text; VARCHAR, not JSON: no parse on each insert
);

-- Replaced by told_facts (which holds the item ids).
DROP TABLE decided_items;

-- Decisions clustered by day and client, as each scoring write now inserts them (by client):
-- reading one client's week touches a few runs of rows instead of every row of the week. And
-- no primary key: DuckDB (before storage version 2.0) never vacuums the deleted rows of a
-- table with an index, so each rescoring left its old decisions in the scans (5 nights scored
-- again: 140k live rows in 865k). `briefings.replace_decisions` keeps one decision per client
-- and story: it deletes a story's decisions before inserting the new ones.
CREATE TABLE client_stories_clustered (
    client_id     VARCHAR NOT NULL,
    story_id      VARCHAR NOT NULL,
    priority      VARCHAR NOT NULL,
    urgency       TINYINT NOT NULL,    -- 3 act_now, 2 act_soon, 1 plan, 0 watch: the sort key
    lane          VARCHAR NOT NULL,    -- confirmed or unconfirmed
    reasons       JSON NOT NULL,       -- structured reasons (code, params), worded per language
    marks         VARCHAR[] NOT NULL,  -- evidence marks (kev, exploited, epss>=0.5...)
    title         VARCHAR NOT NULL,
    first_seen    TIMESTAMPTZ NOT NULL,
    last_seen     TIMESTAMPTZ NOT NULL,
    decided_at    TIMESTAMPTZ NOT NULL,
    rules_version VARCHAR NOT NULL
);
INSERT INTO client_stories_clustered
SELECT * FROM client_stories
ORDER BY CAST(last_seen AT TIME ZONE 'UTC' AS DATE), client_id, last_seen, story_id;
DROP TABLE client_stories;
ALTER TABLE client_stories_clustered RENAME TO client_stories;
