import { ARCHIVE_ROOT, hourPrefix } from "../archive/archive-prefixes";
import { readRetentionConfig } from "../config";
import { log } from "../log";

const DAY_MS = 24 * 60 * 60 * 1000;
/** R2 lists and deletes at most 1,000 keys a call. */
const R2_PAGE = 1000;

export interface ArchivePurgeLimits {
	/** Objects per run: one list and one delete call per 1,000, so a run stays short however far behind. */
	maxDeletes: number;
}

export const DEFAULT_ARCHIVE_PURGE_LIMITS: ArchivePurgeLimits = { maxDeletes: 1000 };

export interface ArchivePurgeReport {
	/** Objects whose key sorts before this hour prefix are past ARCHIVE_RETENTION_DAYS. */
	before: string;
	deleted: number;
	/** False when the limit stopped the run with expired objects left for the next one. */
	complete: boolean;
}

export type ArchivePurgeResult =
	| { ok: true; value: ArchivePurgeReport }
	| { ok: false; reason: "archive_not_configured" | "config_invalid" };

/**
 * Deletes the archive's oldest objects, whole hours at a time, once the hour is older than
 * ARCHIVE_RETENTION_DAYS. Keys sort chronologically, so the walk lists from the start of
 * `events/` and stops at the first newer key: it never reads what it keeps beyond one page.
 */
export async function purgeArchive(
	env: Pick<Env, "ARCHIVE_RETENTION_DAYS"> & Partial<Pick<Env, "ARCHIVE">>,
	now: number,
	limits: ArchivePurgeLimits = DEFAULT_ARCHIVE_PURGE_LIMITS,
): Promise<ArchivePurgeResult> {
	const archive = env.ARCHIVE;
	if (archive === undefined) return { ok: false, reason: "archive_not_configured" };
	const config = readRetentionConfig(env);
	if (!config.ok) {
		// A guessed period could delete history the operator meant to keep.
		log.error("config_invalid", { message: config.message });
		return { ok: false, reason: "config_invalid" };
	}
	const before = hourPrefix(now - config.value.archiveRetentionDays * DAY_MS);
	let deleted = 0;
	let cursor: string | undefined;
	let complete = false;
	while (deleted < limits.maxDeletes) {
		const page = await archive.list({
			prefix: ARCHIVE_ROOT,
			limit: Math.min(R2_PAGE, limits.maxDeletes - deleted),
			...(cursor === undefined ? {} : { cursor }),
		});
		const keys: string[] = [];
		for (const object of page.objects) {
			if (object.key >= before) {
				complete = true;
				break;
			}
			keys.push(object.key);
		}
		if (keys.length > 0) await archive.delete(keys);
		deleted += keys.length;
		if (complete || !page.truncated) {
			complete = true;
			break;
		}
		cursor = page.cursor;
	}
	const report = { before, deleted, complete };
	if (deleted > 0) log.info("archive_purged", { ...report });
	return { ok: true, value: report };
}
