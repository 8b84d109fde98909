/**
 * How long a test waits for background work (a queue delivery, a ledger drain, an alarm). Generous
 * on purpose: the whole suite shares the machine with `wrangler dev` runs, and a wait only costs
 * its full length when the thing waited for never happens. Speed is measured in `npm run bench`.
 */
export const BACKGROUND_WAIT_MS = 20_000;
