/*
 * `npm start`: the relay on this machine, forwarding to a local sink that prints every event.
 *
 *   1. creates .dev.vars from .dev.vars.example if it is missing (never overwrites it);
 *   2. applies the D1 migrations to the local database;
 *   3. starts the sink (scripts/sink.ts) and `wrangler dev` (local D1, Durable Objects, Queues),
 *      each in its own process group, their output prefixed `sink  │` and `relay │`;
 *   4. prints the URLs and credentials to use. Ctrl-C (or SIGTERM) stops both; if either one
 *      exits, the other is stopped and npm start exits 1;
 *   5. runs the cron every minute (wrangler dev does not): the ledgers' maintenance, the archive,
 *      retention, the insight counts and the alerts, as deployed (scripts/lib/local-cron.ts).
 *
 * Settings (environment variables):
 *   RELAY_PORT            wrangler dev port (default 8787)
 *   RELAY_HOST            wrangler dev address (default 127.0.0.1)
 *   RELAY_INSPECTOR_PORT  devtools inspector port (default 9229, what debuggers attach to)
 *   RELAY_PERSIST_TO      local state directory (default wrangler's own, .wrangler/state)
 *   SINK_PORT             sink port (default 8788)
 *   SINK_HOST             sink address (default 127.0.0.1)
 *   DEV_VARS_FILE         vars file instead of .dev.vars (passed to wrangler with --env-file)
 *   FORWARD_URL           forward somewhere other than the sink, for this run only
 *   MEDIA_HOST_PORT       the stand-in for Bandwidth's media host and token endpoint (default 8790,
 *                         what .dev.vars.example's BANDWIDTH_MEDIA_HOSTS names); skipped if taken
 *
 * Where events go: .dev.vars.example sets FORWARD_URL to the sink's default address. That value,
 * an empty one or none at all (an older .dev.vars) mean "the sink": the relay is started with
 * `--var FORWARD_URL:<the sink's actual address>`, so SINK_PORT works without editing the file.
 * Any other FORWARD_URL in the vars file is the developer's choice and is left to wrangler;
 * FORWARD_URL in the environment overrides both. The sink always runs and verifies with the
 * vars file's FORWARD_SIGNING_SECRET, the one the relay signs with. When events go to the sink and
 * the vars file sets no DESTINATIONS, a second destination, "inbound-only" (filter: inbound), posts
 * to the sink's /inbound-only: a received text prints twice, once per destination, and a receipt once.
 * The relay's alerts go to the sink's /alerts too (printed ⚑), unless the vars file sets ALERT_URL.
 */
import { relative } from "node:path";
import { devVarsPath, ensureDevVars, PROJECT_ROOT, readDevVars } from "./lib/dev-vars.ts";
import { startLocalCron } from "./lib/local-cron.ts";
import { startMediaHostServer } from "./lib/media-host-server.ts";
import { type GroupProcess, spawnGroup, stopGroup } from "./lib/process-group.ts";
import { applyMigrations, cfLookupNoiseFilter, devArgs, waitForHttp, wranglerEnv } from "./lib/wrangler.ts";
import { ALERTS_PATH, DEFAULT_SINK_PORT, SINK_PATH } from "./sink.ts";

const SECOND_DESTINATION = "inbound-only";
const STOCK_FORWARD_URL = `http://127.0.0.1:${DEFAULT_SINK_PORT}${SINK_PATH}`;
const DEFAULT_RELAY_URL = "http://127.0.0.1:8787";
const READY_TIMEOUT_MS = 60_000;

const env = process.env;
const settings = {
	relayPort: Number(env.RELAY_PORT || 8787),
	relayHost: env.RELAY_HOST || "127.0.0.1",
	inspectorPort: Number(env.RELAY_INSPECTOR_PORT || 9229),
	persistTo: env.RELAY_PERSIST_TO || undefined,
	sinkPort: Number(env.SINK_PORT || DEFAULT_SINK_PORT),
	sinkHost: env.SINK_HOST || "127.0.0.1",
	mediaHostPort: Number(env.MEDIA_HOST_PORT || 8790),
	devVarsFile: devVarsPath(),
};

function say(prefix: string, line: string): void {
	process.stdout.write(`${prefix} │ ${line}\n`);
}

function forwardUrl(vars: Record<string, string>, sinkUrl: string): { url: string; override: boolean } {
	if (env.FORWARD_URL) return { url: env.FORWARD_URL, override: true };
	const fromFile = vars.FORWARD_URL ?? "";
	if (fromFile === "" || fromFile === STOCK_FORWARD_URL) return { url: sinkUrl, override: true };
	return { url: fromFile, override: false };
}

/**
 * Bandwidth's media host stands in locally, demanding the vars file's media credentials as
 * Bandwidth would, so inbound MMS from `npm run simulate` are copied and their links printed.
 */
async function startMediaStandIn(
	vars: Record<string, string>,
): Promise<{ url: string; close: () => Promise<void> } | null> {
	try {
		return await startMediaHostServer({
			port: settings.mediaHostPort,
			host: "127.0.0.1",
			credentials: {
				clientId: vars.BANDWIDTH_CLIENT_ID || "relay-local-client",
				clientSecret: vars.BANDWIDTH_CLIENT_SECRET || "relay-local-client-secret",
				...(vars.BANDWIDTH_API_USERNAME ? { username: vars.BANDWIDTH_API_USERNAME } : {}),
				...(vars.BANDWIDTH_API_PASSWORD ? { password: vars.BANDWIDTH_API_PASSWORD } : {}),
			},
		});
	} catch (error) {
		say("start", `media host stand-in not started (${(error as Error).message}): inbound MMS media will not be copied`);
		return null;
	}
}

function banner(
	vars: Record<string, string>,
	relayUrl: string,
	sinkUrl: string,
	forwardTo: string,
	twoDestinations: boolean,
): string[] {
	const user = vars.BANDWIDTH_USERNAME ?? "";
	const password = vars.BANDWIDTH_PASSWORD ?? "";
	// The simulator runs in another terminal, without this process's environment.
	const simulate = [
		env.DEV_VARS_FILE ? `DEV_VARS_FILE=${settings.devVarsFile} ` : "",
		"npm run simulate",
		relayUrl === DEFAULT_RELAY_URL ? "" : ` -- --url ${relayUrl}`,
	].join("");
	const lines: Array<string | null> = [
		"",
		`relay      ${relayUrl}`,
		user && password
			? `callback   POST ${relayUrl}/bandwidth/messaging   Basic ${user}:${password}`
			: "callback   BANDWIDTH_USERNAME/PASSWORD are not set in the vars file: callbacks answer 503",
		vars.ADMIN_TOKEN
			? `console    ${relayUrl}/console/   sign in with the admin token ${vars.ADMIN_TOKEN}`
			: "console    ADMIN_TOKEN is not set in the vars file: the console and the admin API answer 404",
		vars.ADMIN_TOKEN ? `admin      ${relayUrl}/v1/…   Authorization: Bearer ${vars.ADMIN_TOKEN}` : null,
		`sink       ${sinkUrl}`,
		forwardTo !== sinkUrl
			? `forwards   to ${forwardTo} (not the sink)`
			: !twoDestinations
				? "forwards   to the sink"
				: `forwards   to the sink as two destinations: default (every event, ${SINK_PATH}) and ${SECOND_DESTINATION} (inbound only, /${SECOND_DESTINATION})`,
		`state      ${settings.persistTo ?? ".wrangler/state"}`,
		`cron       every minute (GET ${relayUrl}/__scheduled): maintenance, archive, insight counts, alerts`,
		"",
		`try        ${simulate}`,
		`           ${simulate}${relayUrl === DEFAULT_RELAY_URL ? " --" : ""} --failures   (some deliveries fail: dead letters, the breaker, alerts, replay)`,
		"Ctrl-C stops both.",
		"",
	];
	return lines.filter((line): line is string => line !== null);
}

function pipeOutput(group: GroupProcess, prefix: string, keep: (line: string) => boolean = () => true): void {
	group.onLine((line) => {
		if (keep(line)) say(prefix, line);
	});
}

/** Installed first: a signal before the children exist must not kill this process on the spot. */
let received: NodeJS.Signals | null = null;
const requested = new Promise<NodeJS.Signals>((resolve) => {
	for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
		process.on(signal, () => {
			received ??= signal;
			resolve(signal);
		});
	}
});

async function main(): Promise<number> {
	const inProject = relative(PROJECT_ROOT, settings.devVarsFile);
	const varsName = inProject.startsWith("..") ? settings.devVarsFile : inProject;
	if (ensureDevVars(settings.devVarsFile)) say("start", `created ${varsName} from .dev.vars.example`);
	const vars = readDevVars(settings.devVarsFile);

	say("start", "applying D1 migrations to the local database…");
	try {
		await applyMigrations(settings.persistTo);
	} catch (error) {
		// Ctrl-C during the migrations reaches wrangler too (same terminal group): not a failure.
		if (received !== null) return 0;
		say("start", (error as Error).message);
		return 1;
	}

	if (received !== null) return 0;

	const relayUrl = `http://${settings.relayHost}:${settings.relayPort}`;
	const sinkUrl = `http://${settings.sinkHost}:${settings.sinkPort}${SINK_PATH}`;
	const forward = forwardUrl(vars, sinkUrl);

	// A second destination on the same sink, taking inbound messages only, so that routing shows:
	// a received text prints twice (both destinations), a delivery receipt once.
	const second =
		forward.url === sinkUrl && !vars.DESTINATIONS
			? { name: SECOND_DESTINATION, url: sinkUrl.replace(SINK_PATH, `/${SECOND_DESTINATION}`), directions: ["inbound"] }
			: null;

	const mediaHost = await startMediaStandIn(vars);
	if (mediaHost !== null)
		say("start", `media     ${mediaHost.url} (stand-in for Bandwidth's media host and token endpoint)`);
	const sink = spawnGroup(process.execPath, ["scripts/sink.ts"], {
		cwd: PROJECT_ROOT,
		env: {
			...env,
			SINK_PORT: String(settings.sinkPort),
			SINK_HOST: settings.sinkHost,
			FORWARD_SIGNING_SECRET: vars.FORWARD_SIGNING_SECRET ?? "",
			FORWARD_TIMEOUT_MS: vars.FORWARD_TIMEOUT_MS ?? env.FORWARD_TIMEOUT_MS ?? "",
		},
	});
	const relay = spawnGroup(
		process.execPath,
		devArgs({
			port: settings.relayPort,
			inspectorPort: settings.inspectorPort,
			ip: settings.relayHost,
			persistTo: settings.persistTo,
			// wrangler finds .dev.vars by itself; any other file has to be named.
			envFile: env.DEV_VARS_FILE ? settings.devVarsFile : undefined,
			vars: {
				...(forward.override ? { FORWARD_URL: forward.url } : {}),
				...(second === null ? {} : { DESTINATIONS: JSON.stringify([second]) }),
				// Alerts (a dead event, an open breaker) print in the sink's lines.
				...(forward.url === sinkUrl && !vars.ALERT_URL ? { ALERT_URL: sinkUrl.replace(SINK_PATH, ALERTS_PATH) } : {}),
			},
			testScheduled: true,
		}),
		{ cwd: PROJECT_ROOT, env: wranglerEnv() },
	);
	pipeOutput(sink, "sink ");
	pipeOutput(relay, "relay", cfLookupNoiseFilter());
	say("start", `relay pid ${relay.pid} (wrangler dev) · sink pid ${sink.pid}`);

	const ready = Promise.all([
		waitForHttp(`${relayUrl}/health`, READY_TIMEOUT_MS, relay.exited),
		waitForHttp(sinkUrl, READY_TIMEOUT_MS, sink.exited),
	]);
	// Started once the relay answers; stopped with it.
	let cron = null as { stop(): void } | null;
	void ready.then(
		() => {
			for (const line of banner(vars, relayUrl, sinkUrl, forward.url, second !== null)) say("start", line);
			if (received === null) cron = startLocalCron(relayUrl);
		},
		() => {},
	);

	const outcome = await Promise.race([
		requested.then((signal) => `${signal}: stopping the relay and the sink…`),
		relay.exited.then((exit) => new Error(`the relay exited (${exit.code ?? exit.signal}); stopping the sink…`)),
		sink.exited.then((exit) => new Error(`the sink exited (${exit.code ?? exit.signal}); stopping the relay…`)),
		ready.then(
			() => new Promise<never>(() => {}),
			(error: Error) => new Error(`not ready: ${error.message}; stopping…`),
		),
	]);
	say("start", outcome instanceof Error ? outcome.message : outcome);
	cron?.stop();
	await Promise.all([stopGroup(relay), stopGroup(sink), mediaHost?.close()]);
	say("start", "stopped");
	return outcome instanceof Error ? 1 : 0;
}

process.exit(await main());
