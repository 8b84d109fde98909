import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { DestinationGate } from "../../src/destinations/destination-gate.do";
import type { ForwardJob } from "../../src/forward/forward-job";
import { ingestBatch } from "../../src/ingest/ingest-batch";
import { drainHandoffs } from "../../src/ledger/drain-handoffs";
import { chunkForQueue } from "../../src/ledger/queue-chunks";
import type { LedgerRow } from "../../src/ledger/store/ledger-rows";
import { freshPath, hookUrl } from "./downstream";

export const SECRET_A = "whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=";

/** A destination name of its own for one test: gates are keyed by name and outlive a test. */
export function freshName(prefix: string): string {
	return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Destinations at fresh downstream paths; `settings` adds filters and limits. */
export function destinationsAt(entries: Array<{ name: string } & Record<string, unknown>>): {
	DESTINATIONS: string;
	paths: Record<string, string>;
} {
	const paths: Record<string, string> = {};
	const list = entries.map((entry) => {
		const path = freshPath();
		paths[entry.name] = path;
		return { url: hookUrl(path), ...entry };
	});
	return { DESTINATIONS: JSON.stringify(list), paths };
}

/**
 * Accepts elements with these destinations in force (as a deployment with DESTINATIONS would) and
 * answers the rows their ledgers stored, with the destinations each was routed to. They are copied
 * out as the callback route does: into D1, and to the real queue, whose consumer (the test env,
 * without these destinations) counts them as skipped; the test runs its own consumer on them.
 */
export async function acceptRouted(DESTINATIONS: string, elements: unknown[]): Promise<LedgerRow[]> {
	const result = await ingestBatch(
		{ ...env, DESTINATIONS, FORWARD_URL: "" } as Env,
		elements,
		new Date().toISOString(),
	);
	if (!result.ok) throw new Error("ingest failed");
	await drainHandoffs(env, result.handoffs);
	return result.handoffs.flatMap((handoff) => handoff.rows);
}

/** The queue jobs the ledger's copy-out would send for these rows. */
export function jobsOf(rows: LedgerRow[]): ForwardJob[] {
	return chunkForQueue(rows).flatMap((chunk) => chunk.messages.map((message) => message.body));
}

/** The real queue, with every job sent through it recorded (jobs a gate held back and queued again). */
export function recordingQueue(): { queue: Queue; sent: Array<{ body: ForwardJob; delaySeconds?: number }> } {
	const sent: Array<{ body: ForwardJob; delaySeconds?: number }> = [];
	const queue = {
		send: (body: ForwardJob, options?: QueueSendOptions) => {
			sent.push({ body, delaySeconds: options?.delaySeconds });
			return env.FORWARD_QUEUE.send(body, options);
		},
		sendBatch: (messages: Iterable<MessageSendRequest<ForwardJob>>, options?: QueueSendBatchOptions) => {
			const list = [...messages];
			for (const message of list) sent.push({ body: message.body, delaySeconds: message.delaySeconds });
			return env.FORWARD_QUEUE.sendBatch(list, options);
		},
	} as unknown as Queue;
	return { queue, sent };
}

export function gateOf(name: string) {
	return env.DESTINATION_GATE.get(env.DESTINATION_GATE.idFromName(name));
}

/** Brings a gate's next probe forward to now, as if its backoff had passed. */
export async function probeNow(name: string): Promise<void> {
	await runInDurableObject(gateOf(name), (_instance: DestinationGate, state) => {
		state.storage.sql.exec("UPDATE gate SET state = json_set(state, '$.probeAt', 0) WHERE k = 1");
	});
}
