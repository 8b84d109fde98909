-- 0003: replays one at a time (issue 10).
--
-- A lease is one row per thing held. Taking it is one statement (an upsert that overwrites only an
-- expired row), so two Workers cannot both hold it; a holder that crashes holds it only until
-- `expires_at`. `POST /v1/replay` holds `replay` while it runs (src/forward/replay.ts).
--
-- A replay's claim on an event needs no table: it is the `replayed` deliveries row, written by one
-- INSERT … SELECT that takes only events still dead and unclaimed (src/db/deliveries.repository.ts).

CREATE TABLE leases (
  name TEXT NOT NULL PRIMARY KEY,     -- what is held: 'replay'
  holder TEXT NOT NULL,               -- random per holder: only the holder gives it back
  expires_at TEXT NOT NULL            -- UTC ISO; from then on anyone may take it
) WITHOUT ROWID;
