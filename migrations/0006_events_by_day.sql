-- 0006: events in one table per day, without secondary indexes (issue 18, docs/capacity.md).
--
-- An insert into `events` wrote 3 rows (the row and its two index entries), and its delete at
-- retention or by the byte budget 1–3 more. New events go to `events_YYYYMMDD` (the UTC day of the
-- hour their ledger files them under, i.e. of their receipt), WITHOUT ROWID on (message_id, id)
-- and nothing else: an insert writes 1 row; retention drops a whole day (DROP TABLE writes none);
-- the budget deletes from the oldest day, 1 row per event. The Worker creates a day's table with
-- its first event (src/db/event-tables.ts); nothing here can, since the names are dates.
--
-- `events` stays as it is, the legacy partition: every reader reads it beside the day tables,
-- nothing writes it any more, retention and the budget empty it on its own indexes as before and
-- drop it once empty. Nothing of an old deployment is moved, nor lost.

-- Derived from `events` alone, it would show only the legacy rows: statuses are computed from a
-- message's events in every table now (src/db/message-status.repository.ts).
DROP VIEW message_status;

-- D1 finds an event by (message_id, id); by id alone it must scan every day. A dead event always
-- has a deliveries row, so its row carries the message: the dead list and a replay look the event
-- up by key. Rows from before are given theirs from the legacy table (one row written per
-- deliveries row, which only failures, deaths and replays have).
ALTER TABLE deliveries ADD COLUMN message_id TEXT;
UPDATE deliveries SET message_id = (SELECT e.message_id FROM events e WHERE e.id = deliveries.event_id);
