-- Enrichment: EPSS history, the CVE table, the vendor/product dictionary and its mentions.

-- FIRST EPSS, one row per CVE per scoring day (~300k rows a day). No primary key: its index
-- would have to hold ~100M keys a year in memory; the writer replaces a (cve_id, date) that
-- is loaded again instead, and inserts each day sorted so that zone maps prune by date.
CREATE TABLE epss_scores (
    cve_id     VARCHAR NOT NULL,
    date       DATE NOT NULL,
    score      DOUBLE NOT NULL,
    percentile DOUBLE NOT NULL
);

-- The two latest scores of each CVE, kept by every load, so that nothing reads the history
-- to show a score or a jump. One row per CVE, kept so by the writer: a primary key made the
-- daily upsert of 300k rows four times slower.
CREATE TABLE epss_latest (
    cve_id          VARCHAR NOT NULL,
    date            DATE NOT NULL,
    score           DOUBLE NOT NULL,
    percentile      DOUBLE NOT NULL,
    prev_date       DATE,
    prev_score      DOUBLE,
    prev_percentile DOUBLE
);

-- One row per CVE mentioned by an item: what the items state about it, aggregated
-- (techwatch.enrich.cves). Refreshed after each run for the CVEs its items touch; EPSS is
-- joined from epss_latest when read. One row per CVE, kept so by the writer (it deletes the
-- refreshed CVEs, then inserts them): with a primary key that replacement was five times slower.
CREATE TABLE cves (
    cve_id              VARCHAR NOT NULL,
    title               VARCHAR,
    description         VARCHAR,
    description_from    VARCHAR,    -- source id whose statement was chosen
    published           TIMESTAMPTZ,
    modified            TIMESTAMPTZ,
    cvss_version        VARCHAR,
    cvss_vector         VARCHAR,
    cvss_score          DOUBLE,
    cvss_severity       VARCHAR,
    cvss_source         VARCHAR,
    cwes                VARCHAR[] NOT NULL,
    kev                 BOOLEAN NOT NULL,
    kev_date_added      DATE,
    kev_due_date        DATE,
    kev_required_action VARCHAR,
    kev_ransomware      BOOLEAN,
    exploitation        VARCHAR,    -- SSVC "Exploitation" (none, poc, active) from CISA's ADP
    vendors             VARCHAR[] NOT NULL,
    products            STRUCT(vendor VARCHAR, product VARCHAR)[] NOT NULL,
    first_seen          TIMESTAMPTZ NOT NULL,
    last_seen           TIMESTAMPTZ NOT NULL,
    item_ids            VARCHAR[] NOT NULL,
    items               INTEGER NOT NULL,
    sources             VARCHAR[] NOT NULL,
    refreshed_at        TIMESTAMPTZ NOT NULL
);

-- The vendor/product dictionary learnt from advisories (techwatch.enrich.products); the hand
-- alias table is code. product_key '' is the vendor itself.
CREATE TABLE products (
    vendor_key  VARCHAR NOT NULL,
    product_key VARCHAR NOT NULL,
    vendor      VARCHAR NOT NULL,
    product     VARCHAR NOT NULL,
    names       VARCHAR[] NOT NULL,
    package     BOOLEAN NOT NULL,
    first_seen  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (vendor_key, product_key)
);

-- Vendors and products each item names: in its title or text (recognised), or in the
-- affected products of its advisories. product '' when only the vendor is named.
CREATE TABLE item_products (
    item_id VARCHAR NOT NULL,
    vendor  VARCHAR NOT NULL,
    product VARCHAR NOT NULL,
    term    VARCHAR NOT NULL,
    field   VARCHAR NOT NULL       -- title, text, affected
);
