import { NotConfiguredError } from "../http/errors";
import { log } from "../log";
import { type MediaConfig, readMediaConfig } from "./media-config";
import { MediaNotConfiguredError } from "./media-errors";

/*
 * Apart from media-config.ts, which the console's types reach (src/routes/responses.ts) and so must
 * not name the Workers runtime's types.
 */

/** What both media routes need first: valid settings and a MEDIA bucket, or the error to answer. */
export function servingMedia(env: { MEDIA?: R2Bucket }): { config: MediaConfig; bucket: R2Bucket } {
	const config = readMediaConfig(env);
	if (!config.ok) {
		log.error("config_invalid", { message: config.message });
		throw new NotConfiguredError();
	}
	if (env.MEDIA === undefined) throw new MediaNotConfiguredError();
	return { config: config.value, bucket: env.MEDIA };
}
