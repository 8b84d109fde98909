-- 0009: erasure tombstones (issue 17).
--
-- An erasure removes a message from the ledgers, D1, the archive and media, but copies already in
-- flight — a Worker's D1 write after its callback, a ledger's drain, a consumer recording an
-- attempt — could land after it and put the message back. The erasure first writes one row here
-- per message; an event row received before it, and an attempt row of such an event, is then
-- never inserted. A Bandwidth retry of an erased event, received after, is a new event and is
-- kept. Rows go with RETENTION_DAYS (src/maintenance/purge-expired.ts): in-flight copies end long
-- before (a queued forward's retries span about 28 hours).
CREATE TABLE erased_messages (
  message_id TEXT NOT NULL PRIMARY KEY,
  erased_at TEXT NOT NULL            -- UTC ISO, compared with the events' received_at
) WITHOUT ROWID;
