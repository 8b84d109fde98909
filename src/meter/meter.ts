/*
 * The cost meter (issue 9): billable units counted where they are spent, so a test can pin the
 * units per event and the bench can price them (docs/prices.md). Counts live in the isolate that
 * spent them; in local development (one workerd, one isolate per Worker holding its fetch, queue
 * and scheduled handlers and its Durable Objects) that is every unit of the Worker.
 */

export const METER_UNITS = [
	/** Worker invocations: fetch, queue batch, scheduled. */
	"workerRequests",
	/** Durable Object requests: each RPC call and each alarm invocation. */
	"doRequests",
	/** Durable Object SQLite rows written (cursor.rowsWritten), each setAlarm, each row a deleteAll drops. */
	"doRowsWritten",
	"doRowsRead",
	/** Growth of Durable Objects' SQLite databases (ctx.storage.sql.databaseSize), page-granular. */
	"doBytesStored",
	/** D1 rows as the runtime reports them (meta.rows_written / rows_read). */
	"d1RowsWritten",
	"d1RowsRead",
	/** Growth of the D1 databases, from successive meta.size_after (page-granular: read it over many events). */
	"d1BytesStored",
	/**
	 * D1 calls that wrote (a statement, or a batch, which is one transaction): what a database's
	 * single writer serializes. Not billed; docs/capacity.md divides its throughput by it.
	 */
	"d1Writes",
	/** Queues operations: one per 64 KB written, read or deleted. */
	"queueOps",
	/** Messages sent to a queue: what its 5,000 messages/s counts. Not billed (queueOps is). */
	"queueMessages",
	"r2ClassA",
	"r2ClassB",
	/** Size of the objects R2 put or completed: what the bucket holds for its retention. */
	"r2BytesWritten",
	/** Log events as Workers Logs counts them: the code's own lines and one invocation log per invocation. */
	"logLines",
	/** Workers Analytics Engine data points written (each writeDataPoint). */
	"aeDataPoints",
	/** Events accepted by a ledger (the denominator). */
	"eventsAccepted",
] as const;

export type MeterUnit = (typeof METER_UNITS)[number];
export type MeterCounts = Record<MeterUnit, number>;

/**
 * Workers Logs writes one invocation log for every Worker invocation and every Durable Object RPC
 * call or alarm (workers-logs docs, "Invocation logs"), the same events that are billed as requests.
 */
const INVOKING_UNITS: ReadonlySet<MeterUnit> = new Set<MeterUnit>(["workerRequests", "doRequests"]);

/**
 * Mirrors wrangler.toml's `[observability.logs] invocation_logs` (test/meter keeps the two in step).
 * Off: at list prices the invocation logs of one event (callback, consumer, two ledger calls) cost
 * more than its D1 rows, and say less than the relay's own lines, which are kept.
 */
export const INVOCATION_LOGS = false;

function zero(): MeterCounts {
	return Object.fromEntries(METER_UNITS.map((unit) => [unit, 0])) as MeterCounts;
}

let counts = zero();
let since = new Date().toISOString();

export const meter = {
	add(unit: MeterUnit, amount = 1): void {
		counts[unit] += amount;
		if (INVOCATION_LOGS && INVOKING_UNITS.has(unit)) counts.logLines += amount;
	},
	/** A SQL cursor's rows, once it has been read to the end. */
	sql(cursor: { rowsWritten: number; rowsRead: number }): void {
		counts.doRowsWritten += cursor.rowsWritten;
		counts.doRowsRead += cursor.rowsRead;
	},
	snapshot(): MeterCounts {
		return { ...counts };
	},
	/** When the counts started: the last reset, or the isolate's start. */
	since(): string {
		return since;
	},
	reset(): void {
		counts = zero();
		since = new Date().toISOString();
	},
};
