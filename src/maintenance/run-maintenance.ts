import { raiseAlert } from "../alerts/raise-alert";
import { alertDeliverability } from "../insights/deliverability-alerts";
import { readInsightMarks, recordInsights } from "../insights/record-insights";
import type { MaintainReport } from "../ledger/ledger-rpc";
import { log } from "../log";
import { flushCallbacks } from "../metrics/record-metrics";
import { enforceBudget } from "./enforce-budget";
import { maintainLedgers } from "./maintain-ledgers";
import { purgeArchive } from "./purge-archive";
import { purgeRetention } from "./purge-expired";

/** Copies that wait this long mean D1 or the queue has refused them for a while, not a blip. */
export const OUTBOX_STALLED_MS = 10 * 60 * 1000;

export async function alertStalledOutboxes(env: Env, reports: readonly MaintainReport[], now: number): Promise<void> {
	const stalled = reports.filter(
		(report) => report.outboxSince !== null && now - report.outboxSince >= OUTBOX_STALLED_MS,
	);
	if (stalled.length === 0) return;
	const oldest = Math.min(...stalled.map((report) => report.outboxSince ?? now));
	const rows = stalled.reduce((sum, report) => sum + report.outbox, 0);
	log.warn("ledger_outbox_stalled", { ledgers: stalled.length, rows, oldest: new Date(oldest).toISOString() });
	await raiseAlert(env, {
		type: "relay.outbox.stalled",
		key: "outbox",
		count: 1,
		data: { ledgers: stalled.length, rows, oldest: new Date(oldest).toISOString() },
	});
}

/** Ledgers whose archive write failed this run: their hours wait, and the operator is told once an hour. */
export async function alertArchiveFailures(env: Env, reports: readonly MaintainReport[]): Promise<void> {
	const failing = reports.filter((report) => report.archiveError !== null);
	if (failing.length === 0) return;
	const oldest = failing.map((report) => report.archivedThrough ?? "").sort()[0] ?? null;
	await raiseAlert(env, {
		type: "relay.archive.failing",
		key: "archive",
		count: failing.length,
		data: { ledgers: failing.length, oldestHourWaiting: oldest, error: failing[0]?.archiveError ?? null },
	});
}

/**
 * The cron (every minute). The ledgers go first: they archive the closed hours and check their
 * handoffs in D1, and how far they got bounds what retention and the byte budget may take out of
 * D1 — an event leaves D1 only once it is in the archive, and never before its ledger has found it.
 */
export async function runMaintenance(env: Env, now: number): Promise<void> {
	// The callbacks' metrics window of this isolate, if it is due (its clock, not the scheduled time).
	flushCallbacks(env);
	const marks = await readInsightMarks(env.DB);
	const ledgers = await maintainLedgers(env, now, marks);
	// The insight counts the ledgers handed over, then the alerts on the window they complete.
	await recordInsights(env.DB, marks, ledgers.reports, now);
	if (marks !== null) await alertDeliverability(env, now);
	const archived = ledgers.reports.reduce((sum, report) => sum + report.archivedEvents, 0);
	if (archived > 0 || ledgers.failed > 0) {
		log.info("ledgers_maintained", {
			archivedEvents: archived,
			failed: ledgers.failed,
			archivedBefore: ledgers.archivedBefore,
		});
	}
	await alertStalledOutboxes(env, ledgers.reports, now);
	await alertArchiveFailures(env, ledgers.reports);
	const bounds = { archivedBefore: ledgers.archivedBefore, verifiedBefore: ledgers.verifiedBefore };
	await purgeRetention(env, now, bounds);
	await enforceBudget(env, now, bounds);
	if (env.ARCHIVE !== undefined) await purgeArchive(env, now);
}
