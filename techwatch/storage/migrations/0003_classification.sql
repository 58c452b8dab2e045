-- What the model says about each item: one current row per item, replaced when it is
-- reclassified (after a retrain, or when the item's content changed).
CREATE TABLE item_classes (
    item_id       VARCHAR PRIMARY KEY,
    model_version VARCHAR NOT NULL,
    topics        VARCHAR[] NOT NULL,
    sectors       VARCHAR[] NOT NULL,
    severity      VARCHAR NOT NULL,
    scores        MAP(VARCHAR, DOUBLE) NOT NULL,
    classified_at TIMESTAMPTZ NOT NULL
);

-- What consultants say: append-only history. NULL on an axis means "not said in this label";
-- per item and axis the latest label that says something wins (seq orders the history).
CREATE SEQUENCE item_labels_seq;
CREATE TABLE item_labels (
    seq         BIGINT PRIMARY KEY DEFAULT nextval('item_labels_seq'),
    item_id     VARCHAR NOT NULL,
    topics      VARCHAR[],
    sectors     VARCHAR[],
    severity    VARCHAR,
    labelled_by VARCHAR NOT NULL,
    labelled_at TIMESTAMPTZ NOT NULL,
    note        VARCHAR
);
