import type { BenchEvent } from "./payloads.ts";
import { ROUTE_HEADER } from "./processes.ts";
import type { SinkPath } from "./sink.ts";

/** The three Workers under comparison, as the load generator addresses them. */

export const WORKER_IDS = ["bare", "floor", "relay"] as const;
export type WorkerId = (typeof WORKER_IDS)[number];

export interface Target {
	id: WorkerId;
	url: string;
	headers: Record<string, string>;
	/** Where its events arrive, if it forwards them. */
	sink: SinkPath | null;
	/** The sink's key for one event: the floor's message id, the relay's webhook-id. */
	keyOf: (event: BenchEvent) => string;
	/** Its cost meter (GET reads, POST …/reset resets), if it has one. */
	meter: { url: string; headers: Record<string, string> } | null;
}

export const CALLBACK_PATH = "/bandwidth/messaging";

/** Worker names from bench/workers/*.toml and wrangler.toml. */
export const WORKER_NAMES: Record<WorkerId | "probe", string> = {
	bare: "bench-bare",
	floor: "bench-floor",
	relay: "bandwidth-relay",
	probe: "bench-probe",
};

export function targetsFor(
	entryUrl: string,
	credentials: { authorization: string; adminToken: string },
): Record<WorkerId, Target> {
	const url = `${entryUrl}${CALLBACK_PATH}`;
	const route = (id: WorkerId) => ({ [ROUTE_HEADER]: WORKER_NAMES[id] });
	return {
		bare: { id: "bare", url, headers: route("bare"), sink: null, keyOf: (event) => event.messageId, meter: null },
		floor: {
			id: "floor",
			url,
			// The floor challenges a request without credentials, as the relay does, and checks no more.
			headers: { ...route("floor"), authorization: credentials.authorization },
			sink: "floor",
			keyOf: (event) => event.messageId,
			meter: { url: `${entryUrl}/__meter`, headers: route("floor") },
		},
		relay: {
			id: "relay",
			url,
			headers: { ...route("relay"), authorization: credentials.authorization },
			sink: "relay",
			keyOf: (event) => event.eventId,
			meter: {
				url: `${entryUrl}/v1/meter`,
				headers: { ...route("relay"), authorization: `Bearer ${credentials.adminToken}` },
			},
		},
	};
}
