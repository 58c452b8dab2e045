-- Each distinct product list of an advisory item stored once (techwatch.storage.vulns): an
-- advisory states one list for each of its CVEs, a CERT-FR avis every system for every CVE,
-- so item_vulns held 61 copies of each list on the real advisories. A fact names its list by
-- number (affected_no). item_vulns loses its primary key: the single writer keeps
-- (item_id, vuln_id) unique, and DuckDB vacuums no deleted rows of a table with an index.
CREATE TABLE item_affected (
    item_id  VARCHAR NOT NULL,
    list_no  INTEGER NOT NULL,     -- per item: 0, 1, ... in order of first statement
    affected STRUCT(
        vendor VARCHAR, product VARCHAR, versions VARCHAR[], fixed VARCHAR[],
        cpes VARCHAR[], purl VARCHAR
    )[]
);

INSERT INTO item_affected
SELECT item_id, (row_number() OVER (PARTITION BY item_id ORDER BY first) - 1)::INTEGER, affected
FROM (SELECT item_id, affected, min(rowid) AS first FROM item_vulns GROUP BY item_id, affected)
ORDER BY first;

CREATE TABLE item_vulns_0014 (
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
    refs VARCHAR[]
);

-- Rows keep their order (sighting order: readers skip row groups by rowid ranges).
INSERT INTO item_vulns_0014
SELECT v.item_id, v.vuln_id, v.aliases, v.title, v.description, v.published, v.modified,
       v.cvss, v.cwes, a.list_no, v.kev_date_added, v.kev_due_date, v.kev_required_action,
       v.kev_ransomware, v.kev_vendor, v.kev_product, v.kev_name, v.kev_notes, v.ssvc, v.refs
FROM item_vulns v
LEFT JOIN item_affected a ON a.item_id = v.item_id AND a.affected IS NOT DISTINCT FROM v.affected
ORDER BY v.rowid;

DROP TABLE item_vulns;
ALTER TABLE item_vulns_0014 RENAME TO item_vulns;
