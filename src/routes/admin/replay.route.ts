import { Hono } from "hono";
import { readDestinations } from "../../destinations/read-destinations";
import { type ExclusiveReplay, ReplayRequestSchema, replayExclusively } from "../../forward/replay";
import type { AppEnv } from "../../http/app-env";
import { HttpError, InvalidParameterError, MethodNotAllowedError, ServiceUnavailableError } from "../../http/errors";
import { errorMessage, log } from "../../log";
import { readJsonBody } from "./params";

/** Another replay holds the lease: replays run one at a time (src/forward/replay.ts). */
export class ReplayInProgressError extends HttpError {
	constructor() {
		super(409, "replay_in_progress", "another replay is running; retry when it is done");
	}
}

export const replayRoute = new Hono<AppEnv>()
	.post("/replay", async (c) => {
		const request = await readJsonBody(c.req.raw, ReplayRequestSchema);
		// A replay to a destination that no longer exists would only be recorded as skipped.
		const destinations = readDestinations(c.env);
		if (request.destination !== undefined && destinations.ok && !destinations.value.byName.has(request.destination)) {
			throw new InvalidParameterError(`destination: no destination is named ${request.destination}`);
		}
		let outcome: ExclusiveReplay;
		try {
			outcome = await replayExclusively(c.env, request);
		} catch (error) {
			// Whatever was enqueued before the failure keeps its event id; repeating the call is safe.
			log.error("replay_failed", { error: errorMessage(error) });
			throw new ServiceUnavailableError("replay_failed", "the events could not be re-enqueued; retry later");
		}
		if (!outcome.ok) {
			switch (outcome.reason) {
				case "replay_in_progress":
					throw new ReplayInProgressError();
			}
		}
		log.info("replay_enqueued", { ...outcome.value });
		return c.json(outcome.value);
	})
	.all("/replay", () => {
		throw new MethodNotAllowedError(["POST"]);
	});
