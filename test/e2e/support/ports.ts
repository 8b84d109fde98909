import { createServer } from "node:net";

/*
 * Fixed port ranges per suite keep concurrent runs on one machine apart (wrangler dev cannot use
 * port 0). Within its range a test takes the first port nothing listens on, so a leftover process
 * from an interrupted run costs a port, not a failure.
 */

function isFree(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const server = createServer();
		server.once("error", () => resolve(false));
		server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
	});
}

/** The first free port in [from, to], skipping `taken`. */
export async function freePort(from: number, to: number, taken: readonly number[] = []): Promise<number> {
	for (let port = from; port <= to; port++) {
		if (!taken.includes(port) && (await isFree(port))) return port;
	}
	throw new Error(`no free port in ${from}–${to}`);
}

/*
 * Each e2e file owns disjoint ranges, so two files that happen to run at once can never race for the
 * same port between `freePort`'s check and wrangler's bind.
 */
export const PORT_RANGES = {
	simulate: { relay: [18700, 18709], inspector: [19700, 19709] },
	start: { relay: [18710, 18729], inspector: [19710, 19719] },
	sink: { relay: [18730, 18739], inspector: [19730, 19739] },
	concurrentDuplicates: { relay: [38700, 38719], inspector: [39700, 39719] },
	downstreamOutage: { relay: [38720, 38739], inspector: [39720, 39739] },
	malformedCorpus: { relay: [38740, 38759], inspector: [39740, 39759] },
	d1Outage: { relay: [38760, 38779], inspector: [39760, 39779] },
	rateLimitBurst: { relay: [38780, 38799], inspector: [39780, 39799] },
	promptResume: { relay: [38800, 38819], inspector: [39800, 39819] },
} as const satisfies Record<string, { relay: readonly [number, number]; inspector: readonly [number, number] }>;

/** A relay port and an inspector port from the file's own ranges. */
export async function relayPorts(suite: keyof typeof PORT_RANGES): Promise<{ port: number; inspectorPort: number }> {
	const { relay, inspector } = PORT_RANGES[suite];
	return { port: await freePort(...relay), inspectorPort: await freePort(...inspector) };
}
