import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { unstable_readConfig } from "wrangler";
import { DEV_PORT, INSPECTOR_PORT, ROOT, WORKERS_DIR } from "./config.ts";
import { type DevServer, runWrangler, startDev } from "./processes.ts";
import { WORKER_NAMES } from "./targets.ts";

/** The application whose events the relay sends to three destinations in the bench. */
export const FAN_OUT_APPLICATION = "fa40a0f0-0000-4000-8000-000000000003";

/*
 * A fresh, private wrangler state for one bench run: D1 migrations for the relay (the floor creates
 * its own day tables), the relay's secrets in a temporary env file (never the developer's
 * .dev.vars), and the probe's config, generated so it always binds whatever D1 database
 * wrangler.toml names.
 */

export interface RelaySecrets {
	username: string;
	password: string;
	signingSecret: string;
	authorization: string;
	/** The admin API's bearer token: the bench reads the relay's cost meter there. */
	adminToken: string;
}

export function freshSecrets(): RelaySecrets {
	const username = "bench";
	const password = randomBytes(12).toString("hex");
	return {
		username,
		password,
		signingSecret: `whsec_${randomBytes(32).toString("base64")}`,
		authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`,
		adminToken: randomBytes(12).toString("hex"),
	};
}

/** Settings a scenario gives the relay beyond wrangler.toml's (bench/steady-state.ts: D1_BUDGET_MB). */
export type RelayVars = Record<string, string>;

function writeEnvFile(dir: string, secrets: RelaySecrets, forwardUrl: string, vars: RelayVars): string {
	const path = join(dir, "relay.env");
	const lines = [
		`BANDWIDTH_USERNAME=${secrets.username}`,
		`BANDWIDTH_PASSWORD=${secrets.password}`,
		`ADMIN_TOKEN=${secrets.adminToken}`,
		`FORWARD_SIGNING_SECRET=${secrets.signingSecret}`,
		`FORWARD_URL=${forwardUrl}`,
		// Two more destinations for one application only: its events fan out to three (fan-out.ts).
		`DESTINATIONS=${JSON.stringify(
			(["fan-b", "fan-c"] as const).map((name) => ({
				name,
				url: forwardUrl.replace(/\/relay$/, `/${name}`),
				applicationIds: [FAN_OUT_APPLICATION],
			})),
		)}`,
		"METER_ENDPOINT=true",
		...Object.entries(vars).map(([name, value]) => `${name}=${value}`),
	];
	writeFileSync(path, `${lines.join("\n")}\n`);
	return path;
}

/** The part of wrangler's config the probe copies (wrangler's own types resolve to any here). */
interface RelayConfig {
	compatibility_date?: string;
	d1_databases: Array<{ binding: string; database_name?: string; database_id?: string }>;
}

function writeProbeConfig(dir: string): string {
	const relay: RelayConfig = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
	const db = relay.d1_databases.find((binding) => binding.binding === "DB");
	if (db === undefined) throw new Error("wrangler.toml has no D1 binding named DB");
	const floorConfig: RelayConfig = unstable_readConfig({ config: join(WORKERS_DIR, "floor.toml") });
	const floor = floorConfig.d1_databases.find((binding) => binding.binding === "FLOOR_DB");
	if (floor === undefined) throw new Error("bench/workers/floor.toml has no D1 binding named FLOOR_DB");
	const path = join(dir, "probe.toml");
	writeFileSync(
		path,
		[
			`name = "${WORKER_NAMES.probe}"`,
			`main = ${JSON.stringify(join(WORKERS_DIR, "probe.ts"))}`,
			`compatibility_date = ${JSON.stringify(relay.compatibility_date)}`,
			"[[d1_databases]]",
			'binding = "DB"',
			`database_name = ${JSON.stringify(db.database_name)}`,
			// Without an id (wrangler provisions it on deploy), local D1 is found by binding name, as the relay's.
			...(db.database_id === undefined ? [] : [`database_id = ${JSON.stringify(db.database_id)}`]),
			// The floor's database too, as bench/workers/floor.toml names it.
			"[[d1_databases]]",
			'binding = "FLOOR_DB"',
			`database_name = ${JSON.stringify(floor.database_name)}`,
			`database_id = ${JSON.stringify(floor.database_id)}`,
			"",
		].join("\n"),
	);
	return path;
}

export async function startWorkers(
	dir: string,
	secrets: RelaySecrets,
	forwardUrl: string,
	vars: RelayVars = {},
): Promise<DevServer> {
	const persistTo = join(dir, "state");
	const floorConfig = join(WORKERS_DIR, "floor.toml");
	await runWrangler(
		["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo, "-c", "wrangler.toml"],
		dir,
	);
	return startDev({
		// The relay first: only the first config gets --env-file, and wrangler then skips .dev.vars.
		configs: ["wrangler.toml", join(WORKERS_DIR, "bare.toml"), floorConfig, writeProbeConfig(dir)],
		port: DEV_PORT,
		inspectorPort: INSPECTOR_PORT,
		persistTo,
		envFile: writeEnvFile(dir, secrets, forwardUrl, vars),
		logFile: join(dir, "wrangler-dev.log"),
		probe: { worker: WORKER_NAMES.bare, header: "x-bench-worker", value: "bare" },
	});
}
