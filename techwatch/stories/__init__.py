"""Stories: the items of many sources that report one event, grouped night after night.

    neardup.py   text -> shingles, MinHash band keys (candidate retrieval), exact similarity
    evidence.py  why two items tell the same story: shared canonical URL, CVE lists, near text
    grouping.py  pure incremental planner: new items join, found or merge stories
    run.py       the I/O edge: load pending items and candidates, plan, store (one call)

This package's `__init__` imports nothing, so the store can use the records of grouping.py
without an import cycle (grouping -> storage -> grouping).
"""
