import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { bandwidthAuth } from "../http/bandwidth-auth";
import {
	InvalidBatchError,
	MethodNotAllowedError,
	PayloadTooLargeError,
	StorageUnavailableError,
} from "../http/errors";
import { assertJsonContentType, parseJson } from "../http/parse-json";
import { readBodyCapped } from "../http/read-body";
import { ingestBatch } from "../ingest/ingest-batch";
import { drainHandoffs } from "../ledger/drain-handoffs";
import { startMediaCopies } from "../media/start-media-copies";

/** Bandwidth sends one event per callback; a thousand is far past anything real, and bounded fan-out keeps the answer within its 10 s. */
export const MAX_BATCH_ELEMENTS = 1000;

function elementsOf(body: unknown): readonly unknown[] {
	if (Array.isArray(body)) return body;
	// Bandwidth's own OpenAPI examples are bare objects; treat one as a batch of one.
	if (typeof body === "object" && body !== null) return [body];
	throw new InvalidBatchError("the body must be a JSON array of events (or a single event object)");
}

export const ingestRoute = new Hono<AppEnv>()
	.post("/bandwidth/messaging", bandwidthAuth, async (c) => {
		assertJsonContentType(c.req.header("content-type") ?? null);
		const body = await readBodyCapped(c.req.raw, c.get("ingestConfig").maxBodyBytes);
		const elements = elementsOf(parseJson(body));
		if (elements.length > MAX_BATCH_ELEMENTS) {
			throw new PayloadTooLargeError(
				`the batch has ${elements.length} events; at most ${MAX_BATCH_ELEMENTS} are accepted`,
			);
		}
		const result = await ingestBatch(c.env, elements, new Date().toISOString(), c.get("callbackApplications"));
		// After the answer, not before: the 200 waits only for the ledgers' durable write.
		c.executionCtx.waitUntil(drainHandoffs(c.env, result.handoffs));
		const stored = result.handoffs.flatMap((handoff) => handoff.rows);
		c.executionCtx.waitUntil(startMediaCopies(c.env, stored, new URL(c.req.url).origin));
		if (!result.ok) throw new StorageUnavailableError();
		return c.json(result.counts, 200);
	})
	.all("/bandwidth/messaging", () => {
		throw new MethodNotAllowedError(["POST"]);
	});
