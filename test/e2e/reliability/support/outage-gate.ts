import { type DownstreamAttempt, startScriptedDownstream } from "../../support/scripted-downstream.ts";

/*
 * A downstream that is down until the test says otherwise: in front of the recording sink, it
 * answers 503 to everything until recover(), then passes every request through unchanged. The test
 * decides when to recover (after every event was refused at least once), so the outage hits the
 * same traffic on a fast machine and on a loaded CI runner.
 */

export interface OutageGate {
	url: string;
	/** Every attempt: 503 from the gate, or the sink's answer. */
	attempts: DownstreamAttempt[];
	/** Ends the outage; from now on requests reach the sink. */
	recover(): void;
	/** Starts an outage again: every request answered with `status`. */
	fail(status: () => number): void;
	close(): Promise<void>;
}

export async function startOutageGate(target: string): Promise<OutageGate> {
	const downstream = await startScriptedDownstream(target);
	downstream.answerWith(() => 503);
	return {
		url: downstream.url,
		attempts: downstream.attempts,
		recover: () => downstream.answerWith(() => undefined),
		fail: (status) => downstream.answerWith(status),
		close: () => downstream.close(),
	};
}
