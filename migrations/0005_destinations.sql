-- 0005: several destinations (issue 11).
--
-- An event's destinations are decided when it is accepted and stored with it (a JSON array of
-- names), so that a later change of filters does not re-route it and a replay knows where it went.
-- NULL: an event from before this migration, which went to the one FORWARD_URL ("default").
ALTER TABLE events ADD COLUMN destinations TEXT;

-- Each (event, destination) is its own delivery: attempts, outcome, dead state and replay.
-- Rows from before were all for FORWARD_URL.
ALTER TABLE deliveries ADD COLUMN destination TEXT NOT NULL DEFAULT 'default';
