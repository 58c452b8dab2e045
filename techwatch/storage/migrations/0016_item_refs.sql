-- Each advisory item's distinct reference links stored once (techwatch.storage.vulns): a
-- CERT-FR avis repeats its vendor links for each of its CVEs, so item_vulns held 64 MB of
-- links on the real advisories. A fact names its links by position in its item's list
-- (ref_nos, 1-based, in the fact's order); readers get the same `refs` through facts_sql.
CREATE TABLE item_refs (
    item_id VARCHAR NOT NULL,
    refs    VARCHAR[]              -- the item's distinct links, in order of first statement
);

INSERT INTO item_refs
SELECT item_id, list(ref ORDER BY first)
FROM (
    SELECT item_id, ref, min(row * 1000000 + pos) AS first
    FROM (
        SELECT rowid AS row, item_id, unnest(refs) AS ref, unnest(range(1, len(refs) + 1)) AS pos
        FROM item_vulns
    )
    GROUP BY item_id, ref
)
GROUP BY item_id
ORDER BY min(first);

CREATE TABLE item_vulns_0016 (
    item_id VARCHAR NOT NULL,
    vuln_id VARCHAR NOT NULL,
    aliases VARCHAR[],
    title VARCHAR,
    description VARCHAR,
    published TIMESTAMPTZ,
    modified TIMESTAMPTZ,
    cvss STRUCT(
        version VARCHAR, vector VARCHAR, base_score DOUBLE, severity VARCHAR,
        source VARCHAR, problem VARCHAR
    )[],
    cwes VARCHAR[],
    affected_no INTEGER,           -- item_affected.list_no of this item
    kev_date_added DATE,
    kev_due_date DATE,
    kev_required_action VARCHAR,
    kev_ransomware BOOLEAN,
    kev_vendor VARCHAR,
    kev_product VARCHAR,
    kev_name VARCHAR,
    kev_notes VARCHAR,
    ssvc STRUCT(point VARCHAR, value VARCHAR)[],
    ref_nos INTEGER[]              -- positions in item_refs.refs of this item
);

-- Rows keep their order (sighting order: readers skip row groups by rowid ranges).
INSERT INTO item_vulns_0016
SELECT v.* EXCLUDE (refs),
       list_transform(v.refs, lambda x: list_position(r.refs, x))::INTEGER[]
FROM item_vulns v
LEFT JOIN item_refs r ON r.item_id = v.item_id
ORDER BY v.rowid;

DROP TABLE item_vulns;
ALTER TABLE item_vulns_0016 RENAME TO item_vulns;
