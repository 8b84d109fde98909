-- 0007: every attempt visible, first tries included (issue 19).
--
-- A first-try success (delivered, or skipped: matched no destination) is no longer only counted:
-- each consumer batch writes its first-try outcomes as one row per UTC minute of its events'
-- receipt into a per-day table `attempts_YYYYMMDD` (created by the consumer on the day's first
-- write, dropped whole by retention; src/db/attempts.repository.ts). The hourly counters that row
-- replaces go. A row per attempt, with its indexes, would cost four rows written per event.
DROP TABLE delivery_counts;

-- A failed attempt's next try (UTC ISO), or a replay's claim held by a destination's gate until
-- then. A claim's `at` stays the time it was made, so a message's attempts read in order.
ALTER TABLE deliveries ADD COLUMN next_at TEXT;
