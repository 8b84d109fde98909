import { DurableObject } from "cloudflare:workers";
import { readAlertConfig } from "../config";
import { webhookRequest } from "../forward/webhook-request";
import { errorMessage, log } from "../log";
import { meter } from "../meter/meter";
import { MeteredStorage } from "../meter/metered-storage";
import { type AlertEvent, alertText } from "./alert-message";
import { ALERT_POLICIES, type AlertType, MAX_SAMPLE_IDS, type RaisedAlert } from "./alert-types";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pending (
  type TEXT NOT NULL,
  key TEXT NOT NULL,
  count INTEGER NOT NULL,          -- occurrences not yet sent
  ids TEXT NOT NULL,               -- JSON array, at most MAX_SAMPLE_IDS
  data TEXT NOT NULL,              -- the latest raise's details
  first_at INTEGER,                -- the first raise not yet sent
  sent_at INTEGER,                 -- the last alert sent for this key
  failures INTEGER NOT NULL DEFAULT 0,
  retry_at INTEGER,                -- after a failed send
  PRIMARY KEY (type, key)
)`;

const SEND_TIMEOUT_MS = 10_000;
const RETRY_FIRST_MS = 60_000;
const RETRY_MAX_MS = 30 * 60_000;

type Row = {
	type: AlertType;
	key: string;
	count: number;
	ids: string;
	data: string;
	first_at: number | null;
	sent_at: number | null;
	retry_at: number | null;
	failures: number;
};

/** When a row's alert may go: after its gather time, its window since the last one, and any retry wait. */
function dueAt(row: Row): number | null {
	if (row.count === 0 || row.first_at === null) return null;
	const policy = ALERT_POLICIES[row.type];
	return Math.max(row.first_at + policy.gatherMs, (row.sent_at ?? -Infinity) + policy.windowMs, row.retry_at ?? 0);
}

/**
 * The alert desk: one object that counts raises per (type, key) and sends one alert per window
 * to ALERT_URL, signed like a forward, retrying a failed send on a backoff. Nothing waits on it.
 */
export class AlertDesk extends DurableObject<Env> {
	/** Every statement and alarm through the cost meter. */
	#storage: MeteredStorage;
	#flushing: Promise<number> | null = null;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.#storage = new MeteredStorage(ctx.storage);
		this.#storage.run(SCHEMA);
	}

	async raise(alert: RaisedAlert): Promise<void> {
		meter.add("doRequests");
		const now = Date.now();
		const [row] = this.#storage.all<Row>("SELECT * FROM pending WHERE type = ? AND key = ?", alert.type, alert.key);
		const ids = [...new Set([...(row ? (JSON.parse(row.ids) as string[]) : []), ...(alert.ids ?? [])])].slice(
			0,
			MAX_SAMPLE_IDS,
		);
		const firstAt = row && row.count > 0 && row.first_at !== null ? row.first_at : now;
		this.#storage.run(
			`INSERT INTO pending (type, key, count, ids, data, first_at) VALUES (?, ?, ?, ?, ?, ?)
			 ON CONFLICT (type, key) DO UPDATE SET count = count + excluded.count, ids = excluded.ids,
			   data = excluded.data, first_at = excluded.first_at`,
			alert.type,
			alert.key,
			alert.count,
			JSON.stringify(ids),
			JSON.stringify(alert.data),
			firstAt,
		);
		await this.#arm();
	}

	/**
	 * Sends every alert due at `now`: the alarm's work, callable with another `now` by tests. One
	 * flush at a time, so an alert is never sent twice by two overlapping ones.
	 */
	flush(now: number): Promise<number> {
		meter.add("doRequests");
		this.#flushing ??= this.#flush(now).finally(() => {
			this.#flushing = null;
		});
		return this.#flushing;
	}

	async #flush(now: number): Promise<number> {
		let sent = 0;
		for (const row of this.#storage.all<Row>("SELECT * FROM pending WHERE count > 0")) {
			const due = dueAt(row);
			if (due === null || due > now) continue;
			if (await this.#send(row, now)) sent += 1;
		}
		await this.#arm();
		return sent;
	}

	override async alarm(): Promise<void> {
		try {
			await this.flush(Date.now());
		} catch (error) {
			log.error("alert_desk_failed", { error: errorMessage(error) });
			await this.#storage.setAlarm(Date.now() + RETRY_FIRST_MS);
		}
	}

	async #send(row: Row, now: number): Promise<boolean> {
		const event: AlertEvent = {
			specversion: "1.0",
			id: `alrt_${crypto.randomUUID()}`,
			source: "bandwidth-relay",
			type: row.type,
			subject: row.key,
			time: new Date(now).toISOString(),
			datacontenttype: "application/json",
			data: {
				...(JSON.parse(row.data) as Record<string, unknown>),
				count: row.count,
				sampleIds: JSON.parse(row.ids) as string[],
				since: new Date(row.first_at ?? now).toISOString(),
			},
		};
		const error = await this.#post(event);
		if (error === null) {
			// Raises that came in while the POST was out stay pending, counted from now: only what
			// this alert carried is taken off.
			const [current] = this.#storage.all<Row>("SELECT * FROM pending WHERE type = ? AND key = ?", row.type, row.key);
			const sentIds = new Set(JSON.parse(row.ids) as string[]);
			const left = (current?.count ?? row.count) - row.count;
			const idsLeft = (JSON.parse(current?.ids ?? "[]") as string[]).filter((id) => !sentIds.has(id));
			this.#storage.run(
				`UPDATE pending SET count = ?, ids = ?, first_at = ?, sent_at = ?, failures = 0, retry_at = NULL
				 WHERE type = ? AND key = ?`,
				left,
				JSON.stringify(idsLeft),
				left > 0 ? now : null,
				now,
				row.type,
				row.key,
			);
			log.info("alert_sent", { type: row.type, key: row.key, count: row.count });
			return true;
		}
		const retryInMs = Math.min(RETRY_FIRST_MS * 2 ** row.failures, RETRY_MAX_MS);
		this.#storage.run(
			"UPDATE pending SET failures = failures + 1, retry_at = ? WHERE type = ? AND key = ?",
			now + retryInMs,
			row.type,
			row.key,
		);
		log.error("alert_delivery_failed", { type: row.type, key: row.key, failures: row.failures + 1, retryInMs, error });
		return false;
	}

	/** Null when the alert went out (2xx); otherwise why not. */
	async #post(event: AlertEvent): Promise<string | null> {
		const config = readAlertConfig(this.env);
		if (!config.ok) return `alerting is misconfigured: ${config.message}`;
		if (config.value.url === null) return "ALERT_URL is not set";
		const json = JSON.stringify(event);
		const request =
			config.value.format === "slack"
				? { headers: { "content-type": "application/json" }, body: JSON.stringify({ text: alertText(event) }) }
				: await webhookRequest(config.value.signingSecrets, event.id, json);
		try {
			const response = await fetch(config.value.url, {
				method: "POST",
				headers: request.headers,
				body: request.body,
				signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
			});
			await response.body?.cancel();
			return response.ok ? null : `HTTP ${response.status}`;
		} catch (error) {
			return errorMessage(error);
		}
	}

	async #arm(): Promise<void> {
		const dues = this.#storage
			.all<Row>("SELECT * FROM pending WHERE count > 0")
			.map(dueAt)
			.filter((due): due is number => due !== null);
		if (dues.length === 0) return;
		const next = Math.min(...dues);
		const current = await this.ctx.storage.getAlarm();
		if (current === null || current > next) await this.#storage.setAlarm(next);
	}
}
