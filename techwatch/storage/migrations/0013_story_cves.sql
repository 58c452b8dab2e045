-- The CVEs of grouped items, one row each (techwatch.storage.stories): a chunk's CVE candidates
-- are found in this narrow table instead of unnesting every stored item's CVE list, a cost
-- that grew with the store on every chunk of a first grouping. Derived data, written with
-- story_items: an item's rows are replaced when it is grouped again.
CREATE TABLE story_cves (
    cve     VARCHAR NOT NULL,
    item_id VARCHAR NOT NULL,
    seen    TIMESTAMPTZ NOT NULL     -- the item's date (publication, else first sighting)
);

INSERT INTO story_cves
SELECT DISTINCT cve, id, seen FROM (
    SELECT unnest(i.cves) AS cve, i.id, least(coalesce(i.published, i.first_seen), i.first_seen) AS seen
    FROM items i JOIN story_items s ON s.item_id = i.id
    WHERE len(i.cves) > 0
);
