import { deadLetterBatch } from "./forward/dead-letter-batch";
import { forwardBatch } from "./forward/forward-batch";
import { app } from "./http/app";
import { runMaintenance } from "./maintenance/run-maintenance";
import { DEAD_LETTER_SUFFIX } from "./meter/metered-batch";
import { meteredHandler } from "./meter/metered-handler";

export { AlertDesk } from "./alerts/alert-desk.do";
export { DestinationGate } from "./destinations/destination-gate.do";
export { MessageLedger } from "./ledger/message-ledger.do";
export { MediaCopier } from "./media/media-copier.do";

// The cost meter counts every invocation and what its bindings are billed for (src/meter).
export default meteredHandler({
	fetch: app.fetch,
	async queue(batch, env) {
		if (batch.queue.endsWith(DEAD_LETTER_SUFFIX)) await deadLetterBatch(batch, env);
		else await forwardBatch(batch, env);
	},
	async scheduled(controller, env) {
		await runMaintenance(env, controller.scheduledTime);
	},
} satisfies ExportedHandler<Env>);
