import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { INSIGHT_RETENTION_DAYS, purgeInsights } from "../../src/insights/purge-insights";
import { hourOf } from "../../src/ledger/partitions";

const DAY = 24 * 3_600_000;
const MINUTE = 60_000;

it("keeps hourly rollups 400 days and the alerts' minutes two hours, then deletes them", async () => {
	const now = Date.now();
	const app = crypto.randomUUID();
	const old = hourOf(now - (INSIGHT_RETENTION_DAYS + 1) * DAY);
	const kept = hourOf(now - (INSIGHT_RETENTION_DAYS - 1) * DAY);
	const minute = Math.floor(now / MINUTE);
	await env.DB.batch([
		...[old, kept].flatMap((hour) => [
			env.DB.prepare("INSERT INTO insight_hours (hour, application_id, owner, sent) VALUES (?1, ?2, '+1', 1)").bind(
				hour,
				app,
			),
			env.DB.prepare(
				"INSERT INTO insight_errors (hour, application_id, owner, code, count) VALUES (?1, ?2, '+1', 4470, 1)",
			).bind(hour, app),
		]),
		...[minute - 121, minute - 100].flatMap((at) => [
			env.DB.prepare(
				"INSERT INTO insight_minutes (minute, application_id, owner, delivered) VALUES (?1, ?2, '+1', 1)",
			).bind(at, app),
			env.DB.prepare(
				"INSERT INTO insight_minute_errors (minute, application_id, owner, code, count) VALUES (?1, ?2, '+1', 4470, 1)",
			).bind(at, app),
		]),
	]);
	await purgeInsights(env.DB, now);
	const left = async (table: string, column: string) =>
		(
			await env.DB.prepare(`SELECT ${column} AS at FROM ${table} WHERE application_id = ?1 ORDER BY 1`)
				.bind(app)
				.all<{ at: string | number }>()
		).results.map((row) => row.at);
	expect(await left("insight_hours", "hour")).toEqual([kept]);
	expect(await left("insight_errors", "hour")).toEqual([kept]);
	expect(await left("insight_minutes", "minute")).toEqual([minute - 100]);
	expect(await left("insight_minute_errors", "minute")).toEqual([minute - 100]);
});
