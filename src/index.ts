import { deadLetterBatch } from "./forward/dead-letter-batch";
import { forwardBatch } from "./forward/forward-batch";
import { app } from "./http/app";
import { purgeRetention } from "./maintenance/purge-expired";

export { MessageLedger } from "./ledger/message-ledger.do";

/** wrangler.toml names the dead-letter queue with this suffix. */
const DEAD_LETTER_SUFFIX = "-dlq";

export default {
	fetch: app.fetch,
	async queue(batch, env) {
		if (batch.queue.endsWith(DEAD_LETTER_SUFFIX)) await deadLetterBatch(batch, env);
		else await forwardBatch(batch, env);
	},
	async scheduled(controller, env) {
		await purgeRetention(env, controller.scheduledTime);
	},
} satisfies ExportedHandler<Env>;
