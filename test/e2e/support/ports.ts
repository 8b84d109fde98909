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
