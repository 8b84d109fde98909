import { log } from "../log";
import { enforceBudget } from "./enforce-budget";
import { maintainLedgers } from "./maintain-ledgers";
import { purgeArchive } from "./purge-archive";
import { purgeRetention } from "./purge-expired";

/**
 * The cron (every minute). The ledgers go first: they archive the closed hours, and how far
 * they got bounds what retention and the byte budget may take out of D1 — an event leaves D1
 * only once it is in the archive.
 */
export async function runMaintenance(env: Env, now: number): Promise<void> {
	const ledgers = await maintainLedgers(env, now);
	const archived = ledgers.reports.reduce((sum, report) => sum + report.archivedEvents, 0);
	if (archived > 0 || ledgers.failed > 0) {
		log.info("ledgers_maintained", {
			archivedEvents: archived,
			failed: ledgers.failed,
			archivedBefore: ledgers.archivedBefore,
		});
	}
	await purgeRetention(env, now, ledgers.archivedBefore);
	await enforceBudget(env, now, ledgers.archivedBefore);
	if (env.ARCHIVE !== undefined) await purgeArchive(env, now);
}
