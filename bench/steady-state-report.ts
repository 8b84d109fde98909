import { ALL_IN_ITEMS, type AllInItem, type AllInResult, leavingWay } from "./all-in.ts";
import type { SimulatedRun, SteadyStateResult } from "./steady-state.ts";

/** The results block's all-in section (BENCHMARKS.md, "All-in steady state", says how to read it). */

const fixed = (value: number, digits: number) =>
	Number.isFinite(value)
		? value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
		: "–";
const usd = (value: number) => `$${fixed(value, 2)}`;
const mb = (bytes: number) => fixed(bytes / 1e6, 2);

const WHAT: Record<AllInItem, string> = {
	"first pass":
		"the callback and its credential-less first attempt, ledger, D1, queue, consumer, metrics, the ledgers' check in D1 a minute later",
	"leaving D1":
		"the byte budget's delete, row by row, for the share of its events it cannot drop a whole table at a time; DROP TABLE (the budget's whole quarter-day table, retention's) writes none (measured: below)",
	"archive objects": "one R2 write per ledger bucket and hour (one per 8 MiB of it)",
	"hours archived, days dropped": "the cron's extra work for each bucket's hour archived and day forgotten",
	cron: "every minute, whatever the traffic: its invocation, a maintain call per bucket, the archive's listing",
	"D1 storage": "its bytes for the days D1 holds them",
	"ledger storage": "its ledger's bytes for DEDUPE_DAYS + ½",
	"archive storage": "its gzip line for ARCHIVE_RETENTION_DAYS",
};

function leavesBy(result: AllInResult, floor: boolean): string {
	if (floor) return "DROP TABLE";
	return leavingWay(result);
}

function units(result: AllInResult): string {
	const e = result.perEvent;
	const two = (value: number) => fixed(value, Number.isInteger(value) ? 0 : 2);
	return [
		two(e.workerRequests),
		two(e.doRequests),
		two(e.doRowsWritten),
		two(e.d1RowsWritten),
		two(e.queueOps),
		fixed(e.r2ClassA, 4),
		two(e.aeDataPoints),
		fixed(e.logLines, 3),
	].join(" | ");
}

/** D1 rows written per event, its insert (first pass) and its way out of D1 at the rate. */
export function d1RowsPerEvent(worker: WorkerAllInView, result: AllInResult): { insert: number; leave: number } {
	const { perEvictedEvent, perDroppedEvent } = worker.lifecycle;
	const share = result.rowDeletedShare;
	return {
		insert: worker.firstPass.d1RowsWritten,
		leave: share * perEvictedEvent.d1RowsWritten + (1 - share) * perDroppedEvent.d1RowsWritten,
	};
}

type WorkerAllInView = Pick<SteadyStateResult["relay"], "firstPass" | "lifecycle">;

function leavingLine(result: SteadyStateResult): string {
	const { relay, floor, settings } = result;
	const rate = fixed(settings.rate, 0);
	const life = relay.lifecycle;
	const rows = d1RowsPerEvent(relay, relay.atRate);
	const floorRows = d1RowsPerEvent(floor, floor.atRate);
	const measured = relay.atRate.leavingMeasured
		? ""
		: ` **Not measured: at ${rate} events/s the relay's events leave D1 by ${leavesBy(relay.atRate, false)}, ` +
			'and this run\'s simulated days took none out that way, so "leaving D1" lacks its rows written.**';
	return (
		`Leaving D1: the simulated days evicted ${fixed(life.evictedEvents, 0)} of the relay's events row by row ` +
		`(${fixed(life.perEvictedEvent.d1RowsWritten, 3)} D1 rows written each) and dropped ` +
		`${fixed(life.droppedEvents, 0)} whole with their table (${fixed(life.perDroppedEvent.d1RowsWritten, 3)} each); ` +
		`the floor dropped ${fixed(floor.lifecycle.droppedEvents, 0)} whole. D1 rows written per event at ${rate} events/s, ` +
		`insert and removal together: relay ${fixed(rows.insert, 2)} + ${fixed(rows.leave, 2)} = ` +
		`**${fixed(rows.insert + rows.leave, 2)}**, floor ${fixed(floorRows.insert, 2)} + ${fixed(floorRows.leave, 2)} = ` +
		`${fixed(floorRows.insert + floorRows.leave, 2)}.${measured}`
	);
}

function runRow(run: SimulatedRun, baseline: SimulatedRun | undefined): string {
	const minus = (pick: (run: SimulatedRun) => number) =>
		baseline === undefined ? fixed(pick(run), 0) : fixed(pick(run) - pick(baseline), 0);
	return (
		`| ${run.label} | ${run.at.slice(0, 16).replace("T", " ")} | ${minus((x) => x.relay.doRowsWritten)} | ` +
		`${minus((x) => x.relay.d1RowsWritten)} | ${minus((x) => x.relay.r2ClassA)} | ${minus((x) => x.relay.logLines)} | ` +
		`${fixed(run.held.d1Events.relay, 0)} | ${mb(run.held.d1Bytes)} | ${mb(run.held.ledgerBytes)} | ` +
		`${fixed(run.held.archived.events, 0)} (${fixed(run.held.archiveObjects, 0)}) | ${fixed(run.held.d1Events.floor, 0)} | ${mb(run.held.floorLedgerBytes)} |`
	);
}

export function steadyStateMarkdown(result: SteadyStateResult): string[] {
	const { relay, floor, settings, checks } = result;
	const rate = fixed(settings.rate, 0);
	const first = (worker: typeof relay) => worker.atRate.byItem["first pass"];
	const after = result.heldAfterLoad;
	return [
		`### All-in steady state (${rate} events/s)`,
		"",
		`**all-in: relay ${usd(relay.atRate.usdPerMillionEvents)} per million events, job floor ${usd(floor.atRate.usdPerMillionEvents)} per million events (${fixed(result.ratio, 2)}×)** ` +
			`at ${rate} events/s (list prices, included amounts not subtracted); the first pass alone ` +
			`${usd(first(relay))} and ${usd(first(floor))}. ${fixed(settings.callbacks, 0)} one-event callbacks ` +
			`each (after ${fixed(settings.warmupCallbacks, 0)} to warm up), each sent first without credentials; then ` +
			`${result.runs.length} cron runs over ${result.life.archiveRetentionDays + 1} simulated days, less the same ` +
			`runs once everything had gone. The relay ran with D1_BUDGET_MB=${result.relayVars.D1_BUDGET_MB ?? "default"} so ` +
			"that its budget evicts both ways: row by row from the running quarter's table, which it may not drop whole (as the default " +
			"8,000 MB does where it holds less than a quarter day's traffic), and whole tables once their quarter has ended; the table below " +
			"prices each rate's share of row deletes and whole-table drops. How to read it: " +
			'BENCHMARKS.md, "All-in steady state".',
		"",
		`| $ per million events, at ${rate} events/s | relay | job floor | what |`,
		"|---|--:|--:|---|",
		...ALL_IN_ITEMS.map(
			(item) =>
				`| ${item} | ${fixed(relay.atRate.byItem[item], 3)} | ${fixed(floor.atRate.byItem[item], 3)} | ${WHAT[item]} |`,
		),
		`| **total** | **${fixed(relay.atRate.usdPerMillionEvents, 2)}** | **${fixed(floor.atRate.usdPerMillionEvents, 2)}** | |`,
		"",
		leavingLine(result),
		"",
		"| events/s | relay $/M | floor $/M | relay ÷ floor | D1 holds (days) | relay's events leave D1 by |",
		"|--:|--:|--:|--:|--:|---|",
		...relay.byRate.map((at, index) => {
			const f = floor.byRate[index]!;
			const way = `${leavesBy(at, false)}${at.leavingMeasured ? "" : " (not measured)"}`;
			return `| ${fixed(at.rate, 0)} | ${fixed(at.usdPerMillionEvents, 2)} | ${fixed(f.usdPerMillionEvents, 2)} | ${fixed(at.usdPerMillionEvents / f.usdPerMillionEvents, 2)}× | ${fixed(at.d1HoldDays, 1)} | ${way} |`;
		}),
		"",
		`Units per event, all-in at ${rate} events/s:`,
		"",
		"| worker | Worker req | DO req | DO rows written | D1 rows written | queue ops | R2 Class A | AE points | log events | D1 bytes | ledger bytes held | archive bytes |",
		"|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
		`| relay | ${units(relay.atRate)} | ${fixed(relay.firstPass.d1BytesStored, 0)} | ${fixed(relay.ledgerBytesPerEvent, 0)} | ${fixed(relay.atRate.perEvent.r2BytesWritten, 0)} |`,
		`| job floor | ${units(floor.atRate)} | ${fixed(floor.firstPass.d1BytesStored, 0)} | ${fixed(floor.ledgerBytesPerEvent, 0)} | – |`,
		"",
		"The simulated days (the relay's units: the run less its baseline twin; what was held after it):",
		"",
		"| run | simulated time (UTC) | DO rows written | D1 rows written | R2 Class A | log events | relay's events in D1 | D1 MB | ledgers MB | archived events (objects) | floor's events in D1 | floor's ledgers MB |",
		"|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
		`| after the load | ${new Date(result.load.relay.finishedAt).toISOString().slice(0, 16).replace("T", " ")} | | | | | ${fixed(after.d1Events.relay, 0)} | ${mb(after.d1Bytes)} | ${mb(after.ledgerBytes)} | ${fixed(after.archived.events, 0)} (${fixed(after.archiveObjects, 0)}) | ${fixed(after.d1Events.floor, 0)} | ${mb(after.floorLedgerBytes)} |`,
		...result.runs.map((run, index) => runRow(run, result.baselineRuns[index])),
		"",
		`Checks: ${fixed(checks.relayDelivered, 0)} of the relay's load forwarded, ${checks.relayForwardedTwice} twice; ` +
			`${fixed(checks.floorDelivered, 0)} of the floor's; ${fixed(checks.inD1AfterLoad, 0)} in D1 after the load; the archive held ` +
			`${fixed(checks.archivedEvents, 0)} of the ${fixed(checks.relayEvents, 0)} events the relay accepted. The cron's own runs: ` +
			`${cronLine(result)}.`,
		"",
	];
}

function cronLine(result: SteadyStateResult): string {
	const [minute, hour] = result.baselineRuns.slice(-2);
	if (minute === undefined || hour === undefined) return "not measured";
	const describe = (run: SimulatedRun) =>
		`${run.relay.workerRequests} Worker request, ${run.relay.doRequests} DO requests, ${run.relay.doRowsWritten} DO rows written, ` +
		`${run.relay.d1RowsRead} D1 rows read, ${run.relay.r2ClassA} R2 Class A, ${run.relay.logLines} log events`;
	return `a minute's: ${describe(minute)}; an hour's first: ${describe(hour)}`;
}
