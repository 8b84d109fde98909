import { eventIdOf } from "../../../src/bandwidth/event-id";
import type { FaultEvent } from "./fault-plan";
import type { Observed, StoredEvent } from "./observe";
import type { SimElement, Workload } from "./workload";
import { APP_A, type DestinationName } from "./workload";
import type { World } from "./world";

/*
 * The promises, checked against what was sent (World) and what every store holds (Observed).
 * Each invariant answers how many cases it checked and what broke, so a run prints its counts.
 */

export interface InvariantResult {
	name: string;
	checked: number;
	violations: string[];
	/** Counts worth printing beside the verdict (duplicates by window, …). */
	notes?: Record<string, number>;
}

export interface CheckInput {
	workload: Workload;
	world: World;
	observed: Observed;
	faults: readonly FaultEvent[];
	/** Raw calls per target that reached the binding, and the meter's own counts. */
	proto: Map<string, number>;
	metered: Record<string, number>;
	doRequestsMetered: number;
	alarmsRun: number;
	logs: Array<Record<string, unknown>>;
	unsettled: number;
	unsettledWhy: readonly string[];
	forwardTimeoutMs: number;
}

/** The simulation's own routing, from the destinations it configured (vitest.config.ts, sim project). */
export function routedTo(event: StoredEvent): DestinationName[] {
	const names: DestinationName[] = ["all"];
	if (event.direction === "inbound") names.push("inbound");
	if (
		event.applicationId === APP_A &&
		(event.type === "bandwidth.message.delivered" || event.type === "bandwidth.message.failed")
	) {
		names.push("app-a");
	}
	return names;
}

const isOk = (status: number) => status >= 200 && status < 300;
const limit = (list: string[], max = 8) =>
	list.length > max ? [...list.slice(0, max), `… ${list.length - max} more`] : list;

function elementEventId(element: SimElement): Promise<string> {
	const raw = element.element;
	return eventIdOf({
		type: raw.type,
		messageId: raw.message.id,
		to: typeof raw.to === "string" ? raw.to : undefined,
		time: typeof raw.time === "string" ? raw.time : undefined,
		element: raw,
	});
}

export async function checkInvariants(input: CheckInput): Promise<InvariantResult[]> {
	const { workload, world, observed } = input;
	const results: InvariantResult[] = [];
	const byTag = new Map<string, StoredEvent>();
	for (const event of [...observed.d1Events.values(), ...[...observed.archive.values()].map((entry) => entry.event)]) {
		if (event.tag !== null) byTag.set(event.tag, event);
	}
	const accepted = [...workload.elements.values()].filter((element) => world.acceptedAt.has(element.tag));
	const erased = (element: SimElement) => world.erasedBy(element).length > 0;
	const settledAway = (element: SimElement) => erased(element) || world.erasureAmbiguous(element);

	// 1. Never a 4xx to a genuine Bandwidth callback.
	results.push({
		name: "no 4xx to Bandwidth",
		checked: world.posts.length,
		violations: limit(world.badAnswers.map((bad) => `callback ${bad.callback} answered ${bad.status}: ${bad.body}`)),
	});

	// Once healed the relay answers every callback 2xx: a run whose callbacks kept failing proves little else.
	const lastAnswer = new Map(world.posts.map((post) => [post.callback, post.status]));
	results.push({
		name: "every callback answered 2xx once healed",
		checked: lastAnswer.size,
		violations: limit(
			[...world.retrying.keys()].map(
				(callback) => `callback ${callback} still unanswered after the heal: last status ${lastAnswer.get(callback)}`,
			),
		),
	});

	// 2. Every element answered 2xx is stored or quarantined.
	const lost: string[] = [];
	for (const element of accepted) {
		if (settledAway(element)) continue;
		if (element.invalid) {
			const held = observed.ledgerQuarantineText.some((text) => text.includes(`"${element.tag}"`));
			if (!observed.quarantineTags.has(element.tag) && !held) lost.push(`${element.tag} (invalid) is in no quarantine`);
		} else if (!byTag.has(element.tag)) {
			lost.push(`${element.tag} ${element.element.type} of ${element.messageId} is in neither D1 nor the archive`);
		}
	}
	results.push({ name: "none lost", checked: accepted.length, violations: limit(lost) });

	// 3 and 4. Every stored event reaches every destination it was routed to; a second delivery only in a documented window.
	const records = new Map<string, typeof observed.sink>();
	for (const record of observed.sink) {
		const key = `${record.path}#${record.eventId}`;
		records.set(key, [...(records.get(key) ?? []), record]);
	}
	const undelivered: string[] = [];
	const unexplained: string[] = [];
	const windows: Record<string, number> = { replay: 0, "late or lost answer": 0, "lost acknowledgement": 0 };
	let deliveriesChecked = 0;
	const ambiguousFault = (from: number, until: number) =>
		input.faults.some(
			(fault) =>
				fault.at >= from - 2000 &&
				fault.at <= until + 2000 &&
				(fault.kind === "throwAfter" ||
					fault.kind === "hang" ||
					fault.target === "do.settle" ||
					fault.target === "evict" ||
					fault.target.startsWith("do.")),
		);
	for (const element of accepted) {
		if (element.invalid || settledAway(element)) continue;
		const event = byTag.get(element.tag);
		if (event === undefined) continue;
		for (const destination of routedTo(event)) {
			deliveriesChecked += 1;
			const hits = records.get(`/d/${destination}#${event.id}`) ?? [];
			const successes = hits.filter((hit) => isOk(hit.status));
			if (successes.length === 0) {
				undelivered.push(
					`${event.id} (${element.tag}, ${event.type}) never reached ${destination}: ${hits.length} attempts`,
				);
				continue;
			}
			if (successes.length === 1) continue;
			const acceptedAt = world.acceptedAt.get(element.tag) ?? 0;
			const late = hits.some(
				(hit) => isOk(hit.status) && (hit.aborted || hit.delayMs >= input.forwardTimeoutMs) && hit !== successes.at(-1),
			);
			const answerFault = input.faults.some(
				(fault) => fault.target === "fetch.destination" && (fault.kind === "throwAfter" || fault.kind === "hang"),
			);
			if (world.replayCovers(event.messageId)) windows.replay = (windows.replay ?? 0) + 1;
			else if (late || answerFault) windows["late or lost answer"] = (windows["late or lost answer"] ?? 0) + 1;
			else if (ambiguousFault(acceptedAt, Number.POSITIVE_INFINITY))
				windows["lost acknowledgement"] = (windows["lost acknowledgement"] ?? 0) + 1;
			else
				unexplained.push(
					`${event.id} (${element.tag}) reached ${destination} ${successes.length}× with no fault, late answer or replay to explain it`,
				);
		}
	}
	results.push({
		name: "delivered to every routed destination",
		checked: deliveriesChecked,
		violations: limit(undelivered),
	});
	results.push({
		name: "a second delivery only in a documented window",
		checked: deliveriesChecked,
		violations: limit(unexplained),
		notes: windows,
	});

	// 5. The archive holds every event exactly once.
	const archiveViolations: string[] = [];
	let archiveChecked = 0;
	for (const element of accepted) {
		if (element.invalid || settledAway(element)) continue;
		const event = byTag.get(element.tag);
		if (event === undefined) continue;
		archiveChecked += 1;
		const copies = observed.archive.get(event.id)?.copies ?? 0;
		if (copies !== 1) archiveViolations.push(`${event.id} (${element.tag}) is in the archive ${copies}×`);
	}
	for (const [id, entry] of observed.archive) {
		if (entry.copies > 1 && !archiveViolations.some((line) => line.startsWith(id))) {
			archiveViolations.push(`${id} is in the archive ${entry.copies}×`);
		}
	}
	results.push({ name: "archived exactly once", checked: archiveChecked, violations: limit(archiveViolations) });

	// 6. The byte budget evicts only what it needs.
	const evictions = input.logs.filter((line) => line.event === "d1_budget_enforced");
	const overEvicted = evictions.filter((line) => Number(line.sizeBeforeBytes) <= Number(line.budgetBytes));
	results.push({
		name: "eviction only over budget",
		checked: evictions.length,
		violations: limit(
			overEvicted.map((line) => `evicted ${line.evicted} at ${line.sizeBeforeBytes} B of ${line.budgetBytes} B`),
		),
		notes: {
			evictions: evictions.length,
			evicted: evictions.reduce((sum, line) => sum + Number(line.evicted ?? 0), 0),
		},
	});

	// 7. Erased means gone from every store, and nothing in flight brings it back.
	const leftovers: string[] = [];
	let erasedChecked = 0;
	// A first try recorded after its message's erasure began: a forward already being sent when the
	// erasure ran (README "Erasure": not reached), counted apart. One recorded before it must be gone.
	let firstTriesDuringErasure = 0;
	for (const element of accepted) {
		if (!erased(element)) continue;
		erasedChecked += 1;
		const id = element.invalid ? null : await elementEventId(element);
		const where: string[] = [];
		if (observed.quarantineTags.has(element.tag)) where.push("D1 quarantine");
		if (observed.ledgerQuarantineText.some((text) => text.includes(`"${element.tag}"`)))
			where.push("a ledger's held quarantine");
		if (id !== null) {
			if (observed.d1Events.has(id)) where.push("D1 events");
			if (observed.archive.has(id)) where.push("the archive");
			if (observed.ledgerEventIds.has(id)) where.push("a ledger");
			// The last erasure that covers it: a call repeated after a failure must take what came before it.
			const started = Math.max(...world.erasedBy(element).map((erasure) => erasure.startedAt));
			const firstTries = observed.d1FirstTries.get(id) ?? [];
			firstTriesDuringErasure += firstTries.filter((at) => at >= started).length;
			const before = firstTries.filter((at) => at < started);
			if (before.length > 0) where.push(`D1 first tries recorded before the erasure (${before.length})`);
			if (observed.d1Deliveries.some((row) => row.eventId === id))
				where.push(`D1 deliveries ${JSON.stringify(observed.d1Deliveries.filter((row) => row.eventId === id))}`);
		}
		const reaccepted = [...workload.elements.values()].some(
			(other) => other.messageId === element.messageId && world.acceptedAt.has(other.tag) && !erased(other),
		);
		if (!reaccepted && observed.mediaKeys.some((key) => key.startsWith(`${element.messageId}/`))) where.push("media");
		if (where.length > 0) {
			const erasure = world.erasedBy(element)[0];
			leftovers.push(
				`${element.tag} of ${element.messageId} (erased by ${erasure?.kind} ${erasure?.subject}) is still in ${where.join(", ")}`,
			);
		}
	}
	const incomplete = world.erasures.filter((erasure) => !erasure.complete);
	results.push({
		name: "erased from every store",
		checked: erasedChecked,
		violations: limit([
			...leftovers,
			...incomplete.map(
				(erasure) => `erasure of ${erasure.kind} ${erasure.subject} never completed (${erasure.status})`,
			),
		]),
		notes: { erasures: world.erasures.length, "first tries recorded during the erasure": firstTriesDuringErasure },
	});

	// 8. Every binding call went through the meter.
	const unmetered: string[] = [];
	const pairs: Array<[string, string[]]> = [
		["d1.statement", ["d1.run", "d1.all", "d1.first", "d1.raw"]],
		["d1.batch", ["d1.batch"]],
		["d1.exec", ["d1.exec"]],
		["queue.send", ["queue.send"]],
		["queue.sendBatch", ["queue.sendBatch"]],
		...["put", "get", "head", "list", "delete", "createMultipartUpload"].map((method): [string, string[]] => [
			`r2.${method}`,
			[`r2.archive.${method}`, `r2.media.${method}`],
		]),
	];
	let metered = 0;
	for (const [meterKind, protoKinds] of pairs) {
		const seen = protoKinds.reduce((sum, kind) => sum + (input.proto.get(kind) ?? 0), 0);
		const counted = input.metered[meterKind] ?? 0;
		metered += seen;
		if (seen !== counted) unmetered.push(`${meterKind}: ${seen} calls reached the binding, the meter saw ${counted}`);
	}
	const doCalls = [...input.proto.entries()]
		.filter(([kind]) => kind.startsWith("do."))
		.reduce((sum, [, count]) => sum + count, 0);
	if (doCalls + input.alarmsRun !== input.doRequestsMetered) {
		unmetered.push(
			`Durable Objects: ${doCalls} calls and ${input.alarmsRun} alarms reached them, the meter counted ${input.doRequestsMetered} requests`,
		);
	}
	results.push({ name: "every binding call metered", checked: metered + doCalls, violations: limit(unmetered) });

	results.push({
		name: "the relay settles (nothing hangs)",
		checked: 1,
		violations:
			input.unsettled > 0
				? [`${input.unsettled} waits for quiet ran out: ${input.unsettledWhy.slice(0, 3).join("; ")}`]
				: [],
	});
	return results;
}
