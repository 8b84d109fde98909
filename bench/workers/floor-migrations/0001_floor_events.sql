-- The job floor's only D1 table: one row per event, no keys beyond the rowid, no indexes.
CREATE TABLE floor_events (message_id TEXT NOT NULL, body TEXT NOT NULL);
