-- Per-client decisions about stories, refreshed by scoring after each ingestion run: the
-- portfolio and briefings read these rows instead of re-scoring the store.
CREATE TABLE client_stories (
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
    rules_version VARCHAR NOT NULL,
    PRIMARY KEY (client_id, story_id)
);

-- Every briefing built, immutable: `content` is the briefing as JSON, enough to show it again
-- exactly; several may exist for one (client, period), the latest is the current one.
CREATE TABLE briefings (
    briefing_id   VARCHAR PRIMARY KEY,
    client_id     VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,
    period_start  TIMESTAMPTZ NOT NULL,
    period_end    TIMESTAMPTZ NOT NULL,
    generated_at  TIMESTAMPTZ NOT NULL,
    language      VARCHAR NOT NULL,
    model_version VARCHAR,
    rules_version VARCHAR,
    entries       INTEGER NOT NULL,
    top_priority  VARCHAR,
    content       JSON NOT NULL
);

-- What each briefing told the client, with the evidence marks at the time: a story is told
-- again only when new marks appear.
CREATE TABLE briefing_entries (
    briefing_id VARCHAR NOT NULL,
    client_id   VARCHAR NOT NULL,
    story_id    VARCHAR NOT NULL,
    priority    VARCHAR NOT NULL,
    marks       VARCHAR[] NOT NULL,
    told_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (briefing_id, story_id)
);

-- Consultants' triage of a story for a client; append-only history, the latest row counts.
CREATE TABLE triage (
    client_id VARCHAR NOT NULL,
    story_id  VARCHAR NOT NULL,
    status    VARCHAR NOT NULL,
    note      VARCHAR NOT NULL,
    expires   DATE,
    marks     VARCHAR[] NOT NULL,
    set_by    VARCHAR NOT NULL,
    set_at    TIMESTAMPTZ NOT NULL
);
