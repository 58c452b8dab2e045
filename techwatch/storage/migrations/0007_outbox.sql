-- The mail outbox: one row per (client, period, kind), whatever happens to its delivery.
-- Status flow (the crash policy is in techwatch.mail.outbox):
--   queued -> sending -> sent | queued (transient, next_attempt later) | failed | uncertain
--   queued -> sending -> sent_to_folder (no SMTP configured: .eml files in the outbox folder)
CREATE SEQUENCE outbox_id_seq START 1;
CREATE TABLE outbox (
    id            BIGINT PRIMARY KEY DEFAULT nextval('outbox_id_seq'),  -- for `mail retry ID`
    idem_key      VARCHAR NOT NULL UNIQUE,  -- kind/client/period
    kind          VARCHAR NOT NULL,
    client_id     VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,
    briefing_id   VARCHAR,
    status        VARCHAR NOT NULL CHECK (status IN
                      ('queued', 'sending', 'sent', 'sent_to_folder', 'failed', 'uncertain')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TIMESTAMPTZ NOT NULL,
    last_reply    VARCHAR,                  -- the server's reply, or what went wrong
    message_id    VARCHAR NOT NULL,
    sender        VARCHAR NOT NULL,
    recipients    VARCHAR[] NOT NULL,
    subject       VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    sent_at       TIMESTAMPTZ
);

-- The exact bytes built when queued, so that a retry sends the very same message (same
-- Message-ID, same Date). Apart from `outbox` because DuckDB updates rows that hold a large
-- BLOB about twice as slowly, and delivery updates each outbox row twice.
CREATE TABLE outbox_messages (
    id      BIGINT PRIMARY KEY,  -- outbox.id
    message BLOB NOT NULL
);
