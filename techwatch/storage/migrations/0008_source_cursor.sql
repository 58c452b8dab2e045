-- Crawl kinds (nvd-api, csaf-rolie, certfr-feed) remember where the next run starts: a JSON
-- text written and read by techwatch.crawl (a lastModified bound, a ROLIE position, seen links).
ALTER TABLE source_state ADD COLUMN cursor VARCHAR;
