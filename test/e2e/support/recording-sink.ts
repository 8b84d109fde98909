import type { SimulatedFailures } from "../../../scripts/sink/simulated-failures.ts";
import { type Sink, type SinkDelivery, startSink } from "../../../scripts/sink.ts";

/** The dev sink (scripts/sink.ts) in-process on a free port, keeping every delivery and printed line. */
export interface RecordingSink extends Sink {
	deliveries: SinkDelivery[];
	/** When each delivery arrived (epoch ms), in the order of `deliveries`. */
	arrivals: number[];
	lines: string[];
	/** Distinct webhook ids of deliveries whose signature verified and that the sink answered 2xx. */
	verifiedIds(): Set<string>;
	/** Resolves once `count` distinct events have arrived verified; rejects after `timeoutMs`. */
	waitForEvents(count: number, timeoutMs: number): Promise<void>;
}

export async function startRecordingSink(
	secrets: readonly string[],
	port = 0,
	failures?: SimulatedFailures,
): Promise<RecordingSink> {
	const deliveries: SinkDelivery[] = [];
	const arrivals: number[] = [];
	const lines: string[] = [];
	const sink = await startSink({
		secrets,
		port,
		print: (line) => lines.push(line),
		...(failures === undefined ? {} : { failures }),
		onEvent: (delivery) => {
			deliveries.push(delivery);
			arrivals.push(Date.now());
		},
	});
	const verifiedIds = () =>
		new Set(
			deliveries
				.filter((delivery) => delivery.verified && delivery.status < 300)
				.map((delivery) => delivery.webhookId ?? ""),
		);
	return {
		...sink,
		deliveries,
		arrivals,
		lines,
		verifiedIds,
		async waitForEvents(count, timeoutMs) {
			const deadline = Date.now() + timeoutMs;
			while (verifiedIds().size < count) {
				if (Date.now() > deadline) {
					throw new Error(`the sink has ${verifiedIds().size} of ${count} events after ${timeoutMs} ms`);
				}
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
		},
	};
}
