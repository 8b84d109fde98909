-- 0004: quarantine rows an erasure can find, and a reprocess that cannot store an event twice
-- (issue 10, items 9 and 11).
--
-- Erasure of a message removes its quarantined elements too (src/erase). Nothing else looks a
-- quarantine row up by its message, so without an index each erasure would read every row, and
-- quarantine is where garbage traffic lands. The index costs one row written per quarantined
-- element, which the valid path never pays. The CASE keeps an insert from failing on a row that
-- is not JSON (json_extract would raise): such a row is simply not indexed under any message.
-- Queries must spell the expression exactly like this to use the index
-- (QUARANTINE_MESSAGE_ID in src/db/quarantine.repository.ts).
CREATE INDEX quarantine_message ON quarantine (
  (CASE WHEN json_valid(raw_json) THEN json_extract(raw_json, '$.message.id') END)
);

-- What a reprocess stored, or found already held: the event's id (an element is one event).
-- A row whose outcome is `stored` or `duplicate` is never run through ingest again: once its
-- ledger has forgotten the event (DEDUPE_DAYS), a second run would store and forward it again.
ALTER TABLE quarantine ADD COLUMN reprocess_event_id TEXT;
