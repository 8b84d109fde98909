import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../../scripts/lib/dev-vars.ts";
import { spawnGroup, stopGroup } from "../../../scripts/lib/process-group.ts";
import { devArgs, waitForHttp, wranglerEnv } from "../../../scripts/lib/wrangler.ts";
import { TEST_ENV } from "../../setup/test-env.ts";
import { migratedState } from "./migrated-state.ts";

/*
 * The relay as users run it — `wrangler dev` in local mode (workerd, local D1, Durable Objects,
 * Queues) — for end-to-end tests and the reliability suite.
 *
 * Isolation: every relay gets its own state directory (fresh unless `persistTo` is given), its
 * migrations applied first (a copy of a migrated template: migrated-state.ts), and its secrets
 * from a temporary env file passed with `--env-file`, so the developer's .dev.vars is never read. Pick `port` and `inspectorPort` from your test file's
 * range (see ports.ts); two relays must never share either.
 */

export interface StartRelayOptions {
	port: number;
	inspectorPort: number;
	/** Written to the env file (secrets in production). Default: TEST_ENV, the workers project's values. */
	secrets?: Record<string, string>;
	/** `--var NAME:value` overrides of wrangler.toml [vars]: FORWARD_URL, FORWARD_RETRY_SCHEDULE, … */
	vars?: Record<string, string>;
	/** Reuse a state directory (to restart a relay on the same data); it is then not deleted by stop(). */
	persistTo?: string;
	/** Default 60 s: a cold wrangler start with a build is a few seconds, a loaded CI machine more. */
	readyTimeoutMs?: number;
	/** Every line wrangler prints; by default only the last lines are kept, for error messages. */
	onLine?: (line: string) => void;
	/** Serve GET /__scheduled, which runs the cron (scripts/lib/local-cron.ts). */
	testScheduled?: boolean;
}

export interface RelayProcess {
	/** http://127.0.0.1:<port> */
	url: string;
	/** The Bandwidth callback URL (Basic auth with `secrets.BANDWIDTH_USERNAME`/`PASSWORD`). */
	callbackUrl: string;
	/** The wrangler process, leader of the group that holds workerd too. */
	pid: number;
	persistTo: string;
	/** The last lines wrangler printed, to put in an assertion message. */
	recentOutput(): string;
	/** Stops the whole process group, waits for it, and removes what this relay created. Idempotent. */
	stop(): Promise<void>;
}

const KEPT_LINES = 200;

function envFileText(values: Record<string, string>): string {
	return Object.entries(values)
		.map(([name, value]) => {
			if (/["\n\r\\]/.test(value)) throw new Error(`${name}: quotes, backslashes and newlines are not supported here`);
			return `${name}="${value}"\n`;
		})
		.join("");
}

export async function startRelay(options: StartRelayOptions): Promise<RelayProcess> {
	const scratch = await mkdtemp(join(tmpdir(), "relay-e2e-"));
	const persistTo = options.persistTo ?? join(scratch, "state");
	const envFile = join(scratch, "relay.env");
	await writeFile(envFile, envFileText(options.secrets ?? TEST_ENV));
	try {
		await migratedState(persistTo);
	} catch (error) {
		await rm(scratch, { recursive: true, force: true });
		throw error;
	}

	const ip = "127.0.0.1";
	const group = spawnGroup(
		process.execPath,
		devArgs({
			port: options.port,
			inspectorPort: options.inspectorPort,
			ip,
			persistTo,
			envFile,
			vars: options.vars,
			testScheduled: options.testScheduled,
		}),
		{ cwd: PROJECT_ROOT, env: wranglerEnv() },
	);
	const recent: string[] = [];
	group.onLine((line) => {
		recent.push(line);
		if (recent.length > KEPT_LINES) recent.shift();
		options.onLine?.(line);
	});

	let stopped: Promise<void> | undefined;
	const url = `http://${ip}:${options.port}`;
	const relay: RelayProcess = {
		url,
		callbackUrl: `${url}/bandwidth/messaging`,
		pid: group.pid,
		persistTo,
		recentOutput: () => recent.join("\n"),
		stop() {
			stopped ??= stopGroup(group).then(() => rm(scratch, { recursive: true, force: true }));
			return stopped;
		},
	};
	try {
		await waitForHttp(`${url}/health`, options.readyTimeoutMs ?? 60_000, group.exited);
	} catch (error) {
		await relay.stop();
		throw new Error(`${(error as Error).message}\n--- wrangler output ---\n${relay.recentOutput()}`);
	}
	return relay;
}
