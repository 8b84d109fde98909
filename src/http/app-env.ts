import type { IngestConfig } from "../config";

export type AppEnv = {
	Bindings: Env;
	Variables: {
		ingestConfig: IngestConfig;
		/** The applications the callback's credential may post for; null: any (src/http/callback-credentials.ts). */
		callbackApplications: ReadonlySet<string> | null;
	};
};
