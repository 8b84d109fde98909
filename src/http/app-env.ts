import type { IngestConfig } from "../config";

export type AppEnv = {
	Bindings: Env;
	Variables: { ingestConfig: IngestConfig };
};
