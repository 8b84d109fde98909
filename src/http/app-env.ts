import type { IngestConfig } from "../config";

export type AppEnv = {
	Bindings: Env;
	Variables: {
		ingestConfig: IngestConfig;
		/** The applications the callback's credential may post for; null: any (src/http/callback-credentials.ts). */
		callbackApplications: ReadonlySet<string> | null;
		/** Set once the caller proved a credential: its rejections are then logged one line each (rejection-log.ts). */
		authenticated: boolean;
	};
};
