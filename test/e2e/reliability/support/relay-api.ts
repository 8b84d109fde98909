import { TEST_ENV } from "../../../setup/test-env.ts";
import type { RelayProcess } from "../../support/relay-process.ts";

/* The relay's two public faces, as Bandwidth and an operator use them: the callback and the admin API. */

export const CALLBACK_AUTH = `Basic ${btoa(`${TEST_ENV.BANDWIDTH_USERNAME}:${TEST_ENV.BANDWIDTH_PASSWORD}`)}`;
const ADMIN_AUTH = `Bearer ${TEST_ENV.ADMIN_TOKEN}`;

export interface IngestCounts {
	received: number;
	stored: number;
	duplicates: number;
	quarantined: number;
}

export interface CallbackAnswer {
	status: number;
	text: string;
	counts: IngestCounts | null;
}

export async function postCallback(relay: RelayProcess, body: unknown): Promise<CallbackAnswer> {
	const response = await fetch(relay.callbackUrl, {
		method: "POST",
		headers: { authorization: CALLBACK_AUTH, "content-type": "application/json; charset=utf-8" },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(30_000),
	});
	const text = await response.text();
	return { status: response.status, text, counts: response.status === 200 ? (JSON.parse(text) as IngestCounts) : null };
}

/** The CloudEvent as the admin API and the sink see it (DESIGN §5); only what the tests read is typed. */
export interface StoredEvent {
	id: string;
	type: string;
	subject: string;
	data: Record<string, unknown> & { messageId: string; sequence: number; direction: string | null };
}

export interface Delivery {
	/** Null for a first try (src/db/attempts.repository.ts). */
	id: number | null;
	eventId: string;
	attempt: number;
	outcome: string;
	httpStatus: number | null;
	error: string | null;
}

export interface QuarantineItem {
	id: string;
	reason: string;
	raw: unknown;
}

export interface MessageView {
	messageId: string;
	recipients: { recipient: string; status: string; lastEventId: string; errorCode: number | null }[];
	events: StoredEvent[];
	deliveries: Delivery[];
}

export async function adminGet<T>(relay: RelayProcess, path: string): Promise<{ status: number; body: T }> {
	const response = await fetch(`${relay.url}${path}`, {
		headers: { authorization: ADMIN_AUTH },
		signal: AbortSignal.timeout(30_000),
	});
	const text = await response.text();
	if (response.status >= 500) throw new Error(`GET ${path} answered ${response.status}: ${text.slice(0, 300)}`);
	return { status: response.status, body: JSON.parse(text) as T };
}

/** Every item of a list endpoint, following nextCursor to the end. */
export async function adminListAll<T>(relay: RelayProcess, path: string): Promise<T[]> {
	const items: T[] = [];
	let cursor: string | null = null;
	do {
		const separator = path.includes("?") ? "&" : "?";
		const page = `${path}${separator}limit=500${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
		const { status, body } = await adminGet<{ items: T[]; nextCursor: string | null }>(relay, page);
		if (status !== 200) throw new Error(`GET ${page} answered ${status}: ${JSON.stringify(body)}`);
		items.push(...body.items);
		cursor = body.nextCursor;
	} while (cursor !== null);
	return items;
}

/** Runs `task` over `items` with at most `limit` in flight, keeping results in order. */
export async function mapLimit<T, R>(
	items: readonly T[],
	limit: number,
	task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const index = next++;
			results[index] = await task(items[index] as T, index);
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
	return results;
}

/** Polls `probe` until it returns true; on timeout throws with what `describe` says about the state. */
export async function waitUntil(
	probe: () => Promise<boolean> | boolean,
	timeoutMs: number,
	describe: () => string,
	intervalMs = 200,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await probe())) {
		if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${describe()}`);
		await new Promise((resolve) => setTimeout(resolve, intervalMs));
	}
}

/**
 * Polls `count` until it reaches `target`, or stops growing for `quietMs`, or `timeoutMs` passes;
 * returns the last count. For waits whose shortfall the caller reports item by item.
 */
export async function waitForCount(
	count: () => Promise<number> | number,
	target: number,
	{ quietMs = 10_000, timeoutMs = 60_000, intervalMs = 500 } = {},
): Promise<number> {
	const deadline = Date.now() + timeoutMs;
	let last = await count();
	let changedAt = Date.now();
	while (last < target && Date.now() < deadline && Date.now() - changedAt < quietMs) {
		await sleep(intervalMs);
		const now = await count();
		if (now !== last) changedAt = Date.now();
		last = now;
	}
	return last;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** webhook-ids the sink answered 2xx more than once, with their count. */
export function deliveredTwice(ids: readonly (string | undefined)[]): Record<string, number> {
	const counts = new Map<string, number>();
	for (const id of ids) counts.set(id ?? "(none)", (counts.get(id ?? "(none)") ?? 0) + 1);
	return Object.fromEntries([...counts].filter(([, count]) => count > 1));
}
