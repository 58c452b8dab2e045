"""Enrichment after each run: the CVE table, the vendor/product dictionary and its mentions.

`names` normalises vendor and product names, `aliases` is the hand-written alias table,
`products` builds the dictionary and recognises it in free text, `cves` aggregates what items
state about each CVE; `refresh` is the one call the flow and the importer make.
"""
