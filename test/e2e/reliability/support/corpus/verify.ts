import { cloudEventProblems } from "../cloud-event-shape.ts";
import type { RawResponse } from "../http-exchange.ts";
import { jsonOf } from "../http-exchange.ts";
import type { QuarantineItem, StoredEvent } from "../relay-api.ts";
import { type CorpusCase, MARKER, MAX_ROW_BYTES } from "./model.ts";

/*
 * Judging the relay against the cases: each function returns what is wrong, one line per problem,
 * each line starting with the case's name.
 */

const CHALLENGE = 'Basic realm="bandwidth-relay"';

/** The answer to one case: status, and the documented body and headers for that status. */
export function answerProblems(corpusCase: CorpusCase, response: RawResponse): string[] {
	const { expect } = corpusCase;
	const problems: string[] = [];
	const status = expect.kind === "rejected" ? expect.status : 200;
	if (response.status !== status) {
		return [`answered ${response.status} ${response.text.slice(0, 300)}, expected ${status}`];
	}
	const body = jsonOf(response);
	if (expect.kind === "accepted") {
		if (JSON.stringify(body) !== JSON.stringify(expect.counts)) {
			problems.push(`counts ${response.text}, expected ${JSON.stringify(expect.counts)}`);
		}
		return problems;
	}
	if (corpusCase.request.method !== "HEAD") {
		if (!String(response.headers["content-type"]).startsWith("application/json")) {
			problems.push(`content-type ${response.headers["content-type"]}`);
		}
		const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
		const keys = error === undefined ? [] : Object.keys(body as object);
		if (
			error?.code !== expect.code ||
			typeof error.message !== "string" ||
			error.message === "" ||
			keys.join() !== "error"
		) {
			problems.push(`body ${response.text.slice(0, 300)}, expected {"error":{"code":"${expect.code}","message":…}}`);
		}
	}
	if (status === 401 && response.headers["www-authenticate"] !== CHALLENGE) {
		problems.push(`WWW-Authenticate ${response.headers["www-authenticate"]}`);
	}
	if (status === 405 && !String(response.headers.allow).includes("POST"))
		problems.push(`Allow ${response.headers.allow}`);
	return problems;
}

/** Stored elements are in D1 once, untouched and well-formed; rejected ones are not there at all. */
export function storageProblems(cases: readonly CorpusCase[], events: readonly StoredEvent[]): string[] {
	const bySubject = new Map<string, StoredEvent[]>();
	for (const event of events) bySubject.set(event.subject, [...(bySubject.get(event.subject) ?? []), event]);
	const problems: string[] = [];
	for (const event of events) {
		// The normalized event is the bulk of its row; the other columns are bounded identifiers.
		const bytes = Buffer.byteLength(JSON.stringify(event));
		if (bytes > MAX_ROW_BYTES) problems.push(`event ${event.id}: ${bytes} bytes, over ${MAX_ROW_BYTES}`);
	}
	for (const corpusCase of cases) {
		const say = (problem: string) => problems.push(`${corpusCase.name}: ${problem}`);
		for (const id of corpusCase.notStored) {
			if (bySubject.has(id)) say(`message ${JSON.stringify(id)} was stored, but the request was rejected`);
		}
		if (corpusCase.expect.kind !== "accepted") continue;
		for (const probe of corpusCase.expect.stored) {
			const found = bySubject.get(probe.messageId) ?? [];
			const label = `message ${JSON.stringify(probe.messageId).slice(0, 80)}`;
			if (found.length !== 1) {
				say(`${label}: ${found.length} events in D1, expected 1`);
				continue;
			}
			const event = found[0] as StoredEvent;
			if (event.type !== probe.type) say(`${label}: type ${event.type}, expected ${probe.type}`);
			if (event.data.direction !== probe.direction) {
				say(`${label}: data.direction ${JSON.stringify(event.data.direction)}, expected ${probe.direction}`);
			}
			if (JSON.stringify(event.data.bandwidth) !== probe.bandwidthJson)
				say(`${label}: data.bandwidth is not the element as sent`);
			for (const problem of cloudEventProblems(event)) say(`${label} ${event.id}: ${problem}`);
		}
	}
	return problems;
}

function markerOf(raw: unknown): string | undefined {
	if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
	const marker = (raw as Record<string, unknown>)[MARKER];
	return typeof marker === "string" ? marker : undefined;
}

/**
 * Each quarantined element has its row with a reason naming the path; rejected requests left none;
 * every row fits D1's row limit (README), which the local D1 would not enforce by itself.
 */
export function quarantineProblems(cases: readonly CorpusCase[], rows: readonly QuarantineItem[]): string[] {
	const problems: string[] = [];
	for (const row of rows) {
		const bytes = Buffer.byteLength(JSON.stringify(row.raw)) + Buffer.byteLength(row.reason);
		if (bytes > MAX_ROW_BYTES) problems.push(`quarantine row ${row.id}: ${bytes} bytes, over ${MAX_ROW_BYTES}`);
	}
	const rejectedNames = new Set(cases.filter((c) => c.expect.kind === "rejected").map((c) => c.name));
	for (const row of rows) {
		const marker = markerOf(row.raw)?.replace(/#.*$/, "");
		if (marker !== undefined && rejectedNames.has(marker)) {
			problems.push(`${marker}: the request was rejected, yet quarantine row ${row.id} holds its element`);
		}
	}
	for (const corpusCase of cases) {
		if (corpusCase.expect.kind !== "accepted") continue;
		for (const probe of corpusCase.expect.quarantined) {
			const matching = rows.filter((row) => probe.matches(row.raw));
			const say = (problem: string) => problems.push(`${corpusCase.name}: ${probe.label}: ${problem}`);
			if (matching.length === 0) say("no quarantine row");
			else if (probe.unique && matching.length > 1) say(`${matching.length} quarantine rows, expected 1`);
			else if (!matching.some((row) => probe.reason.test(row.reason))) {
				say(`reason ${JSON.stringify(matching[0]?.reason)} does not match ${probe.reason}`);
			}
		}
	}
	return problems;
}
