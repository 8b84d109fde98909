import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { DestinationGate } from "../../src/destinations/destination-gate.do";
import { gateOf as gateOfEnv } from "../../src/destinations/gate-client";
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
 * out as the callback route does, into D1 and to the queue, except that the queue here takes the
 * jobs and drops them: the test derives the same jobs (jobsOf) and runs the real consumer on them
 * itself. The test env's own consumer knows none of these destinations and would record them dead.
 */
export async function acceptRouted(DESTINATIONS: string, elements: unknown[]): Promise<LedgerRow[]> {
	const routed = { ...env, DESTINATIONS, FORWARD_URL: "" } as Env;
	const result = await ingestBatch(routed, elements, new Date().toISOString());
	if (!result.ok) throw new Error("ingest failed");
	await drainHandoffs({ ...routed, FORWARD_QUEUE: recordingQueue().queue }, result.handoffs);
	return result.handoffs.flatMap((handoff) => handoff.rows);
}

/** The queue jobs the ledger's copy-out would send for these rows. */
export function jobsOf(rows: LedgerRow[]): ForwardJob[] {
	return chunkForQueue(rows).flatMap((chunk) => chunk.messages.map((message) => message.body));
}

/**
 * A queue that records what the consumer re-queues (jobs a gate held back) for the test to run
 * next, instead of the test env's consumer, which knows none of the test's destinations. The real
 * queue's part in holds is covered end to end (test/e2e/reliability: rate-limit-burst, downstream-outage).
 */
export function recordingQueue(): { queue: Queue; sent: Array<{ body: ForwardJob; delaySeconds?: number }> } {
	const sent: Array<{ body: ForwardJob; delaySeconds?: number }> = [];
	const queue = {
		send: async (body: ForwardJob, options?: QueueSendOptions) => {
			sent.push({ body, delaySeconds: options?.delaySeconds });
		},
		sendBatch: async (messages: Iterable<MessageSendRequest<ForwardJob>>) => {
			for (const message of messages) sent.push({ body: message.body, delaySeconds: message.delaySeconds });
		},
	} as unknown as Queue;
	return { queue, sent };
}

export const gateOf = (name: string) => gateOfEnv(env, name);

/** Brings a gate's next probe forward to now, as if its backoff had passed, without waking its alarm. */
export async function probeNow(name: string): Promise<void> {
	await runInDurableObject(gateOf(name), (_instance: DestinationGate, state) => {
		state.storage.sql.exec("UPDATE gate SET state = json_set(state, '$.probeAt', 0) WHERE k = 1");
	});
}

/**
 * Gives a gate a recording queue in place of FORWARD_QUEUE, as consume() gives the consumer one:
 * the jobs it sends back (parked ones, released) are kept for the test to run, rather than reaching
 * the test env's consumer, which knows none of the test's destinations; `vars` are the settings the
 * test's consumer runs with (the gate reads DESTINATIONS to notice a removed destination). Set
 * before anything is parked, since its alarm sends as soon as it may; undone by `restore`.
 */
export async function gateQueue(
	name: string,
	vars: Record<string, string> = {},
): Promise<ReturnType<typeof recordingQueue> & { restore: () => Promise<void> }> {
	const recording = recordingQueue();
	const stub = gateOf(name);
	let original: Env | undefined;
	await runInDurableObject(stub, (instance: DestinationGate) => {
		const own = instance as unknown as { env: Env };
		original = own.env;
		const patched = { ...own.env, ...vars, FORWARD_QUEUE: recording.queue };
		Object.defineProperty(own, "env", { value: patched, configurable: true });
	});
	const restore = () =>
		runInDurableObject(stub, (instance: DestinationGate) => {
			Object.defineProperty(instance, "env", { value: original, configurable: true });
		});
	return { ...recording, restore };
}

/** The parked jobs' rows of a gate: how many rows, holding how many jobs. */
export async function parkedRows(name: string): Promise<{ rows: number; jobs: number }> {
	return runInDurableObject(gateOf(name), (_instance: DestinationGate, state) => {
		const row = state.storage.sql
			.exec("SELECT count(*) AS rows, coalesce(sum(count), 0) AS jobs FROM parked")
			.toArray()[0] as { rows: number; jobs: number };
		return { rows: row.rows, jobs: row.jobs };
	});
}
