import { INVOCATION_LOGS, type MeterCounts, meter } from "./meter";

export interface MeterReading {
	counts: MeterCounts;
	since: string;
}

/**
 * The counts as they stood before the request that reads them: that request (one invocation, one
 * invocation log) belongs to whoever reads, not to the traffic being measured.
 */
export function meterReading(): MeterReading {
	const counts = meter.snapshot();
	counts.workerRequests -= 1;
	if (INVOCATION_LOGS) counts.logLines -= 1;
	return { counts, since: meter.since() };
}
