import type { MessagePlan, PlannedCallback } from "./traffic-plan.ts";

/*
 * Sends the planned callbacks: each message's callbacks one after another (each waits for its
 * answer, as Bandwidth's sender does per callback), up to `concurrency` messages at a time, the
 * whole run paced to `rate` POSTs per second.
 */

export interface SendOptions {
	callbackUrl: string;
	/** The Basic authorization header value. */
	authorization: string;
	/** POSTs per second across the run; 0 = as fast as the answers come. */
	rate: number;
	concurrency: number;
	onProgress?: (stats: SendStats) => void;
}

export interface SendStats {
	/** Every POST, including the unauthenticated first attempts. */
	posts: number;
	/** Authenticated callbacks (the ones that carry events into the relay). */
	callbacks: number;
	/** Unauthenticated first attempts, and how many were answered 401 with a Basic challenge. */
	challenges: number;
	challengesAnswered: number;
	byStatus: { "2xx": number; "401": number; other: number };
	/** Per authenticated callback, milliseconds until the answer. */
	latenciesMs: number[];
	/** The relay's own tally, summed over its 200 answers. */
	ingest: { received: number; stored: number; duplicates: number; quarantined: number };
	problems: string[];
}

const MAX_PROBLEMS = 20;
const REQUEST_TIMEOUT_MS = 15_000;

function pacer(rate: number): () => Promise<void> {
	if (rate <= 0) return async () => {};
	const interval = 1000 / rate;
	let next = performance.now();
	return async () => {
		const now = performance.now();
		const at = Math.max(now, next);
		next = at + interval;
		if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
	};
}

interface Answer {
	status: number;
	challenge: string | null;
	text: string;
	ms: number;
}

async function post(url: string, body: string, authorization: string | null): Promise<Answer> {
	const headers: Record<string, string> = {
		"content-type": "application/json; charset=utf-8",
		"user-agent": "BandwidthAPI/v2",
	};
	if (authorization !== null) headers.authorization = authorization;
	const started = performance.now();
	try {
		const response = await fetch(url, {
			method: "POST",
			headers,
			body,
			signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
		});
		const text = await response.text();
		return {
			status: response.status,
			challenge: response.headers.get("www-authenticate"),
			text,
			ms: performance.now() - started,
		};
	} catch (error) {
		return { status: 0, challenge: null, text: (error as Error).message, ms: performance.now() - started };
	}
}

const INGEST_KEYS = ["received", "stored", "duplicates", "quarantined"] as const;

function tally(text: string): Partial<SendStats["ingest"]> | null {
	try {
		const parsed = JSON.parse(text) as unknown;
		return typeof parsed === "object" && parsed !== null ? (parsed as Partial<SendStats["ingest"]>) : null;
	} catch {
		return null;
	}
}

export async function sendTraffic(plans: readonly MessagePlan[], options: SendOptions): Promise<SendStats> {
	const stats: SendStats = {
		posts: 0,
		callbacks: 0,
		challenges: 0,
		challengesAnswered: 0,
		byStatus: { "2xx": 0, "401": 0, other: 0 },
		latenciesMs: [],
		ingest: { received: 0, stored: 0, duplicates: 0, quarantined: 0 },
		problems: [],
	};
	const pace = pacer(options.rate);
	const problem = (text: string) => {
		if (stats.problems.length < MAX_PROBLEMS) stats.problems.push(text);
	};
	const record = (answer: Answer) => {
		stats.posts++;
		if (answer.status >= 200 && answer.status < 300) stats.byStatus["2xx"]++;
		else if (answer.status === 401) stats.byStatus["401"]++;
		else stats.byStatus.other++;
		options.onProgress?.(stats);
	};

	const challenge = async (message: MessagePlan, callback: PlannedCallback) => {
		await pace();
		const answer = await post(options.callbackUrl, callback.body, null);
		stats.challenges++;
		if (answer.status !== 401) {
			problem(
				`msg ${message.messageId}: unauthenticated attempt answered ${answer.status || answer.text}, expected 401`,
			);
		} else if (!/^Basic\b/i.test(answer.challenge ?? "")) {
			problem(`msg ${message.messageId}: 401 without a WWW-Authenticate Basic challenge; Bandwidth would not retry`);
		} else stats.challengesAnswered++;
		record(answer);
	};

	const deliver = async (message: MessagePlan, callback: PlannedCallback) => {
		await pace();
		const answer = await post(options.callbackUrl, callback.body, options.authorization);
		stats.callbacks++;
		stats.latenciesMs.push(answer.ms);
		if (answer.status >= 200 && answer.status < 300) {
			const counts = tally(answer.text);
			if (counts === null)
				problem(`msg ${message.messageId}: ${answer.status} without the ingest tally: ${answer.text.slice(0, 200)}`);
			else for (const key of INGEST_KEYS) stats.ingest[key] += counts[key] ?? 0;
		} else {
			problem(
				`msg ${message.messageId}: ${callback.element.type} answered ${answer.status || "no response"}: ${answer.text.slice(0, 200)}`,
			);
		}
		record(answer);
	};

	let nextPlan = 0;
	const worker = async () => {
		for (let plan = plans[nextPlan++]; plan !== undefined; plan = plans[nextPlan++]) {
			for (const callback of plan.callbacks) {
				if (callback.challenge) await challenge(plan, callback);
				await deliver(plan, callback);
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(options.concurrency, plans.length) }, worker));
	return stats;
}
