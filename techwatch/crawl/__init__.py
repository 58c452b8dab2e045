"""Source kinds that need more than one request: NVD API windows and pages, CSAF ROLIE feeds
and CERT-FR listings. `plan` decides (pure), `run.crawl_source` fetches through the run's
FeedClient. This module stays light: the config imports it for the kind names."""

#: The kinds collect hands to `run.crawl_source` instead of fetching one document.
CRAWL_KINDS: frozenset[str] = frozenset({"nvd-api", "csaf-rolie", "certfr-feed"})
