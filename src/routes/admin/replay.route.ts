import { Hono } from "hono";
import { ReplayRequestSchema, replayEvents } from "../../forward/replay";
import type { AppEnv } from "../../http/app-env";
import { MethodNotAllowedError, ServiceUnavailableError } from "../../http/errors";
import { errorMessage, log } from "../../log";
import { readJsonBody } from "./params";

export const replayRoute = new Hono<AppEnv>()
	.post("/replay", async (c) => {
		const request = await readJsonBody(c.req.raw, ReplayRequestSchema);
		let result: Awaited<ReturnType<typeof replayEvents>>;
		try {
			result = await replayEvents(c.env, request);
		} catch (error) {
			// Whatever was enqueued before the failure keeps its event id; repeating the call is safe.
			log.error("replay_failed", { error: errorMessage(error) });
			throw new ServiceUnavailableError("replay_failed", "the events could not be re-enqueued; retry later");
		}
		log.info("replay_enqueued", { ...result });
		return c.json(result);
	})
	.all("/replay", () => {
		throw new MethodNotAllowedError(["POST"]);
	});
