import { readdirSync, readFileSync } from "node:fs";
import { referenceEventId } from "../scripts/lib/reference-event-id.ts";

/*
 * Callback bodies built from the real samples in test/fixtures/bandwidth, each element with a
 * fresh message id, so every request costs what a new message costs (a new ledger object). The
 * floor and the relay get the same sequence of templates.
 */

const FIXTURES = new URL("../test/fixtures/bandwidth/", import.meta.url);
const ID_PLACEHOLDER = "__bench_message_id__";

export interface Template {
	name: string;
	/** Compact JSON split around the message id. */
	before: string;
	after: string;
	type: string;
	to: string;
	time: string;
}

export interface BenchEvent {
	messageId: string;
	/** The relay's id for this event (DESIGN §4): the webhook-id it must forward it under. */
	eventId: string;
}

export interface Payload {
	body: string;
	events: BenchEvent[];
	/** True when this body was sent before (duplicate-heavy mix). */
	repeat: boolean;
}

type Element = { type?: unknown; to?: unknown; time?: unknown; message?: { id?: unknown } };

function templateOf(name: string, element: Element): Template | null {
	if (typeof element.type !== "string" || typeof element.message?.id !== "string") return null;
	const json = JSON.stringify({ ...element, message: { ...element.message, id: ID_PLACEHOLDER } });
	const [before, after] = json.split(`"${ID_PLACEHOLDER}"`) as [string, string];
	return {
		name,
		before: `${before}"`,
		after: `"${after}`,
		type: element.type,
		to: typeof element.to === "string" ? element.to : "",
		time: typeof element.time === "string" ? element.time : "",
	};
}

export function loadTemplates(): Template[] {
	const templates: Template[] = [];
	for (const file of readdirSync(FIXTURES).sort()) {
		if (!file.endsWith(".json")) continue;
		const parsed: unknown = JSON.parse(readFileSync(new URL(file, FIXTURES), "utf8"));
		for (const element of Array.isArray(parsed) ? parsed : [parsed]) {
			const template = templateOf(file, element as Element);
			if (template !== null) templates.push(template);
		}
	}
	return templates;
}

/** Deterministic, so two workers given the same seed see the same mix. */
function mulberry32(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

let runCounter = 0;

export interface PayloadOptions {
	batchSize: number;
	/** Share of requests that resend an earlier body unchanged (0–1). */
	repeatRatio: number;
	seed: number;
	/** Grows the message text so a batch reaches about this many bytes (memory scenario). */
	padToBytes?: number;
}

/** Bandwidth-style ids (29 characters), unique per bench process and generator. */
function idSource(): () => string {
	runCounter += 1;
	const prefix = `${Date.now().toString(36)}b${runCounter.toString(36)}x`;
	let counter = 0;
	return () => {
		counter += 1;
		return `${prefix}${counter.toString(36).padStart(29 - prefix.length, "0")}`;
	};
}

function padding(templates: readonly Template[], options: PayloadOptions): string {
	if (options.padToBytes === undefined) return "";
	const average = templates.reduce((sum, t) => sum + t.before.length + t.after.length + 29, 0) / templates.length;
	const perEvent = Math.floor(options.padToBytes / options.batchSize - average - 2);
	return "x".repeat(Math.max(perEvent, 0));
}

export function payloadGenerator(templates: readonly Template[], options: PayloadOptions): () => Payload {
	const random = mulberry32(options.seed);
	const nextId = idSource();
	const sent: Payload[] = [];
	const pad = padding(templates, options);
	let cursor = 0;
	return () => {
		if (sent.length > 0 && random() < options.repeatRatio) {
			const earlier = sent[Math.floor(random() * sent.length)]!;
			return { ...earlier, repeat: true };
		}
		const parts: string[] = [];
		const events: BenchEvent[] = [];
		for (let i = 0; i < options.batchSize; i += 1) {
			const template = templates[cursor % templates.length]!;
			cursor += 1;
			const messageId = nextId();
			let json = `${template.before}${messageId}${template.after}`;
			if (pad !== "") json = json.replace(/"text":"/, `"text":"${pad}`);
			parts.push(json);
			events.push({ messageId, eventId: referenceEventId(template.type, messageId, template.to, template.time) });
		}
		const payload = { body: `[${parts.join(",")}]`, events, repeat: false };
		if (options.repeatRatio > 0) {
			sent.push(payload);
			if (sent.length > 1000) sent.shift();
		}
		return payload;
	};
}
