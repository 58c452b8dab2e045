-- What the consultant's queries read, kept by scoring so that they answer in milliseconds
-- (issue 5): the portfolio sums a small per-client, per-day summary instead of a week of
-- decisions, and a briefing reads the evidence of the ten stories it tells by key.

-- Each decided story's items when it was scored: a briefing reads their rows by key instead
-- of scanning story_items for them. Replaced with the story's decisions; a story decided
-- before this migration has no row here (read through story_items then).
CREATE TABLE decided_items (
    story_id VARCHAR PRIMARY KEY,
    item_ids VARCHAR[] NOT NULL
);

-- One row per client and UTC day of the decisions' last_seen: counts per priority and the
-- top story (most urgent, then latest: `top_rank` = urgency * 1e17 + epoch_us(last_seen)).
-- Rebuilt for the days a scoring touched (techwatch.storage.briefings.refresh_days).
CREATE TABLE client_days (
    client_id    VARCHAR NOT NULL,
    day          DATE NOT NULL,
    act_now      INTEGER NOT NULL,
    act_soon     INTEGER NOT NULL,
    plan         INTEGER NOT NULL,
    watch        INTEGER NOT NULL,
    urgency      TINYINT NOT NULL,
    top_rank     BIGINT NOT NULL,
    top_story    VARCHAR NOT NULL,
    top_title    VARCHAR NOT NULL,
    top_priority VARCHAR NOT NULL
);

INSERT INTO client_days
SELECT client_id, day, act_now, act_soon, plan, watch, urgency, rank, top.story, top.title,
       top.priority
FROM (
    SELECT client_id, CAST(last_seen AT TIME ZONE 'UTC' AS DATE) AS day,
           count(*) FILTER (WHERE urgency = 3) AS act_now,
           count(*) FILTER (WHERE urgency = 2) AS act_soon,
           count(*) FILTER (WHERE urgency = 1) AS plan,
           count(*) FILTER (WHERE urgency = 0) AS watch,
           max(urgency) AS urgency,
           max(urgency * 100000000000000000 + epoch_us(last_seen)) AS rank,
           arg_max({'story': story_id, 'title': title, 'priority': priority},
                   urgency * 100000000000000000 + epoch_us(last_seen)) AS top
    FROM client_stories
    GROUP BY ALL
)
ORDER BY day, client_id;
