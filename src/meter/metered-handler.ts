import { meter } from "./meter";
import { trackedBatch } from "./metered-batch";
import { meteredEnv } from "./metered-env";

/*
 * A Worker's entry points with the meter in front: each invocation (fetch, queue batch, cron) is
 * one billed request and one invocation log, and the handler sees the metered env. Queue batches
 * also count their reads and deletes.
 */

// biome-ignore lint/suspicious/noExplicitAny: any Worker's handler, whatever its env and queue body.
type AnyHandler = ExportedHandler<any, any>;

/** Returns the handler's own type, so callers (tests) keep calling exactly what they wrote. */
export function meteredHandler<THandler extends AnyHandler>(handler: THandler): THandler {
	const { fetch, queue, scheduled } = handler;
	const metered: AnyHandler = { ...handler };
	if (fetch) {
		metered.fetch = (request, env, ctx) => {
			meter.add("workerRequests");
			return fetch.call(handler, request, meteredEnv(env), ctx);
		};
	}
	if (queue) {
		metered.queue = async (batch, env, ctx) => {
			meter.add("workerRequests");
			const tracked = trackedBatch(batch);
			try {
				await queue.call(handler, tracked.batch, meteredEnv(env), ctx);
			} catch (error) {
				tracked.settle(false);
				throw error;
			}
			tracked.settle(true);
		};
	}
	if (scheduled) {
		metered.scheduled = (controller, env, ctx) => {
			meter.add("workerRequests");
			return scheduled.call(handler, controller, meteredEnv(env), ctx);
		};
	}
	return metered as THandler;
}
