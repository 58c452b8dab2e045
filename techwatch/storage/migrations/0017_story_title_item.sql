-- The item a story's title comes from, with what ranks it (techwatch.storage.stories): a
-- story an item joins is refreshed from its stored row and the new items, comparing them with
-- this item, instead of being recomputed from all its items (a scan of every stored item per
-- chunk of a first grouping). NULL: not known, the story is recomputed from its items when
-- next touched (then the columns are filled).
ALTER TABLE stories ADD COLUMN title_item VARCHAR;
ALTER TABLE stories ADD COLUMN title_source VARCHAR;
ALTER TABLE stories ADD COLUMN title_seen TIMESTAMPTZ;  -- the item's date, as first_seen counts

-- Filled where the stored title is the one a recomputation gives now (the title preference of
-- storage.stories.TITLE_PREFERENCE when this migration was written); elsewhere left NULL.
UPDATE stories SET title_item = k.best.item, title_source = k.best.source, title_seen = k.best.seen
FROM (
    SELECT m.story_id,
           arg_min({'title': m.title, 'item': m.id, 'source': m.source_id, 'seen': m.seen},
                   {'rank': coalesce(list_position(['advisory', 'vendor', 'regulation', 'status',
                                                    'press', 'blog'], m.category), 99),
                    'seen': m.seen, 'id': m.id}) AS best
    FROM (
        SELECT si.story_id, i.id, i.source_id, i.title, src.category,
               least(coalesce(i.published, i.first_seen), i.first_seen) AS seen
        FROM story_items si JOIN items i ON i.id = si.item_id
        LEFT JOIN sources src ON src.id = i.source_id
    ) m
    GROUP BY m.story_id
) k
WHERE stories.story_id = k.story_id AND stories.title = k.best.title;
