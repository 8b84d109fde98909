import { abortAllDurableObjects, applyD1Migrations, env, evictDurableObject, reset } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { eventIdOf } from "../../../src/bandwidth/event-id";
import worker from "../../../src/index";
import { ledgerNameOf } from "../../../src/ledger/ledger-client";
import { bindingCalls } from "../../../src/meter/binding-calls";
import { meter } from "../../../src/meter/meter";
import { TEST_ENV } from "../../setup/test-env";
import type { SinkMode, SinkRecord } from "../support/sim-sink-types";
import { installInjection } from "./bindings";
import { FaultDecider } from "./fault-plan";
import { checkInvariants, type InvariantResult } from "./invariants";
import { observe } from "./observe";
import { Rng } from "./rng";
import { Scheduler, SeedOutOfTime } from "./scheduler";
import { installVirtualClock, realNow } from "./virtual-clock";
import { DESTINATION_NAMES, type DestinationName, drawWorkload, type SimElement, type Step } from "./workload";
import { World } from "./world";

/*
 * One seed, start to end: a clean world, the workload's steps on the virtual clock under the
 * fault plan, then the world heals (faults off, endpoints answer, paused destinations resume, the
 * operator replays what died) and time runs on for a week so every retry, archive hour, retention
 * cut and forgotten day happens; then the invariants over every store.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Seeds 1001 and 1 share a slot of virtual time; their workloads and faults still differ (the Rng is the seed's). */
export const seedSlot = (seed: number) => seed % 1000;
let lastStart = Number.NEGATIVE_INFINITY;
const CALLBACK_URL = "https://relay.sim/bandwidth/messaging";
const ADMIN = { authorization: `Bearer ${TEST_ENV.ADMIN_TOKEN}` };
const BASIC = `Basic ${btoa(`${TEST_ENV.BANDWIDTH_USERNAME}:${TEST_ENV.BANDWIDTH_PASSWORD}`)}`;

export interface SeedReport {
	seed: number;
	ok: boolean;
	results: InvariantResult[];
	stats: Record<string, number>;
	/** The relay's last log lines, for a failing seed. */
	logTail: string[];
	realMs: number;
}

export interface SimSettings {
	sinkBase: string;
	forwardTimeoutMs: number;
	/** Bytes the D1 database may hold (D1_BUDGET_MB × 1,000,000): the run fills it near that. */
	budgetBytes: number;
	debug?: boolean;
	/** Real milliseconds a seed may take before it is stopped and reported. */
	budgetMs?: number;
}

/** The relay's JSON log lines, kept instead of printed (faults make many); the tail is shown for a failure. */
function captureLogs(): { lines: Array<Record<string, unknown>>; restore(): void } {
	const lines: Array<Record<string, unknown>> = [];
	const originals = { log: console.log, info: console.info, warn: console.warn, error: console.error };
	const keep = (...args: unknown[]) => {
		const text = args.map(String).join(" ");
		try {
			lines.push(JSON.parse(text) as Record<string, unknown>);
		} catch {
			lines.push({ text });
		}
		if (lines.length > 20_000) lines.splice(0, 5_000);
	};
	console.log = keep;
	console.info = keep;
	console.warn = keep;
	console.error = keep;
	return {
		lines,
		restore() {
			Object.assign(console, originals);
		},
	};
}

const say = console.log.bind(console);

export async function runSeed(seed: number, settings: SimSettings): Promise<SeedReport> {
	const startedReal = realNow();
	const debug = (what: string) => {
		if (settings.debug)
			say(
				`[sim ${seed}] ${((realNow() - startedReal) / 1000).toFixed(1)}s ${what} ${JSON.stringify({ stops: scheduler.stops, alarms: scheduler.alarmsRun, scanned: scheduler.scanned, due: scheduler.due, next: scheduler.nextAlarm() - clock.now(), crons: scheduler.cronRuns, timing: scheduler.timing, held: injection.delayLine.held.length, queued: injection.queues.total })}`,
			);
	};
	// A clean world: no stored data, and no object still holding the last seed's state in memory.
	await reset();
	await abortAllDurableObjects().catch(() => undefined);
	await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
	const sink = (path: string, init?: RequestInit) => fetch(`${settings.sinkBase}${path}`, init);
	await sink("/__reset", { method: "POST" });

	const rng = new Rng(seed);
	// Each seed has its own month of virtual time, later seeds later: a cache the Worker keeps in
	// memory with an expiry time (the gate's answers, a media token) never carries from one to the next.
	// A thousand slots of 40 days end in 2140: Durable Object alarms refuse dates after 2189, so seed
	// 2001 must not mean the year 2250 (it did: every ledger accept failed and the run proved little).
	const start = Date.UTC(2031, 0, 1) + seedSlot(seed) * 40 * DAY + rng.int(0, 23) * HOUR + rng.int(0, 59) * MINUTE;
	if (start <= lastStart) {
		throw new Error(
			`seed ${seed} starts before the seed run before it in this isolate: run seeds of different thousands in separate processes (npm run simulate:faults does)`,
		);
	}
	lastStart = start;
	const workload = drawWorkload(rng.fork("workload"), { start, mediaBase: settings.sinkBase });
	const clock = installVirtualClock(start);
	const decider = new FaultDecider([], rng.fork("faults"), clock.now);
	const logs = captureLogs();
	const injection = installInjection({
		env,
		decider,
		now: clock.now,
		classifyUrl(url) {
			if (url.pathname.startsWith("/d/")) return "fetch.destination";
			if (url.pathname === "/alerts") return "fetch.alert";
			if (url.pathname.startsWith("/api/v1/oauth2/token")) return "fetch.token";
			if (url.pathname.startsWith("/api/v2/users/")) return "fetch.media";
			return "fetch.other";
		},
		retriedBody(body, attempts) {
			if (typeof body !== "object" || body === null) return body;
			const job = body as { priorAttempts?: number };
			return { ...job, priorAttempts: (job.priorAttempts ?? 0) + attempts };
		},
		worker: worker as { queue?: ExportedHandlerQueueHandler<Env> },
	});
	const scheduler = new Scheduler({ env, clock, injection, worker, cronEveryMs: 10 * MINUTE });
	const world = new World();
	const faultRng = rng.fork("fault-steps");
	scheduler.deadline = startedReal + (settings.budgetMs ?? 180_000);
	let phase = "setup";
	try {
		await scheduler.install();
		// Fill D1 close to its budget, so the run's own events push it over and the budget must evict.
		const filler = Math.max(0, settings.budgetBytes - rng.int(20_000, 400_000));
		await injection.raw.d1Run(env.DB, "CREATE TABLE IF NOT EXISTS sim_filler (b BLOB)");
		await injection.raw.d1Run(env.DB, "INSERT INTO sim_filler (b) VALUES (zeroblob(?))", filler);
		meter.reset();
		const meteredBefore = bindingCalls.snapshot();
		for (const rule of workload.rules) decider.add(rule, faultRng);

		const admin = (path: string, init: RequestInit = {}) =>
			exports.default.fetch(`https://relay.sim${path}`, { ...init, headers: { ...ADMIN, ...init.headers } });

		const post = async (callback: number): Promise<void> => {
			const elements = workload.callbacks[callback]?.elements ?? [];
			const at = clock.now();
			let status = 0;
			let body = "";
			try {
				const response = await exports.default.fetch(CALLBACK_URL, {
					method: "POST",
					headers: { authorization: BASIC, "content-type": "application/json" },
					body: JSON.stringify(elements.map((element) => element.element)),
				});
				status = response.status;
				body = await response.text();
			} catch (error) {
				body = String(error);
			}
			world.posts.push({ callback, at, status, answeredAt: clock.now() });
			if (status >= 200 && status < 300) {
				for (const element of elements) world.accepted(element, clock.now());
				world.retrying.delete(callback);
			} else {
				if (status >= 400 && status < 500 && status !== 429) world.badAnswers.push({ callback, status, body });
				// Bandwidth retries any non-2xx for 24 hours.
				world.retrying.set(callback, clock.now() + rng.int(30_000, 5 * MINUTE));
			}
		};
		const retryDue = async (all = false) => {
			for (const [callback, due] of [...world.retrying]) {
				if (all || due <= clock.now()) await post(callback);
			}
		};
		const numbersOf = (element: SimElement) => element.numbers;
		const messagesWith = (number: string): Set<string> => {
			const ids = new Set<string>();
			for (const element of workload.elements.values()) {
				if (world.acceptedAt.has(element.tag) && numbersOf(element).includes(number)) ids.add(element.messageId);
			}
			return ids;
		};
		const erase = async (kind: "message" | "number", subject: string, messageIds: Set<string>) => {
			const record = {
				kind,
				subject,
				startedAt: clock.now(),
				completedAt: null as number | null,
				messageIds,
				status: 0,
				complete: false,
			};
			world.erasures.push(record);
			await finishErasure(record);
		};
		const finishErasure = async (record: (typeof world.erasures)[number]) => {
			let cursor: string | null = null;
			for (let tries = 0; tries < 20 && !record.complete; tries += 1) {
				const response: Response =
					record.kind === "message"
						? await admin(`/v1/messages/${record.subject}${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`, {
								method: "DELETE",
							})
						: await admin("/v1/erase", {
								method: "POST",
								headers: { "content-type": "application/json" },
								body: JSON.stringify({ phoneNumber: record.subject, ...(cursor ? { cursor } : {}) }),
							});
				record.status = response.status;
				if (response.status !== 200) {
					await response.body?.cancel();
					continue;
				}
				const answer = (await response.json()) as { complete: boolean; cursor: string | null };
				cursor = answer.cursor;
				if (answer.complete) {
					record.complete = true;
					record.completedAt = clock.now();
				}
			}
		};
		const setSink = (path: string, mode: SinkMode | null) =>
			sink("/__mode", { method: "POST", body: JSON.stringify({ path, mode }) });
		const eventIdOfTag = async (tag: string): Promise<string | null> => {
			const element = workload.elements.get(tag);
			if (element === undefined) return null;
			return eventIdOf({
				type: element.element.type,
				messageId: element.messageId,
				to: element.element.to as string,
				time: element.element.time as string,
			});
		};
		const replay = async (body: Record<string, unknown>, concurrent: number, messageId?: string) => {
			const answers = await Promise.all(
				Array.from({ length: concurrent }, () =>
					admin("/v1/replay", {
						method: "POST",
						headers: { "content-type": "application/json" },
						body: JSON.stringify(body),
					}),
				),
			);
			for (const response of answers) {
				world.replays.push({ at: clock.now(), body, status: response.status, ...(messageId ? { messageId } : {}) });
				await response.body?.cancel();
			}
		};

		const run = async (step: Step) => {
			switch (step.kind) {
				case "post":
					await Promise.all(Array.from({ length: step.copies }, () => post(step.callback)));
					break;
				case "sink":
					await setSink(step.path, step.mode);
					break;
				case "sinkEvent": {
					const id = await eventIdOfTag(step.tag);
					if (id !== null)
						await sink("/__event", {
							method: "POST",
							body: JSON.stringify({ key: `${step.path}#${id}`, status: step.status }),
						});
					break;
				}
				case "pause":
				case "resume":
					await (await admin(`/v1/destinations/${step.destination}/${step.kind}`, { method: "POST" })).body?.cancel();
					break;
				case "replay":
					await replay(step.body, step.concurrent);
					break;
				case "replayMessage": {
					const element = workload.elements.get(step.tag);
					if (element) await replay({ messageId: element.messageId }, 1, element.messageId);
					break;
				}
				case "eraseMessage": {
					const element = workload.elements.get(step.tag);
					if (element === undefined) break;
					const erasure = erase("message", element.messageId, new Set([element.messageId]));
					await Promise.all([erasure, step.duringCron ? scheduler.cron() : undefined]);
					break;
				}
				case "eraseNumber":
					await Promise.all([
						erase("number", step.number, messagesWith(step.number)),
						step.duringCron ? scheduler.cron() : undefined,
					]);
					break;
				case "reprocess": {
					const listed = await admin("/v1/quarantine");
					if (listed.status !== 200) break;
					const { items } = await listed.json<{ items: Array<{ id: string }> }>();
					for (const item of items)
						await (await admin(`/v1/quarantine/${item.id}/reprocess`, { method: "POST" })).body?.cancel();
					break;
				}
				case "fault":
					decider.add(
						{ ...step.rule, from: clock.now() + (step.rule.from ?? 0), until: clock.now() + (step.rule.until ?? HOUR) },
						faultRng,
					);
					break;
				case "evict": {
					const element = workload.elements.get(step.tag);
					if (element === undefined) break;
					const name =
						step.namespace === "MESSAGE_LEDGER"
							? ledgerNameOf(env, element.messageId)
							: step.namespace === "MEDIA_COPIER"
								? element.messageId
								: rng.pick(DESTINATION_NAMES);
					const namespace = env[step.namespace] as DurableObjectNamespace;
					const stub =
						step.namespace === "DESTINATION_GATE"
							? injection.raw.stubOf(namespace, namespace.idFromName(name))
							: injection.raw.stub(namespace, name);
					decider.log.push({ at: clock.now(), target: "evict", kind: "throw", rule: -1 });
					await evictDurableObject(stub).catch(() => undefined);
					break;
				}
				case "cron":
					await scheduler.cron();
					break;
			}
		};

		phase = "workload";
		// The workload, on the virtual clock.
		for (const [index, step] of workload.steps.entries()) {
			const due = start + step.at;
			// Long gaps (a receipt 70 hours late) are crossed with an hourly cron, as a quiet relay would see them.
			const gap = due - clock.now();
			if (gap > 0) await scheduler.advance(gap, { cronEveryMs: gap > 2 * HOUR ? 3 * HOUR : 10 * MINUTE });
			await scheduler.withinDeadline(retryDue());
			await scheduler.withinDeadline(run(step));
			if (index % 10 === 0) debug(`step ${index}/${workload.steps.length} ${step.kind}`);
		}
		debug("workload done");
		await scheduler.advance(10 * MINUTE);

		phase = "heal";
		// The world heals: faults off, endpoints answer, Bandwidth's retries land, the operator resumes and replays.
		decider.enabled = false;
		await sink("/__heal", { method: "POST" });
		// Bandwidth keeps retrying for 24 hours: once healed, every callback must be answered 2xx within
		// a few retries (a relay that still fails is losing them; invariants.ts counts what is left).
		for (let round = 0; round < 3 && world.retrying.size > 0; round += 1) {
			if (round > 0) await scheduler.advance(2 * MINUTE);
			await scheduler.withinDeadline(retryDue(true));
		}
		for (const erasure of world.erasures.filter((record) => !record.complete))
			await scheduler.withinDeadline(finishErasure(erasure));
		for (const name of DESTINATION_NAMES)
			await (await admin(`/v1/destinations/${name}/resume`, { method: "POST" })).body?.cancel();
		// Long enough for every retry schedule (≈ 27.5 h) and held job to run out.
		await scheduler.advance(10 * MINUTE);
		await scheduler.settle();
		debug("healed");
		// Checkpoint: D1 and the ledgers still hold the run's events (a week on, retention and
		// forgetting have removed them whatever an erasure did), and quarantine is never archived.
		const records = async () => (await (await sink("/__records")).json()) as SinkRecord[];
		const early = await observe(env, injection.raw, records);
		await scheduler.advance(30 * HOUR, { cronEveryMs: 3 * HOUR });
		debug("30 h on");
		await replay({ dead: true }, 1);
		await scheduler.advance(2 * HOUR, { cronEveryMs: 30 * MINUTE });
		// A week on: every hour archived, D1's retention and the ledgers' forgetting have run.
		await scheduler.advance(7 * DAY, { cronEveryMs: DAY });
		await scheduler.settle();
		debug("a week on");

		phase = "checks";
		scheduler.deadline = Number.POSITIVE_INFINITY;
		const observed = await observe(env, injection.raw, records);
		for (const tag of early.quarantineTags) observed.quarantineTags.add(tag);
		const meteredAfter = bindingCalls.snapshot();
		const meteredDelta = Object.fromEntries(
			Object.entries(meteredAfter).map(([kind, count]) => [kind, count - (meteredBefore[kind] ?? 0)]),
		);
		const input = {
			workload,
			world,
			observed,
			faults: decider.log,
			proto: new Map(
				[...injection.calls]
					.filter(([kind]) => !kind.startsWith("do."))
					.concat([...injection.reached].filter(([kind]) => kind.startsWith("do."))),
			),
			metered: meteredDelta,
			doRequestsMetered: meter.snapshot().doRequests,
			alarmsRun: scheduler.alarmsRun,
			logs: logs.lines,
			unsettled: scheduler.unsettled,
			unsettledWhy: scheduler.unsettledWhy,
			forwardTimeoutMs: settings.forwardTimeoutMs,
		};
		const results = await checkInvariants(input);
		// What the checkpoint saw of the promises that retention would otherwise make true by itself.
		const atCheckpoint = await checkInvariants({ ...input, observed: early });
		for (const name of ["none lost", "erased from every store"]) {
			const now = results.find((result) => result.name === name);
			const then = atCheckpoint.find((result) => result.name === name);
			if (now === undefined || then === undefined) continue;
			now.checked += then.checked;
			now.violations.push(...then.violations.map((line) => `once healed: ${line}`));
		}
		const ok = results.every((result) => result.violations.length === 0);
		if (!ok && settings.debug) {
			// Forensics for each element a violation names: its posts, the faults around it, and the lines about its message.
			const byTarget = new Map<string, number>();
			for (const fault of decider.log)
				byTarget.set(`${fault.target}:${fault.kind}`, (byTarget.get(`${fault.target}:${fault.kind}`) ?? 0) + 1);
			say(`[sim ${seed}] faults ${JSON.stringify(Object.fromEntries(byTarget))}`);
			for (const [when, seen] of [["once healed", early] as const, ["at the end", observed] as const])
				for (const outbox of seen.ledgerOutboxes)
					say(
						`[sim ${seed}] ${when}: ledger ${outbox.id.slice(0, 12)} outbox ${outbox.rows} rows, alarm ${outbox.alarm === null ? "none" : new Date(outbox.alarm).toISOString()} (now ${new Date(clock.now()).toISOString()})`,
					);
			const named = new Set(
				results.flatMap((result) => result.violations.flatMap((line) => line.match(/s\d+-e\d+/g) ?? [])),
			);
			for (const tag of named) {
				const element = workload.elements.get(tag);
				if (element === undefined) continue;
				const callbacks = workload.callbacks
					.filter((callback) => callback.elements.includes(element))
					.map((callback) => callback.id);
				const posts = world.posts.filter((post) => callbacks.includes(post.callback));
				const acceptedAt = world.acceptedAt.get(tag) ?? 0;
				say(
					`[sim ${seed}] ${tag} ${element.element.type} ${element.messageId} callbacks ${callbacks} posts ${JSON.stringify(posts.map((post) => [post.status, new Date(post.at).toISOString()]))}`,
				);
				say(
					`  faults ±10 s: ${JSON.stringify(decider.log.filter((fault) => Math.abs(fault.at - acceptedAt) < 10_000).map((fault) => [fault.target, fault.kind, fault.at - acceptedAt]))}`,
				);
				for (const line of logs.lines.filter((line) => JSON.stringify(line).includes(element.messageId)).slice(0, 20))
					say(`  log ${JSON.stringify(line)}`);
				const id = element.invalid
					? ""
					: await eventIdOf({
							type: element.element.type,
							messageId: element.messageId,
							to: element.element.to as string,
							time: element.element.time as string,
						});
				say(
					`  event ${id} numbers ${element.numbers} ledger holds message ${observed.ledgerMessages.has(element.messageId)} id ${observed.ledgerEventIds.has(id)} sink ${observed.sink.filter((record) => record.eventId === id).map((record) => `${record.path}:${record.status}`)}`,
				);
				for (const line of logs.lines.filter((line) => id !== "" && JSON.stringify(line).includes(id)).slice(0, 20))
					say(`  log(id) ${JSON.stringify(line)}`);
				say(
					`  replays ${JSON.stringify(world.replays.map((replay) => [replay.status, replay.body, new Date(replay.at).toISOString()]))}`,
				);
				for (const erasure of world.erasures)
					say(
						`  erasure ${erasure.kind} ${erasure.subject} at ${erasure.startedAt - acceptedAt} covers ${erasure.messageIds.has(element.messageId)} complete ${erasure.complete}`,
					);
			}
		}
		return {
			seed,
			ok,
			results,
			stats: {
				callbacks: world.posts.length,
				elements: workload.elements.size,
				faults: decider.log.length,
				alarms: scheduler.alarmsRun,
				crons: scheduler.cronRuns,
				cronFailures: scheduler.cronFailures,
				stops: scheduler.stops,
				...Object.fromEntries(Object.entries(scheduler.timing).map(([what, ms]) => [`ms.${what}`, Math.round(ms)])),
				sinkRequests: observed.sink.length,
			},
			logTail: ok ? [] : logs.lines.slice(-40).map((line) => JSON.stringify(line)),
			realMs: realNow() - startedReal,
		};
	} catch (error) {
		if (!(error instanceof SeedOutOfTime)) throw error;
		return {
			seed,
			ok: false,
			results: [
				{
					name: "the relay settles (nothing hangs)",
					checked: 1,
					violations: [
						`out of real time in the ${phase} phase at ${new Date(clock.now()).toISOString()}: ${error.message}`,
					],
				},
			],
			stats: { stops: scheduler.stops, alarms: scheduler.alarmsRun, crons: scheduler.cronRuns },
			logTail: logs.lines.slice(-40).map((line) => JSON.stringify(line)),
			realMs: realNow() - startedReal,
		};
	} finally {
		logs.restore();
		scheduler.uninstall();
		injection.uninstall();
		clock.uninstall();
	}
}

export type { DestinationName };
